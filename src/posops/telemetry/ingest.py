"""The worker's heartbeat ingestion: MQTT deliveries to messages, batches stored in one transaction each.

:class:`HeartbeatConsumer` hands batches to :class:`BatchWriter`, which stores each batch in
one transaction and returns, so the batch is acknowledged only after it is committed.
A message that can never be stored is dead-lettered, never raised. Only a failure worth
retrying raises (the database is unreachable or locked): the batch is not acknowledged, the
consumer backs off and the broker resends it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.exc import DataError, IntegrityError

from posops.core.db import Database
from posops.telemetry import service
from posops.telemetry.heartbeat import HeartbeatError
from posops.telemetry.mqtt import (
    SHARE_GROUP,
    TOPIC_ROOT,
    Delivery,
    HeartbeatConsumer,
    heartbeat_subscription,
    parse_delivery,
    parse_mqtt_url,
    serial_from_topic,
)
from posops.telemetry.schemas import IngestResult

log = logging.getLogger("posops.worker")  # its lines belong with the worker's


def message_of(delivery: Delivery) -> service.Message:
    """The message in an MQTT delivery: its heartbeat, or why it is not one (the topic must name its sn)."""
    try:
        heartbeat = parse_delivery(delivery)
    except HeartbeatError as exc:
        return service.Message("mqtt", delivery.payload, delivery.topic, error=exc.reason,
                               sn_hint=serial_from_topic(delivery.topic))
    return service.Message("mqtt", delivery.payload, delivery.topic, heartbeat)


@dataclass
class Counters:
    """What a worker has done since it started."""

    batches: int = 0
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    retries: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, result: IngestResult) -> None:
        """Count one stored batch."""
        with self._lock:
            self.batches += 1
            self.received += result.received
            self.stored += result.stored
            self.duplicates += result.duplicates
            self.dead_lettered += len(result.rejected)

    def retry(self) -> None:
        """Count a batch that failed and will come back."""
        with self._lock:
            self.retries += 1

    def summary(self) -> str:
        """One log line."""
        with self._lock:
            return (f"batches={self.batches} received={self.received} stored={self.stored} "
                    f"duplicates={self.duplicates} dead_lettered={self.dead_lettered} retries={self.retries}")


class BatchWriter:
    """The consumer's batch handler: stores a batch in one transaction, dead-letters what cannot be stored."""

    def __init__(self, db: Database, counters: Counters | None = None) -> None:
        self.db = db
        self.counters = counters or Counters()
        self.directory = service.TerminalDirectory()

    def __call__(self, batch: Sequence[Delivery]) -> None:
        """Store the batch; raises only when the database cannot be reached (the batch will come back)."""
        messages = [d.prepared if isinstance(d.prepared, service.Message) else message_of(d) for d in batch]
        try:
            result = service.record_batch(self.db, messages, directory=self.directory)
        except (IntegrityError, DataError):
            # The database refused a row it should have taken: store the others, one by one.
            log.exception("batch of %d refused by the database; storing its messages one by one", len(messages))
            self.directory = service.TerminalDirectory()  # a terminal it remembers may be gone
            result = self._one_by_one(messages)
        except Exception:
            self.counters.retry()
            raise
        self.counters.add(result)

    def _one_by_one(self, messages: list[service.Message]) -> IngestResult:
        total = IngestResult(received=0, stored=0, duplicates=0)
        for message in messages:
            try:
                result = service.record_batch(self.db, [message])
            except (IntegrityError, DataError) as exc:
                first_line = (str(exc.orig).splitlines() or [""])[0]
                reason = f"database refused it: {type(exc.orig).__name__}: {first_line}"
                result = service.record_batch(self.db, [service.Message(
                    message.source, message.payload, message.topic, error=reason, sn_hint=message.sn)])
            total = IngestResult(received=total.received + result.received, stored=total.stored + result.stored,
                                 duplicates=total.duplicates + result.duplicates,
                                 rejected=[*total.rejected, *result.rejected])
        return total


def heartbeat_consumer(db: Database, mqtt_url: str, counters: Counters, *, client_id: str,
                       topic_root: str = TOPIC_ROOT, share_group: str = SHARE_GROUP, batch_size: int = 500,
                       max_wait: float = 0.2, session_expiry: int = 3600) -> HeartbeatConsumer:
    """The consumer of a worker: the group's shared subscription, its batches stored by a :class:`BatchWriter`."""
    return HeartbeatConsumer(parse_mqtt_url(mqtt_url), BatchWriter(db, counters), client_id=client_id,
                             subscription=heartbeat_subscription(share_group, topic_root), batch_size=batch_size,
                             max_wait=max_wait, session_expiry=session_expiry, prepare=message_of)
