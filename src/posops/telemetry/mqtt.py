"""MQTT transport of heartbeats: topics, broker URLs, a batching consumer and a publisher.

Terminals publish at QoS 1 to ``posops/v1/terminals/{sn}/heartbeat``. Workers share the load
through the shared subscription ``$share/posops/posops/v1/terminals/+/heartbeat``: the broker
hands each message to one member of the group.

:class:`HeartbeatConsumer` hands messages to a batch handler and acknowledges them only
after the handler returns, so a crash loses nothing that was acknowledged. Each worker keeps a
persistent session under a fixed client id: Mosquitto 2 keeps the unacknowledged messages of a
shared subscription in the session of the member it chose, and resends them when that same
client id reconnects. A clean session would drop them (eclipse-mosquitto/mosquitto#2662).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, Protocol, Self
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from posops.telemetry.heartbeat import Heartbeat, HeartbeatError, parse_heartbeat

log = logging.getLogger(__name__)

TOPIC_ROOT = "posops/v1"
SHARE_GROUP = "posops"
HEARTBEAT_QOS = 1
_SCHEMES = {"mqtt": (False, 1883), "mqtts": (True, 8883)}
_MAX_RECEIVE = 65535


def heartbeat_topic(sn: str, root: str = TOPIC_ROOT) -> str:
    """The topic a terminal publishes its heartbeats to: ``posops/v1/terminals/{sn}/heartbeat``."""
    return f"{root}/terminals/{sn}/heartbeat"


def heartbeat_subscription(group: str = SHARE_GROUP, root: str = TOPIC_ROOT) -> str:
    """The shared subscription of the worker group ``group`` to every terminal's heartbeats."""
    return f"$share/{group}/{heartbeat_topic('+', root)}"


def upgrade_topic(sn: str, root: str = TOPIC_ROOT) -> str:
    """The topic posops pushes a terminal's upgrade offers to: ``posops/v1/terminals/{sn}/upgrade``."""
    return f"{root}/terminals/{sn}/upgrade"


def upgrade_report_topic(sn: str, root: str = TOPIC_ROOT) -> str:
    """The topic a terminal reports its upgrade steps on: ``posops/v1/terminals/{sn}/upgrade/report``."""
    return f"{upgrade_topic(sn, root)}/report"


def serial_from_upgrade_topic(topic: str) -> str | None:
    """The serial number in an upgrade offer topic (any root), or None for another topic.

    >>> serial_from_upgrade_topic("posops/v1/terminals/NE910000001/upgrade")
    'NE910000001'
    """
    parts = topic.split("/")
    if len(parts) >= 3 and parts[-3] == "terminals" and parts[-1] == "upgrade" and parts[-2]:
        return parts[-2]
    return None


def serial_from_topic(topic: str) -> str | None:
    """The serial number in a heartbeat topic (any root), or None for another topic."""
    parts = topic.split("/")
    if len(parts) >= 3 and parts[-3] == "terminals" and parts[-1] == "heartbeat" and parts[-2]:
        return parts[-2]
    return None


@dataclass(frozen=True)
class MqttEndpoint:
    """Where the broker is and how to log in; built from ``POSOPS_MQTT_URL`` by :func:`parse_mqtt_url`."""

    host: str
    port: int = 1883
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False


def parse_mqtt_url(url: str) -> MqttEndpoint:
    """Parse ``mqtt://user:pass@host:1883`` or ``mqtts://host`` (TLS, port 8883 by default).

    >>> parse_mqtt_url("mqtts://worker:s%40cret@broker.example.com")
    MqttEndpoint(host='broker.example.com', port=8883, username='worker', tls=True)
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in _SCHEMES:
        raise ValueError(f"MQTT URL must start with mqtt:// or mqtts://, got {parts.scheme or 'no scheme'!r}")
    if not parts.hostname:
        raise ValueError("MQTT URL has no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("MQTT URL takes no path, query or fragment")
    tls, default_port = _SCHEMES[parts.scheme]
    try:
        port = parts.port or default_port
    except ValueError as exc:
        raise ValueError(f"MQTT URL has an invalid port: {exc}") from None
    return MqttEndpoint(host=parts.hostname, port=port,
                        username=unquote(parts.username) if parts.username else None,
                        password=unquote(parts.password) if parts.password is not None else None, tls=tls)


def new_client(endpoint: MqttEndpoint, client_id: str = "", *, manual_ack: bool = False) -> mqtt.Client:
    """A paho MQTT v5 client (callback API version 2) with the endpoint's credentials and TLS."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5,
                         manual_ack=manual_ack)
    if endpoint.username is not None:
        client.username_pw_set(endpoint.username, endpoint.password)
    if endpoint.tls:
        client.tls_set()
    return client


