"""`posops worker`: consumes heartbeats from MQTT into the database and runs the periodic jobs.

One process, two loops: the MQTT consumer (a background thread) hands batches to
:class:`BatchWriter`, which stores each batch in one transaction and returns, so the batch is
acknowledged only after it is committed; the main loop ticks the :class:`Scheduler` (outage
scan every minute, history pruning every hour, the dormancy scan every UTC day), each job
claimed so that one of N workers runs it.

A message that can never be stored is dead-lettered, never raised. Only a failure worth
retrying raises (the database is unreachable or locked): the batch is not acknowledged, the
consumer backs off and the broker resends it.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import DataError, IntegrityError

from posops.core.config import Settings
from posops.core.db import Database, utcnow
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
from posops.telemetry.scheduler import Job, Scheduler
from posops.telemetry.schemas import IngestResult
from posops.terminals import service as terminals

log = logging.getLogger("posops.worker")
STATS_EVERY_S = 60.0
GC_THRESHOLD = 20_000


def default_worker_id(settings: Settings) -> str:
    """POSOPS_WORKER_ID, else ``posops-worker-<host>``: stable across restarts of this host's worker."""
    return settings.worker_id or f"posops-worker-{socket.gethostname()}"


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


def _scan(db: Database, now: datetime) -> str:
    result = service.scan_incidents(db, now)
    return f"groups={result.groups} open={result.open} opened={len(result.opened)} closed={len(result.closed)}"


def _prune(db: Database, now: datetime) -> str:
    return f"removed={service.prune_history(db, now)}"


def _dormancy(db: Database, now: datetime) -> str:
    return f"suspended={len(terminals.suspend_dormant(db, now))}"


def default_jobs(scan_every: timedelta = timedelta(minutes=1)) -> list[Job]:
    """The worker's periodic jobs: outage scan, history pruning, dormancy suspensions."""
    return [Job(service.SCAN_JOB, scan_every, lease=max(scan_every * 5, timedelta(minutes=5)), run=_scan),
            Job("telemetry_prune", timedelta(hours=1), lease=timedelta(minutes=30), run=_prune),
            Job("dormancy", timedelta(days=1), lease=timedelta(hours=2), run=_dormancy)]


class Worker:
    """A `posops worker` process: the MQTT consumer (when POSOPS_MQTT_URL is set) and the scheduler.

    ``session_expiry`` is how long (seconds) the broker keeps this worker's session, and the
    heartbeats waiting in it, while the worker is away: a restart within it loses nothing.
    """

    def __init__(self, settings: Settings, *, worker_id: str, topic_root: str = TOPIC_ROOT,
                 share_group: str = SHARE_GROUP, batch_size: int = 500, max_wait: float = 0.2,
                 jobs: Sequence[Job] | None = None, tick_s: float = 5.0, session_expiry: int = 3600) -> None:
        self.db = Database(settings.database_url)
        self.worker_id = worker_id
        self.counters = Counters()
        self.scheduler = Scheduler(self.db, worker_id, default_jobs() if jobs is None else jobs)
        self.tick_s = tick_s
        self.stopping = threading.Event()
        self.consumer: HeartbeatConsumer | None = None
        if settings.mqtt_url:
            self.consumer = HeartbeatConsumer(
                parse_mqtt_url(settings.mqtt_url), BatchWriter(self.db, self.counters), client_id=worker_id,
                subscription=heartbeat_subscription(share_group, topic_root), batch_size=batch_size,
                max_wait=max_wait, session_expiry=session_expiry, prepare=message_of)

    def run(self) -> None:
        """Consume and schedule until :meth:`stop`; on the way out, store and acknowledge what has arrived."""
        if self.consumer is not None:
            self.consumer.start()
        last_stats = next_tick = time.monotonic()
        ready = False
        try:
            while not self.stopping.is_set():
                if not ready and (self.consumer is None or self.consumer.wait_ready(0)):
                    ready = True
                    log.info("worker %s ready (%s)", self.worker_id,
                             f"subscribed to {self.consumer.subscription}" if self.consumer else "no MQTT broker")
                if time.monotonic() >= next_tick:
                    self.scheduler.tick(utcnow())
                    next_tick = time.monotonic() + self.tick_s
                if time.monotonic() - last_stats >= STATS_EVERY_S:
                    log.info("worker %s: %s", self.worker_id, self.counters.summary())
                    last_stats = time.monotonic()
                self.stopping.wait(min(self.tick_s, 0.1 if not ready else 1.0))
        finally:
            if self.consumer is not None:
                self.consumer.stop()
            log.info("worker %s stopped: %s", self.worker_id, self.counters.summary())

    def stop(self, *_: object) -> None:
        """Ask the worker to stop (also a signal handler)."""
        self.stopping.set()
