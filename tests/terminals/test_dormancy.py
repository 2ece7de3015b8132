"""The daily dormancy scan and the terminal activity that keeps a terminal out of it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from posops.core.config import Settings
from posops.core.db import Database, utcnow
from posops.core.errors import Invalid
from posops.core.models import AuditEvent
from posops.terminals.models import MerchantNotice, Terminal
from posops.terminals.service import record_activity, suspend_dormant
from tests.conftest import Fleet


def _set(db: Database, terminal_id: int, **values: object) -> None:
    with db.transaction() as session:
        terminal = session.get(Terminal, terminal_id)
        assert terminal is not None
        for key, value in values.items():
            setattr(terminal, key, value)


def test_idle_active_terminals_are_suspended_as_dormant(db: Database, fleet: Fleet) -> None:
    now = utcnow()
    idle, busy, fresh, already = fleet.terminals_a[0], fleet.terminals_a[1], fleet.terminals_b[0], fleet.terminals_a[2]
    _set(db, idle, last_transaction_at=now - timedelta(days=120), activated_at=now - timedelta(days=400))
    _set(db, busy, last_transaction_at=now - timedelta(days=3), activated_at=now - timedelta(days=400))
    _set(db, fresh, activated_at=now - timedelta(days=10))
    _set(db, already, last_transaction_at=now - timedelta(days=500))
    _set(db, fleet.terminals_b[1], activated_at=now - timedelta(days=95))  # never transacted since activation

    assert suspend_dormant(db, now, days=90, dry_run=True) == [idle, fleet.terminals_b[1]]
    with db.transaction() as session:
        assert session.get(Terminal, idle).status == "active", "a dry run changes nothing"  # type: ignore[union-attr]
    assert suspend_dormant(db, now, days=90) == [idle, fleet.terminals_b[1]]
    assert suspend_dormant(db, now, days=90) == [], "a second run finds nothing more"
    with db.transaction() as session:
        terminal = session.get(Terminal, idle)
        assert terminal is not None and (terminal.status, terminal.status_reason) == ("suspended", "dormant")
        event = session.scalars(select(AuditEvent).where(AuditEvent.entity_id == str(idle),
                                                         AuditEvent.action == "suspend")).one()
        notice = session.scalars(select(MerchantNotice).where(MerchantNotice.terminal_id == idle)).one()
    assert (event.actor, event.actor_role) == ("dormancy-scan", "system")
    assert event.reason is not None and "120" in event.reason
    assert "长期没有交易" in notice.body_zh


def test_the_period_comes_from_settings_and_is_checked(db: Database, fleet: Fleet,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    now = utcnow()
    _set(db, fleet.terminals_a[0], last_transaction_at=now - timedelta(days=40))
    monkeypatch.setattr("posops.terminals.service.get_settings", lambda: Settings(dormancy_days=30))
    assert suspend_dormant(db, now, dry_run=True) == [fleet.terminals_a[0]]
    with pytest.raises(Invalid):
        suspend_dormant(db, now, days=0)
    with pytest.raises(ValueError):
        suspend_dormant(db, now.replace(tzinfo=None))


def test_activity_moves_forward_and_a_sign_in_clears_the_mark(db: Database, fleet: Fleet) -> None:
    now = utcnow()
    terminal_id = fleet.terminals_a[0]
    _set(db, terminal_id, must_sign_in=True)
    with db.transaction() as session:
        terminal = session.get(Terminal, terminal_id)
        assert terminal is not None
        record_activity(session, terminal, transaction_at=now)
        record_activity(session, terminal, transaction_at=now - timedelta(days=1), signed_in=True)
        record_activity(session, terminal, signed_in=True)
    with db.transaction() as session:
        terminal = session.get(Terminal, terminal_id)
        assert terminal is not None and terminal.last_transaction_at == now and not terminal.must_sign_in
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "sign_in")))
    assert len(events) == 1 and events[0].actor == "terminal-report"