@dataclass(frozen=True)
class Delivery:
    """One message as received, waiting for its batch to be handled and acknowledged."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    dup: bool
    """Set by the broker on a redelivery: the message may have been handled before."""
    received_at: float
    """``time.monotonic()`` at arrival."""
    connection: int
    """Which connection it arrived on; acknowledgements only go back on that one."""
    prepared: Any = field(default=None, compare=False)
    """What the consumer's ``prepare`` made of it on arrival (None without one, or when it failed)."""


def parse_delivery(delivery: Delivery) -> Heartbeat:
    """The heartbeat in a delivery, whose ``sn`` must match the topic, or :class:`HeartbeatError`."""
    sn = serial_from_topic(delivery.topic)
    if sn is None:
        raise HeartbeatError(f"not a heartbeat topic: {delivery.topic[:200]!r}")
    return parse_heartbeat(delivery.payload, expected_sn=sn)


class ConsumerClient(Protocol):
    """What :class:`HeartbeatConsumer` uses of a paho client: tests hand it a fake that needs no broker."""

    on_connect: Any
    on_disconnect: Any
    on_subscribe: Any
    on_message: Any

    def reconnect_delay_set(self, min_delay: int = 1, max_delay: int = 120) -> None:
        """Bounds of the backoff between automatic reconnection attempts (seconds)."""

    def connect_async(self, host: str, port: int = 1883, keepalive: int = 60, bind_address: str = "",
                      bind_port: int = 0, clean_start: bool = False, properties: Properties | None = None) -> Any:
        """Connect once :meth:`loop_start` runs the network thread."""

    def loop_start(self) -> Any:
        """Start the network thread, which calls the ``on_…`` callbacks."""

    def loop_stop(self) -> Any:
        """Stop the network thread."""

    def subscribe(self, topic: str, qos: int = 0) -> Any:
        """Subscribe; ``on_subscribe`` tells the outcome."""

    def unsubscribe(self, topic: str) -> Any:
        """Unsubscribe."""

    def ack(self, mid: int, qos: int) -> Any:
        """Acknowledge a message received with ``manual_ack``."""

    def disconnect(self, reasoncode: ReasonCode | None = None, properties: Properties | None = None) -> Any:
        """Disconnect (the session stays on the broker unless ``properties`` end it)."""


ClientFactory = Callable[[MqttEndpoint, str], ConsumerClient]
"""Makes the client of one connection of a consumer, given the endpoint and the client id."""


def consumer_client(endpoint: MqttEndpoint, client_id: str) -> mqtt.Client:
    """The paho client of a consumer: MQTT v5, acknowledging only when told to."""
    return new_client(endpoint, client_id, manual_ack=True)


BatchHandler = Callable[[Sequence[Delivery]], None]
"""Handles one batch. Returning acknowledges the whole batch; raising acknowledges none of it.

Raise only for failures worth retrying (database unavailable): the batch comes back. A payload
that can never succeed belongs in a dead-letter table, handled and acknowledged like the rest.
"""


