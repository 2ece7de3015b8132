"""A ticket's SLA as stored: waiting time accumulates per binding and survives a priority change (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from posops.core.db import Database, utcnow
from posops.tickets.models import Ticket
from posops.tickets.service import calendar
from posops.tickets.sla import DEFAULT_TARGETS, Priority
from tests.conftest import Fleet
from tests.terminals.flows import ok

MONDAY_9AM_SHANGHAI = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)


def _open(client: TestClient, fleet: Fleet) -> int:
    body = {"terminal_id": fleet.terminals_a[0], "description": "屏幕不亮"}
    return int(ok(client.post("/api/v1/tickets", json=body, headers=fleet.headers("agent")), 201)["id"])


def _set(db: Database, ticket_id: int, **values: object) -> None:
    with db.transaction() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        for key, value in values.items():
            setattr(ticket, key, value)


def _get(db: Database, ticket_id: int) -> Ticket:
    with db.transaction() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        session.expunge(ticket)
        return ticket


def test_a_priority_change_rebinds_the_sla_and_keeps_the_paused_time(client: TestClient, fleet: Fleet,
                                                                     db: Database) -> None:
    ticket_id = _open(client, fleet)
    _set(db, ticket_id, sla_started_at=MONDAY_9AM_SHANGHAI, sla_paused_minutes=300)
    urgent = ok(client.post(f"/api/v1/tickets/{ticket_id}/priority", json={"priority": "urgent"},
                            headers=fleet.headers("agent")))
    target = DEFAULT_TARGETS[Priority.URGENT]
    assert urgent["sla"]["paused_minutes"] == 300, "re-binding must not lose the time already spent waiting"
    stored = _get(db, ticket_id)
    assert stored.resolve_by == calendar().add(MONDAY_9AM_SHANGHAI, target.resolve_minutes + 300)
    assert stored.respond_by == calendar().add(MONDAY_9AM_SHANGHAI, target.respond_minutes)
    low = ok(client.post(f"/api/v1/tickets/{ticket_id}/priority", json={"priority": "low"},
                         headers=fleet.headers("agent")))
    assert low["sla"]["paused_minutes"] == 300
    assert _get(db, ticket_id).resolve_by == calendar().add(MONDAY_9AM_SHANGHAI,
                                                            DEFAULT_TARGETS[Priority.LOW].resolve_minutes + 300)


def test_leaving_a_wait_adds_its_business_minutes_to_the_binding(client: TestClient, fleet: Fleet,
                                                                  db: Database) -> None:
    ticket_id = _open(client, fleet)
    ok(client.post(f"/api/v1/tickets/{ticket_id}/assign", json={"technician": "technician"},
                   headers=fleet.headers("agent")))
    ok(client.post(f"/api/v1/tickets/{ticket_id}/transitions", json={"to": "in_repair"},
                   headers=fleet.headers("agent")))
    ok(client.post(f"/api/v1/tickets/{ticket_id}/transitions", json={"to": "waiting", "waiting_for": "vendor"},
                   headers=fleet.headers("agent")))
    started, paused_since = utcnow() - timedelta(days=20), utcnow() - timedelta(days=14)
    _set(db, ticket_id, sla_started_at=started, sla_paused_since=paused_since, sla_paused_minutes=60)
    before = utcnow()
    ok(client.post(f"/api/v1/tickets/{ticket_id}/transitions", json={"to": "in_repair"},
                   headers=fleet.headers("agent")))
    after = utcnow()
    stored = _get(db, ticket_id)
    waited = stored.sla_paused_minutes - 60
    assert calendar().between(paused_since, before) <= waited <= calendar().between(paused_since, after)
    assert waited > 0, "two weeks always hold business time, even over the Spring Festival"
    assert stored.sla_paused_since is None
    normal = DEFAULT_TARGETS[Priority.NORMAL].resolve_minutes
    assert stored.resolve_by == calendar().add(started, normal + stored.sla_paused_minutes)
