"""The demo's repairs: every ticket state, a loaner out, late and on-time SLAs, and figures that differ by model."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from posops.core.auth import OPERATOR
from posops.core.db import Database
from posops.core.migrate import upgrade
from posops.demo import load_demo
from posops.demo_repairs import FAULTS
from posops.diagnosis.knowledge import load_knowledge
from posops.tickets import service
from posops.tickets.lifecycle import TicketStatus
from posops.tickets.loans import LoanStatus
from posops.tickets.models import LoanerReservation, Ticket
from posops.tickets.reliability import GroupBy


def test_the_demo_faults_are_the_knowledge_bases_own() -> None:
    knowledge = load_knowledge()
    assert [(c, s) for c, s, *_ in FAULTS if c not in knowledge.causes or s not in knowledge.symptoms] == []


def test_the_demo_has_every_state_a_loaner_out_and_figures_worth_reading(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    upgrade(url)
    db = Database(url)
    load_demo(db, terminals=120)
    with db.transaction() as session:
        tickets = list(session.scalars(select(Ticket)))
        loans = list(session.scalars(select(LoanerReservation.status)))
    assert {TicketStatus(t.status) for t in tickets} == set(TicketStatus) - {TicketStatus.REPLACED}
    assert LoanStatus.OUT in loans
    late = [t for t in tickets if t.respond_breached or t.resolve_breached]
    assert late and len(late) < len(tickets) / 2, "some SLAs missed, most kept"
    figures = service.reliability(db, OPERATOR, GroupBy.MODEL).groups
    mtbf = [g["mtbf_hours"] for g in figures if g["mtbf_hours"] is not None]
    assert len(mtbf) >= 3 and max(mtbf) > 1.3 * min(mtbf), "models differ enough to compare"
    again = load_demo(db, terminals=120)
    assert again.repairs == len(tickets), "a second load adds no repairs"
