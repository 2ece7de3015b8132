"""The worker's batch writer without a broker: messages from deliveries, a refused batch stored one by one."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from posops.core.db import Database, utcnow
from posops.telemetry import service
from posops.telemetry.ingest import BatchWriter, message_of
from posops.telemetry.models import DeadLetter
from posops.telemetry.mqtt import Delivery
from posops.terminals.models import Terminal
from tests.conftest import Fleet
from tests.telemetry.storage import add_terminals, healthy

SERIALS = [f"SN-TEST-{i:04d}" for i in range(5)]


def test_a_delivery_on_another_terminals_topic_is_not_a_heartbeat() -> None:
    payload = json.dumps(healthy("A-1", 1, utcnow())).encode()
    message = message_of(Delivery(topic="posops/v1/terminals/B-2/heartbeat", payload=payload, mid=1, qos=1,
                                  dup=False, received_at=0.0, connection=1))
    assert message.heartbeat is None and message.sn == "B-2"
    assert message.error is not None and "does not match the sender" in message.error


def _delivery(payload: dict[str, Any], mid: int = 1) -> Delivery:
    return Delivery(topic=f"posops/v1/terminals/{payload['sn']}/heartbeat", payload=json.dumps(payload).encode(),
                    mid=mid, qos=1, dup=False, received_at=0.0, connection=1)


def test_a_batch_the_database_refuses_is_stored_one_by_one(database_url: str, fleet: Fleet) -> None:
    db = Database(database_url)
    writer = BatchWriter(db)
    now = utcnow()
    writer.directory._ids.update({SERIALS[0]: 999_999, "GHOST-2": 999_998})  # remembered, but gone since
    writer([_delivery(healthy(SERIALS[0], 1, now)), _delivery(healthy(SERIALS[1], 1, now), 2),
            _delivery(healthy("GHOST-2", 1, now), 3)])
    assert (writer.counters.stored, writer.counters.dead_lettered, writer.counters.retries) == (2, 1, 0)
    with db.transaction() as session:
        assert session.scalars(select(DeadLetter.reason)).all() == ["unknown terminal serial number 'GHOST-2'"]


def test_the_terminal_directory_remembers_found_serials_for_a_while(db: Database, fleet: Fleet) -> None:
    clock = [utcnow()]
    directory = service.TerminalDirectory(ttl=timedelta(minutes=1), clock=lambda: clock[0])
    with db.transaction() as session:
        assert directory.resolve(session, {SERIALS[0], "NEW-1"}) == {SERIALS[0]: fleet.terminals_a[0]}
    add_terminals(db, fleet.merchant_a, 1, prefix="NEW-")
    with db.transaction() as session:
        session.execute(update(Terminal).where(Terminal.serial_number == SERIALS[0]).values(serial_number="MOVED-0"))
        found = directory.resolve(session, {SERIALS[0], "NEW-0000"})
    assert found[SERIALS[0]] == fleet.terminals_a[0], "remembered"
    assert "NEW-0000" in found, "a serial not found before is looked up again"
    clock[0] += timedelta(minutes=2)
    with db.transaction() as session:
        assert SERIALS[0] not in directory.resolve(session, {SERIALS[0]}), "forgotten after the ttl"


def test_control_characters_are_dead_lettered_not_a_failed_batch(database_url: str, fleet: Fleet) -> None:
    """PostgreSQL text refuses NUL: a heartbeat or a payload carrying one is refused and its dead letter stored."""
    db = Database(database_url)
    writer = BatchWriter(db)
    now = utcnow()
    nul_version = {**healthy(SERIALS[0], 1, now), "software": {"app": "2.1.0\u0000", "firmware": "FW-1"}}
    nul_serial = {**healthy(SERIALS[1], 1, now), "sn": "SN-\u0000"}
    garbage = Delivery(topic=f"posops/v1/terminals/{SERIALS[2]}/heartbeat", payload=b"\x00{", mid=3, qos=1,
                       dup=False, received_at=0.0, connection=1)
    writer([_delivery(nul_version), _delivery(healthy(SERIALS[3], 1, now), 2), garbage,
            Delivery(topic="posops/v1/terminals/SN-X/heartbeat", payload=json.dumps(nul_serial).encode(), mid=4,
                     qos=1, dup=False, received_at=0.0, connection=1)])
    assert (writer.counters.stored, writer.counters.dead_lettered, writer.counters.retries) == (1, 3, 0)
    with db.transaction() as session:
        letters = session.scalars(select(DeadLetter).order_by(DeadLetter.id)).all()
    assert any("software.app" in letter.reason for letter in letters)
    assert all("\x00" not in letter.payload for letter in letters)
    assert any(letter.payload.startswith("\\x00{") for letter in letters), "the NUL is kept, written out"
