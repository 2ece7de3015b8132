"""`posops worker` end to end (integration, marked ``mqtt``): the real broker, the test database, commit before ack."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import func, select

from posops.core.config import Settings
from posops.core.db import Database, utcnow
from posops.telemetry.ingest import BatchWriter
from posops.telemetry.models import DeadLetter, HeartbeatRecord, TelemetrySnapshot
from posops.telemetry.mqtt import Delivery, HeartbeatConsumer, HeartbeatPublisher, MqttEndpoint
from posops.worker import Worker
from tests.conftest import Fleet
from tests.helpers import wait_until
from tests.telemetry.conftest import MQTT_URL, MqttNames
from tests.telemetry.storage import failing, healthy

pytestmark = pytest.mark.mqtt
SERIALS = [f"SN-TEST-{i:04d}" for i in range(5)]


def rows(db: Database, model: type) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0



@contextmanager
def running_worker(database_url: str, names: MqttNames) -> Iterator[Worker]:
    """A worker of this test's group in a thread, without periodic jobs."""
    worker = Worker(Settings(database_url=database_url, mqtt_url=MQTT_URL), worker_id=names.client_id("worker"),
                    topic_root=names.root, share_group=f"g-{names.token}", batch_size=50, max_wait=0.05, jobs=[],
                    tick_s=0.1, session_expiry=60)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        assert worker.consumer is not None and worker.consumer.wait_ready(10), "the worker did not subscribe"
        yield worker
    finally:
        worker.stop()
        thread.join(15)


def publish(endpoint: MqttEndpoint, names: MqttNames, payloads: Sequence[tuple[str, bytes]]) -> None:
    with HeartbeatPublisher(endpoint, root=names.root) as publisher:
        for sn, payload in payloads:
            publisher.publish_payload(sn, payload)
        assert publisher.flush(10)


def encoded(payloads: Sequence[dict[str, Any]]) -> list[tuple[str, bytes]]:
    return [(p["sn"], json.dumps(p).encode()) for p in payloads]


def test_published_heartbeats_are_committed_and_a_resend_duplicates_nothing(
        mqtt_endpoint: MqttEndpoint, names: MqttNames, database_url: str, fleet: Fleet) -> None:
    db = Database(database_url)
    now = utcnow()
    payloads = encoded([healthy(sn, seq, now) for seq in range(1, 9) for sn in SERIALS]
                       + [failing(SERIALS[0], 9, now)])
    with running_worker(database_url, names) as worker:
        publish(mqtt_endpoint, names, payloads)
        assert wait_until(lambda: rows(db, HeartbeatRecord) == len(payloads))
        publish(mqtt_endpoint, names, payloads)  # a terminal resending everything
        assert wait_until(lambda: worker.counters.received == 2 * len(payloads))
    assert rows(db, HeartbeatRecord) == len(payloads) == 41
    assert (worker.counters.stored, worker.counters.duplicates, worker.counters.dead_lettered) == (41, 41, 0)
    with db.transaction() as session:
        latest = {s.sn: (s.seq, s.failing) for s in session.scalars(select(TelemetrySnapshot))}
    assert latest == {SERIALS[0]: (9, True), **{sn: (8, False) for sn in SERIALS[1:]}}
    assert worker.consumer is not None and worker.consumer.acknowledged == 82


def test_bad_messages_are_dead_lettered_and_the_worker_carries_on(
        mqtt_endpoint: MqttEndpoint, names: MqttNames, database_url: str, fleet: Fleet) -> None:
    db = Database(database_url)
    now = utcnow()
    bad = [(SERIALS[0], b"not json"), (SERIALS[1], json.dumps(healthy(SERIALS[2], 1, now)).encode()),
           ("GHOST-1", json.dumps(healthy("GHOST-1", 1, now)).encode()),
           (SERIALS[3], json.dumps({"v": 1, "sn": SERIALS[3], "seq": -1, "ts": now.isoformat()}).encode())]
    with running_worker(database_url, names) as worker:
        publish(mqtt_endpoint, names, [*bad, *encoded([healthy(SERIALS[4], 1, now)])])
        assert wait_until(lambda: rows(db, HeartbeatRecord) == 1 and rows(db, DeadLetter) == 4)
    with db.transaction() as session:
        reasons = {d.sn: d.reason for d in session.scalars(select(DeadLetter))}
    assert reasons[SERIALS[0]].startswith("not valid JSON")
    assert "does not match the sender" in reasons[SERIALS[1]]
    assert reasons["GHOST-1"] == "unknown terminal serial number 'GHOST-1'"
    assert reasons[SERIALS[3]].startswith("seq: Input should be greater than or equal to 0")
    assert worker.counters.dead_lettered == 4 and worker.counters.retries == 0


class CrashAfterCommit(BatchWriter):
    """Commits the first batch, then fails as if the process died before acknowledging it."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.crashed = 0

    def __call__(self, batch: Sequence[Delivery]) -> None:
        super().__call__(batch)
        if not self.crashed:
            self.crashed += 1
            raise ConnectionError("lost before the acknowledgement")


def test_a_batch_committed_but_not_acknowledged_comes_back_and_changes_nothing(
        mqtt_endpoint: MqttEndpoint, names: MqttNames, database_url: str, fleet: Fleet) -> None:
    db = Database(database_url)
    writer = CrashAfterCommit(db)
    consumer = HeartbeatConsumer(mqtt_endpoint, writer, client_id=names.client_id("crashy"),
                                 subscription=names.subscription, batch_size=100, max_wait=0.3, retry_initial=0.1,
                                 session_expiry=60).start()
    now = utcnow()
    payloads = encoded([healthy(sn, seq, now) for seq in (1, 2) for sn in SERIALS])
    try:
        assert consumer.wait_ready(10)
        publish(mqtt_endpoint, names, payloads)
        assert wait_until(lambda: consumer.acknowledged == len(payloads))
    finally:
        consumer.stop(end_session=True)
    assert writer.crashed == 1
    assert rows(db, HeartbeatRecord) == len(payloads)
    assert writer.counters.stored == len(payloads)
    assert writer.counters.duplicates >= 1, "the broker resent what had been committed"


def test_the_consumer_prepares_messages_as_they_arrive(mqtt_endpoint: MqttEndpoint, names: MqttNames) -> None:
    handled: list[Delivery] = []
    consumer = HeartbeatConsumer(mqtt_endpoint, handled.extend, client_id=names.client_id("prep"),
                                 subscription=names.subscription, batch_size=10, max_wait=0.05, session_expiry=60,
                                 prepare=lambda d: 1 / 0 if b"boom" in d.payload else len(d.payload)).start()
    try:
        assert consumer.wait_ready(10)
        publish(mqtt_endpoint, names, [("A-1", b"12345"), ("A-2", b"boom")])
        assert wait_until(lambda: len(handled) == 2)
    finally:
        consumer.stop(end_session=True)
    assert sorted((d.payload, d.prepared) for d in handled) == [(b"12345", 5), (b"boom", None)]
