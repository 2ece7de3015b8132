"""MQTT transport of upgrades: offers pushed to the terminals, and the step reports they send back.

A terminal subscribes to ``posops/v1/terminals/{sn}/upgrade``. posops publishes there, at QoS 1
and retained, the terminal's current offer: the JSON that ``GET /api/v1/upgrades/next`` would
answer it (``install``, ``campaign_id``, ``kind``, ``version``, ``sha256``, ``size_bytes``,
``download_path``, ``force``, ``wifi_only``, ``expires_at``; ``not_before`` or ``reason`` while it
may not install yet). Retained, so a terminal that connects later gets it at once; an empty
retained message clears it when the install ended or the campaign stopped.

A terminal publishes its reports at QoS 1 to ``posops/v1/terminals/{sn}/upgrade/report`` as
``{"reports": [ReportIn, …]}``, the body ``POST /api/v1/upgrades/reports`` takes; the workers
share them through ``$share/posops/posops/v1/terminals/+/upgrade/report``. The topic vouches for
the terminal, as it does for heartbeats (the broker lets a terminal publish on its own topics
only). A report that can never be stored — not JSON, not reports, an unknown serial number, a
campaign the terminal is not in — is kept as a telemetry dead letter with the reason, like a bad
heartbeat, and acknowledged; only a failure worth retrying (the database) leaves it unacknowledged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from pydantic import ValidationError

from posops.core.db import Database
from posops.core.errors import PosopsError
from posops.telemetry import service as telemetry
from posops.upgrades import service
from posops.upgrades.schemas import NextOut, ReportsIn

log = logging.getLogger("posops.worker")  # its lines belong with the worker's

TOPIC_ROOT = "posops/v1"
SHARE_GROUP = "posops"
QOS = 1
MAX_REPORT_BYTES = 64 * 1024
MAX_REASON_CHARS = 500


def offer_topic(sn: str, root: str = TOPIC_ROOT) -> str:
    """The topic a terminal's offer is retained on: ``posops/v1/terminals/{sn}/upgrade``."""
    return f"{root}/terminals/{sn}/upgrade"


def report_topic(sn: str, root: str = TOPIC_ROOT) -> str:
    """The topic a terminal publishes its step reports to: ``posops/v1/terminals/{sn}/upgrade/report``."""
    return f"{offer_topic(sn, root)}/report"


def report_subscription(group: str = SHARE_GROUP, root: str = TOPIC_ROOT) -> str:
    """The shared subscription of the worker group ``group`` to every terminal's reports."""
    return f"$share/{group}/{report_topic('+', root)}"


def serial_from_report_topic(topic: str) -> str | None:
    """The serial number in a report topic (any root), or None for another topic.

    >>> serial_from_report_topic("posops/v1/terminals/PAA920000001/upgrade/report")
    'PAA920000001'
    """
    parts = topic.split("/")
    if len(parts) >= 4 and parts[-4] == "terminals" and parts[-2:] == ["upgrade", "report"] and parts[-3]:
        return parts[-3]
    return None


def offer_payload(offer: NextOut | None) -> bytes:
    """What is retained on a terminal's offer topic: the offer as JSON, or nothing to clear it."""
    return b"" if offer is None else offer.model_dump_json().encode()


class ReportError(ValueError):
    """A report message that can never be stored; ``reason`` says why in one line."""

    def __init__(self, reason: str) -> None:
        self.reason = reason[:MAX_REASON_CHARS]
        super().__init__(self.reason)


def parse_reports(payload: bytes) -> ReportsIn:
    """The reports in a message's payload, or :class:`ReportError` naming each problem by its field."""
    if len(payload) > MAX_REPORT_BYTES:
        raise ReportError(f"payload too large: {len(payload)} bytes (limit {MAX_REPORT_BYTES})")
    try:
        return ReportsIn.model_validate_json(payload)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False, include_input=False):
            if error["type"] == "json_invalid":
                problems.append("not valid JSON")
                continue
            where = ".".join(str(part) for part in error["loc"]) or "payload"
            problems.append(f"{where}: {error['msg'].removeprefix('Value error, ')}")
        raise ReportError("; ".join(problems)) from None


class Received(Protocol):
    """What :class:`ReportWriter` reads of a delivery (``posops.telemetry.mqtt.Delivery`` is one)."""

    @property
    def topic(self) -> str:
        """The topic it arrived on."""

    @property
    def payload(self) -> bytes:
        """What it holds."""


@dataclass
class ReportCounters:
    """What a worker's report consumer has done since it started."""

    received: int = 0
    stored: int = 0
    """Reports new to posops (a resent one is a duplicate)."""
    duplicates: int = 0
    dead_lettered: int = 0
    retries: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        """Add to the named counts."""
        with self._lock:
            for name, count in counts.items():
                setattr(self, name, getattr(self, name) + count)

    def summary(self) -> str:
        """One log line."""
        with self._lock:
            return (f"reports: received={self.received} stored={self.stored} duplicates={self.duplicates} "
                    f"dead_lettered={self.dead_lettered} retries={self.retries}")


