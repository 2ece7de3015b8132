"""A reactivated terminal that reports a successful sign-in over telemetry no longer waits to sign in."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from posops.core.db import Database, utcnow
from posops.core.models import AuditEvent
from posops.terminals.models import Terminal
from tests.conftest import ADMIN_TOKEN, Fleet
from tests.telemetry.heartbeats import full_payload

URL = "/api/v1/telemetry/heartbeats"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def _waiting(db: Database, terminal_id: int) -> bool:
    with db.transaction() as session:
        terminal = session.get(Terminal, terminal_id)
        assert terminal is not None
        return terminal.must_sign_in


def test_sign_in_after_reactivation_clears_the_mark(client: TestClient, fleet: Fleet, db: Database) -> None:
    terminal_id = fleet.terminals_a[0]
    with db.transaction() as session:
        terminal = session.get(Terminal, terminal_id)
        assert terminal is not None
        terminal.must_sign_in = True
    now = utcnow()
    stale = full_payload(sn="SN-TEST-0000", seq=1, ts=now.isoformat(),
                         last_signin={"at": (now - timedelta(days=2)).isoformat(), "ok": True})
    assert client.post(URL, json=stale, headers=ADMIN).status_code in (200, 201, 202)
    assert _waiting(db, terminal_id), "a sign-in from before the reactivation does not count"
    failed = full_payload(sn="SN-TEST-0000", seq=2, ts=now.isoformat(),
                          last_signin={"at": (now + timedelta(seconds=5)).isoformat(), "ok": False})
    client.post(URL, json=failed, headers=ADMIN)
    assert _waiting(db, terminal_id), "a failed sign-in does not count"
    fresh = full_payload(sn="SN-TEST-0000", seq=3, ts=now.isoformat(),
                         last_signin={"at": (now + timedelta(seconds=10)).isoformat(), "ok": True})
    client.post(URL, json=fresh, headers=ADMIN)
    assert not _waiting(db, terminal_id)
    with db.transaction() as session:
        actions = list(session.scalars(select(AuditEvent.action).where(
            AuditEvent.entity_type == "terminal", AuditEvent.entity_id == str(terminal_id))))
    assert actions.count("sign_in") == 1