class HeartbeatConsumer:
    """Subscribes at QoS 1, hands messages to ``handler`` in batches, acknowledges after success.

    A batch is handed over when it holds ``batch_size`` messages or its first message has
    waited ``max_wait`` seconds. When the handler raises, the batch is not acknowledged: the
    consumer backs off (``retry_initial`` doubling up to ``retry_max`` seconds), reconnects to
    its persistent session and the broker resends everything unacknowledged. When the broker
    goes away, paho reconnects with exponential backoff (1 s doubling up to ``reconnect_max``).
    That cap is short because Mosquitto 2.0 forgets a persistent session's shared subscription when
    it restarts: what terminals publish between the broker's return and the worker's reconnection
    is acknowledged to them and delivered to no one, so the worker must come back within seconds.

    ``client_id`` must be stable per worker (``posops-worker-<host>-<n>``) and unique: the
    session, and the messages the broker keeps in it, belong to that id.

    ``prepare``, when given, is called on each message as it arrives (in the network thread)
    and its result kept as :attr:`Delivery.prepared`: parsing there overlaps with the handler
    waiting on the database for the previous batch.

    ``client_factory`` makes the client of each connection (:func:`consumer_client` by default).
    """

    def __init__(self, endpoint: MqttEndpoint, handler: BatchHandler, *, client_id: str,
                 subscription: str | None = None, batch_size: int = 500, max_wait: float = 0.5,
                 session_expiry: int = 3600, keepalive: int = 30, retry_initial: float = 1.0,
                 retry_max: float = 60.0, reconnect_max: int = 10,
                 prepare: Callable[[Delivery], Any] | None = None,
                 client_factory: ClientFactory = consumer_client) -> None:
        if not client_id:
            raise ValueError("a consumer needs a fixed client id to keep its session")
        if batch_size < 1 or max_wait < 0:
            raise ValueError("batch_size must be at least 1 and max_wait not negative")
        self.endpoint = endpoint
        self.client_id = client_id
        self.subscription = subscription or heartbeat_subscription()
        self.batch_size = batch_size
        self.max_wait = max_wait
        self._handler = handler
        self._prepare = prepare
        self._client_factory = client_factory
        self._session_expiry = session_expiry
        self._keepalive = keepalive
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._reconnect_max = reconnect_max
        self._queue: queue.SimpleQueue[Delivery] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._client: ConsumerClient | None = None
        self._connection = 0
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._end_session = False
        self._failures = 0
        self._thread: threading.Thread | None = None
        self.acknowledged = 0
        """Messages acknowledged so far."""

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        """Run the consumer in a background thread; returns at once."""
        self._thread = threading.Thread(target=self.run, name=f"heartbeat-consumer-{self.client_id}",
                                        daemon=True)
        self._thread.start()
        return self

    def run(self) -> None:
        """Consume until :meth:`stop`; blocks the calling thread."""
        self._open_connection()
        try:
            while not self._stopping.is_set():
                batch = self._next_batch()
                if batch:
                    self._dispatch(batch)
            self._finish()
        finally:
            self._close_connection(end_session=self._end_session)

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until connected and subscribed; False on timeout."""
        return self._ready.wait(timeout)

    def stop(self, *, end_session: bool = False, timeout: float | None = 30.0) -> None:
        """Stop consuming, handle and acknowledge what has arrived, then disconnect.

        By default the session stays on the broker, so a restart with the same client id
        resumes it. ``end_session=True`` is for a worker that leaves for good: it unsubscribes,
        drains, and ends the session only if everything it received was acknowledged.
        Safe to call from a signal handler running in the consuming thread.
        """
        self._end_session = end_session
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    # -- batching --------------------------------------------------------------------------

    def _next_batch(self, poll: float = 0.2) -> list[Delivery]:
        try:
            first = self._queue.get(timeout=poll)
        except queue.Empty:
            return []
        batch = [first]
        deadline = first.received_at + self.max_wait
        while len(batch) < self.batch_size:
            try:
                batch.append(self._queue.get(timeout=max(deadline - time.monotonic(), 0.0)))
            except queue.Empty:
                break
        # Messages from an earlier connection are already on their way again.
        return [d for d in batch if d.connection == self._connection]

    def _dispatch(self, batch: list[Delivery]) -> bool:
        try:
            self._handler(batch)
        except Exception:
            self._failures += 1
            delay = min(self._retry_max, self._retry_initial * 2 ** (self._failures - 1))
            log.exception("heartbeat batch of %d failed, not acknowledged; retrying in %.1f s",
                          len(batch), delay)
            if not self._stopping.is_set():
                self._reconnect_after(delay)
            return False
        self._failures = 0
        self._acknowledge(batch)
        return True

    def _acknowledge(self, batch: list[Delivery]) -> None:
        with self._lock:
            client = self._client
            if client is None or batch[0].connection != self._connection:
                log.info("connection changed while handling %d messages; the broker will resend them",
                         len(batch))
                return
            for delivery in batch:
                client.ack(delivery.mid, delivery.qos)
            self.acknowledged += len(batch)

    def _finish(self) -> None:
        """Handle what is queued; when leaving for good, also what the broker still sends."""
        if self._end_session and self._client is not None:
            self._client.unsubscribe(self.subscription)
        clean = True
        while True:
            batch = self._next_batch(poll=max(self.max_wait, 0.2) if self._end_session else 0.0)
            if not batch:
                break
            clean = self._dispatch(batch) and clean
        if self._end_session and not clean:
            log.warning("keeping the session of %s: some messages were not acknowledged", self.client_id)
            self._end_session = False

    # -- connection --------------------------------------------------------------------------

    def _open_connection(self) -> None:
        client = self._client_factory(self.endpoint, self.client_id)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.reconnect_delay_set(1, self._reconnect_max)
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = self._session_expiry
        # Room for a batch being handled while the next ones arrive. Without it Mosquitto sends
        # only 20 unacknowledged messages at a time; and what it cannot send it queues only up to
        # max_queued_messages (1000 by default), dropping the rest, so a generous window in
        # flight also absorbs a burst while a batch commits.
        properties.ReceiveMaximum = min(_MAX_RECEIVE, max(20, 4 * self.batch_size))
        client.connect_async(self.endpoint.host, self.endpoint.port, keepalive=self._keepalive,
                             clean_start=False, properties=properties)
        with self._lock:
            self._client = client
        client.loop_start()

    def _close_connection(self, *, end_session: bool = False) -> None:
        with self._lock:
            client, self._client = self._client, None
            self._connection += 1
        if client is None:
            return
        properties = None
        if end_session:
            properties = Properties(PacketTypes.DISCONNECT)
            properties.SessionExpiryInterval = 0
        client.disconnect(properties=properties)
        client.loop_stop()
        self._ready.clear()

    def _reconnect_after(self, delay: float) -> None:
        self._close_connection()
        while not self._queue.empty():  # unacknowledged, the broker resends them
            self._queue.get_nowait()
        if not self._stopping.wait(delay):
            self._open_connection()

    # -- paho callbacks (network thread) -----------------------------------------------------

    def _on_connect(self, client: ConsumerClient, userdata: Any, flags: mqtt.ConnectFlags,
                    reason_code: ReasonCode, properties: Properties | None) -> None:
        if reason_code.is_failure:
            log.error("MQTT broker %s:%s refused %s: %s", self.endpoint.host, self.endpoint.port,
                      self.client_id, reason_code)
            return
        with self._lock:
            if client is not self._client:
                return
            self._connection += 1
        log.info("connected to %s:%s as %s (session present: %s)", self.endpoint.host, self.endpoint.port,
                 self.client_id, flags.session_present)
        client.subscribe(self.subscription, qos=HEARTBEAT_QOS)

    def _on_subscribe(self, client: ConsumerClient, userdata: Any, mid: int, reason_codes: list[ReasonCode],
                      properties: Properties | None) -> None:
        if any(code.is_failure for code in reason_codes):
            log.error("subscription %s refused: %s", self.subscription, reason_codes)
        elif not self._stopping.is_set():
            # Said on every connection: Mosquitto 2.0 forgets shared subscriptions when it restarts, so
            # heartbeats published between its restart and this line had no subscriber and were dropped.
            log.info("%s subscribed to %s", self.client_id, self.subscription)
            self._ready.set()

    def _on_disconnect(self, client: ConsumerClient, userdata: Any, flags: mqtt.DisconnectFlags,
                       reason_code: ReasonCode, properties: Properties | None) -> None:
        self._ready.clear()
        if not self._stopping.is_set() and client is self._client:
            log.warning("MQTT connection of %s lost (%s); reconnecting", self.client_id, reason_code)

    def _on_message(self, client: ConsumerClient, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if self._stopping.is_set() and not self._end_session:
            return  # not acknowledged: resent to this session on its next start
        delivery = Delivery(topic=message.topic, payload=bytes(message.payload), mid=message.mid, qos=message.qos,
                            dup=bool(message.dup), received_at=time.monotonic(), connection=self._connection)
        if self._prepare is not None:
            try:
                delivery = replace(delivery, prepared=self._prepare(delivery))
            except Exception:  # the handler gets it unprepared and deals with it
                log.exception("preparing a message of %s failed", delivery.topic[:200])
        self._queue.put(delivery)


class HeartbeatPublisher:
    """Publishes heartbeats at QoS 1 to each terminal's topic; use as a context manager.

    At most ``max_pending`` messages (fewer if the broker's Receive Maximum says so) wait for
    the broker's acknowledgement; :meth:`publish` blocks beyond that, so a fast producer
    neither fills memory nor overruns the broker.

    For simulated terminals it also takes part in upgrades: :meth:`listen_for_offers` subscribes
    to every terminal's offer topic, :meth:`offers` hands over what arrived, and
    :meth:`publish_report` sends a terminal's steps.

    >>> with HeartbeatPublisher(parse_mqtt_url("mqtt://127.0.0.1")) as publisher:  # doctest: +SKIP
    ...     publisher.publish(heartbeat)
    """

    def __init__(self, endpoint: MqttEndpoint, *, client_id: str = "", root: str = TOPIC_ROOT,
                 max_pending: int = 1000, connect_timeout: float = 10.0) -> None:
        self.endpoint = endpoint
        self.root = root
        self._client = new_client(endpoint, client_id)
        self._client.on_connect = self._on_connect
        self._client.on_publish = self._on_publish
        self._client.on_message = self._on_message
        self._client.max_inflight_messages_set(max_pending)
        self._limit = max_pending
        self._connect_timeout = connect_timeout
        self._connected = threading.Event()
        self._changed = threading.Condition()
        self.published = 0
        """Messages handed to the client."""
        self.acknowledged = 0
        """Messages the broker acknowledged."""
        self.refused = 0
        """Messages the broker answered with a failure reason code (e.g. not authorised)."""
        self.reports = 0
        """Upgrade reports among the published messages."""
        self._listening = False
        self._offers: queue.SimpleQueue[tuple[str, bytes]] = queue.SimpleQueue()

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def connect(self) -> None:
        """Connect and wait for the broker to accept; raises ConnectionError on timeout."""
        self._client.connect_async(self.endpoint.host, self.endpoint.port)
        self._client.loop_start()
        if not self._connected.wait(self._connect_timeout):
            self._client.loop_stop()
            raise ConnectionError(f"MQTT broker {self.endpoint.host}:{self.endpoint.port} did not accept "
                                  f"a connection within {self._connect_timeout:g} s")

    def publish(self, heartbeat: Heartbeat) -> None:
        """Publish one heartbeat to its terminal's topic."""
        self.publish_payload(heartbeat.sn, heartbeat.to_json())

    def publish_payload(self, sn: str, payload: bytes) -> None:
        """Publish an encoded heartbeat of terminal ``sn`` (blocks while too many are pending)."""
        self._publish(heartbeat_topic(sn, self.root), payload)

    def publish_report(self, sn: str, payload: bytes) -> None:
        """Publish a terminal's upgrade report (``{"reports": [...]}``) to its report topic."""
        self._publish(upgrade_report_topic(sn, self.root), payload)
        self.reports += 1

    def listen_for_offers(self) -> None:
        """Subscribe (QoS 1, again after each reconnection) to the upgrade offers of every terminal."""
        self._listening = True
        if self._connected.is_set():
            self._client.subscribe(upgrade_topic("+", self.root), qos=HEARTBEAT_QOS)

    def offers(self) -> list[tuple[str, bytes]]:
        """The offers received since the last call: (serial number, payload)."""
        received = []
        while not self._offers.empty():
            received.append(self._offers.get_nowait())
        return received

    def _publish(self, topic: str, payload: bytes) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self.pending < self._limit)
            self.published += 1
        # Outside the lock: paho may hold its own lock while calling _on_publish.
        info = self._client.publish(topic, payload, qos=HEARTBEAT_QOS)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            with self._changed:
                self.published -= 1  # never queued, so never acknowledged
                self._changed.notify_all()
            raise ConnectionError(f"MQTT publish failed: {mqtt.error_string(info.rc)}")

    @property
    def pending(self) -> int:
        """Messages published but not yet acknowledged."""
        return self.published - self.acknowledged - self.refused

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every published message is acknowledged; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self.pending == 0, timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Flush for up to ``timeout`` seconds, then disconnect."""
        if self._connected.is_set():
            self.flush(timeout)
        self._client.disconnect()
        self._client.loop_stop()
        self._connected.clear()

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: mqtt.ConnectFlags,
                    reason_code: ReasonCode, properties: Properties | None) -> None:
        if reason_code.is_failure:
            log.error("MQTT broker refused the publisher: %s", reason_code)
            return
        # Never more unacknowledged messages than the broker accepts (its Receive Maximum).
        receive_maximum = getattr(properties, "ReceiveMaximum", None)
        if receive_maximum:
            with self._changed:
                self._limit = min(self._limit, receive_maximum)
        if self._listening:
            client.subscribe(upgrade_topic("+", self.root), qos=HEARTBEAT_QOS)
        self._connected.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        sn = serial_from_upgrade_topic(message.topic)
        if sn is not None:
            self._offers.put((sn, bytes(message.payload)))

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason_code: ReasonCode,
                    properties: Properties | None) -> None:
        with self._changed:
            if reason_code.is_failure:
                self.refused += 1
            else:
                self.acknowledged += 1
            self._changed.notify_all()