class ReportWriter:
    """The report consumer's batch handler: records each message's reports, dead-letters what cannot be stored."""

    def __init__(self, db: Database, counters: ReportCounters | None = None) -> None:
        self.db = db
        self.counters = counters or ReportCounters()

    def __call__(self, batch: Sequence[Received]) -> None:
        """Record the batch; raises only for a failure worth retrying (the broker then resends the batch)."""
        try:
            for delivery in batch:
                self._record(delivery)
        except Exception:
            self.counters.add(retries=1)
            raise

    def _record(self, delivery: Received) -> None:
        sn = serial_from_report_topic(delivery.topic)
        try:
            if sn is None:
                raise ReportError(f"not an upgrade report topic: {delivery.topic[:200]!r}")
            reports = parse_reports(delivery.payload)
            sender = service.terminal_sender(self.db, sn)
            if sender is None:
                raise ReportError(f"unknown terminal serial number {sn!r}")
            try:
                outcome = service.record_reports(self.db, sender, reports)
            except PosopsError as exc:  # a campaign the terminal is not in, say: sending it again cannot help
                raise ReportError(exc.said.en) from None
        except ReportError as exc:
            self._dead_letter(delivery, sn, exc.reason)
            return
        duplicates = sum(result.duplicate for result in outcome.results)
        self.counters.add(received=1, stored=len(outcome.results) - duplicates, duplicates=duplicates)

    def _dead_letter(self, delivery: Received, sn: str | None, reason: str) -> None:
        telemetry.record_batch(self.db, [telemetry.Message("mqtt", bytes(delivery.payload), delivery.topic,
                                                           error=reason, sn_hint=sn)])
        self.counters.add(received=1, dead_lettered=1)
        log.warning("upgrade report on %s dead-lettered: %s", delivery.topic[:200], reason)


class OfferPublisher:
    """Publishes each terminal's offer, retained at QoS 1, on one connection the broker keeps up.

    ``client`` is a paho client with the broker's credentials (``posops.telemetry.mqtt.new_client``);
    :meth:`start` connects it in the background and paho reconnects it when the broker goes away.
    At most ``max_pending`` offers wait for the broker's acknowledgement at a time.
    """

    def __init__(self, client: mqtt.Client, host: str, port: int = 1883, *, root: str = TOPIC_ROOT,
                 max_pending: int = 1000, wait_s: float = 30.0) -> None:
        self.root = root
        self._client = client
        self._host, self._port = host, port
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.max_inflight_messages_set(max_pending)
        self._limit = max_pending
        self._wait_s = wait_s
        self._connected = threading.Event()
        self._changed = threading.Condition()
        self.published = 0
        self.acknowledged = 0
        self.refused = 0
        """Offers the broker answered with a failure reason code (not authorised, say)."""

    def start(self) -> None:
        """Connect in the background; returns at once."""
        self._client.connect_async(self._host, self._port)
        self._client.loop_start()

    def wait_connected(self, timeout: float | None = None) -> bool:
        """Wait until the broker accepted the connection; False on timeout."""
        return self._connected.wait(timeout)

    @property
    def pending(self) -> int:
        """Offers published and not yet answered by the broker."""
        return self.published - self.acknowledged - self.refused

    def publish(self, sn: str, offer: NextOut | None) -> None:
        """Retain ``offer`` on the terminal's topic (None clears it); ConnectionError when the broker is away."""
        if not self._connected.is_set():
            raise ConnectionError(f"not connected to the MQTT broker {self._host}:{self._port}")
        with self._changed:
            if not self._changed.wait_for(lambda: self.pending < self._limit, self._wait_s):
                raise ConnectionError(f"the MQTT broker acknowledged nothing for {self._wait_s:g} s")
            self.published += 1
        # Outside the lock: paho may hold its own lock while calling _on_publish.
        info = self._client.publish(offer_topic(sn, self.root), offer_payload(offer), qos=QOS, retain=True)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            with self._changed:
                self.published -= 1  # never queued, so never acknowledged
                self._changed.notify_all()
            raise ConnectionError(f"MQTT publish failed: {mqtt.error_string(info.rc)}")

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until the broker answered every offer published; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self.pending == 0, timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Flush for up to ``timeout`` seconds, then disconnect."""
        if self._connected.is_set():
            self.flush(timeout)
        self._client.disconnect()
        self._client.loop_stop()
        self._connected.clear()

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: mqtt.ConnectFlags, reason_code: ReasonCode,
                    properties: Properties | None) -> None:
        if reason_code.is_failure:
            log.error("MQTT broker %s:%s refused the offer publisher: %s", self._host, self._port, reason_code)
            return
        receive_maximum = getattr(properties, "ReceiveMaximum", None)
        if receive_maximum:
            with self._changed:
                self._limit = min(self._limit, receive_maximum)
        self._connected.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: mqtt.DisconnectFlags,
                       reason_code: ReasonCode, properties: Properties | None) -> None:
        self._connected.clear()

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason_code: ReasonCode,
                    properties: Properties | None) -> None:
        with self._changed:
            if reason_code.is_failure:
                self.refused += 1
            else:
                self.acknowledged += 1
            self._changed.notify_all()
