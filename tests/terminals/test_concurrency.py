"""Two decisions on the same request at once: exactly one wins, the other is a 409, nothing is half-written."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select, text, update

from posops.core.db import Database
from posops.core.errors import Conflict
from posops.core.models import AuditEvent
from posops.reactivation import service as reactivation_service
from posops.reactivation.models import ReactivationRequest
from posops.reactivation.schemas import ReactivationRequestIn, ResolvedConfirmedEvidence
from posops.terminals.models import Suspension, Terminal
from posops.terminals.schemas import SuspendIn
from posops.terminals.service import suspend_terminal
from tests.conftest import Fleet


def _approvable(db: Database, fleet: Fleet, terminal_id: int) -> int:
    agent, merchant = fleet.users["agent"], fleet.users["merchant"]
    suspend_terminal(db, agent, terminal_id, SuspendIn(reason="other", note="待核实"))
    request = reactivation_service.submit_request(db, merchant, terminal_id, ReactivationRequestIn())
    reactivation_service.record_evidence(db, agent, request.id,
                                         ResolvedConfirmedEvidence(kind="resolved_confirmed", note="已核实"))
    return request.id


def _count(db: Database, action: str, entity_id: int) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.action == action, AuditEvent.entity_id == str(entity_id))) or 0


def test_two_approvals_at_once_leave_exactly_one(db: Database, fleet: Fleet) -> None:
    agent = fleet.users["agent"]
    for terminal_id in fleet.terminals_a[:2]:
        request_id = _approvable(db, fleet, terminal_id)
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def approve(rid: int = request_id, gate: threading.Barrier = barrier, out: list[str] = outcomes) -> None:
            gate.wait()
            try:
                reactivation_service.approve_request(db, agent, rid)
                out.append("approved")
            except Conflict as exc:
                out.append(f"refused {exc.status}")

        threads = [threading.Thread(target=approve) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(outcomes) == ["approved", "refused 409"]
        assert _count(db, "approve", request_id) == 1
        assert _count(db, "reactivate", terminal_id) == 1
        with db.transaction() as session:
            terminal = session.get(Terminal, terminal_id)
            assert terminal is not None and (terminal.status, terminal.must_sign_in) == ("active", True)
            ended = session.scalars(select(Suspension.end_action).where(Suspension.terminal_id == terminal_id))
            assert list(ended) == ["reactivate"]


def test_an_approval_waits_for_a_decision_in_progress_and_then_refuses(db: Database, fleet: Fleet) -> None:
    """While another connection holds the request (as a decision in progress does), approval waits, then sees it."""
    if not db.url.startswith("postgresql"):
        pytest.skip("row locks (SELECT … FOR UPDATE) are PostgreSQL's; SQLite serialises writers instead")
    request_id = _approvable(db, fleet, fleet.terminals_a[0])
    outcome: list[object] = []
    with db.engine.connect() as other:
        other.execute(text("SELECT id FROM reactivation_requests WHERE id = :id FOR UPDATE"), {"id": request_id})

        def approve() -> None:
            try:
                outcome.append(reactivation_service.approve_request(db, fleet.users["agent"], request_id).status)
            except Conflict as exc:
                outcome.append(exc)

        thread = threading.Thread(target=approve)
        thread.start()
        time.sleep(0.3)
        assert outcome == [], "the approval waits for the row"
        other.execute(update(ReactivationRequest).where(ReactivationRequest.id == request_id)
                      .values(status="rejected", rejection_reason="另一位审批人已驳回"))
        other.commit()
        thread.join(timeout=30)
    assert len(outcome) == 1 and isinstance(outcome[0], Conflict) and outcome[0].status == 409
    with db.transaction() as session:
        terminal = session.get(Terminal, fleet.terminals_a[0])
        assert terminal is not None and terminal.status == "suspended"
    assert _count(db, "approve", request_id) == 0
