"""The demo's repairs: a year of maintenance history, tickets in every state, technicians and a loaner pool.

Older and cheaper models fail more often and big cities are repaired faster, so the MTBF and
MTTR pages have differences worth reading. Everything is written as the tables hold it, with
times in the past, in the caller's transaction.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from posops.core.auth import hash_password
from posops.core.db import utcnow
from posops.core.models import User
from posops.terminals.lifecycle import TerminalStatus
from posops.terminals.models import Merchant, Terminal
from posops.tickets.lifecycle import Channel, Outcome, TicketStatus, WaitingFor
from posops.tickets.loans import LoanStatus
from posops.tickets.models import Loaner, LoanerReservation, MaintenanceRecord, TechnicianProfile, Ticket, WorkEntry
from posops.tickets.service import calendar
from posops.tickets.sla import DEFAULT_TARGETS, Priority

POOL = ("服务商备机库", "POOL91310000DEMO")
LOANER_MODELS = ("PAX A920", "PAX A920", "Sunmi P2", "Newland N910")
"""The spare terminals of the demo's loaner pool (they are terminals of the fleet too)."""
TECHNICIANS = {"tech": ["上海", "杭州"], "tech_bj": ["北京"], "tech_gz": ["广州", "深圳"], "tech_cd": ["成都"]}
FAILURES_PER_YEAR = {"PAX A920": 0.18, "Newland N910": 0.35, "Landi A8": 0.45, "Sunmi P2": 0.25,
                     "Verifone X990": 0.12}
"""Chance that a terminal of the model needed a corrective repair in a year (the demo's, not a measurement)."""
REPAIR_HOURS = {"上海": (4, 30), "北京": (6, 36), "广州": (8, 48), "深圳": (6, 40), "杭州": (10, 60), "成都": (20, 90)}
FAULTS = [("hw.reader_faulty", "card_read", "刷卡没反应,插卡也读不出", "读卡模块", 8500),
          ("hw.printer_head", "printer", "打印机不出纸,换了纸也不行", "打印头", 6000),
          ("hw.battery_aged", "power", "电池不耐用,半天就没电", "电池", 9000),
          ("hw.screen", "display", "屏幕有一半不亮", "显示屏", 15000),
          ("hw.keypad", "keypad", "键盘有几个键按了没反应", "按键板", 4000)]


@dataclass(frozen=True)
class RepairsSummary:
    """What the demo left: tickets by state, maintenance records, loaners."""

    tickets: int
    records: int
    loaners: int


def load_repairs(session: Session, merchants: list[Merchant], rng: random.Random,
                 technician_password: str) -> RepairsSummary:
    """Add technicians, the loaner pool, a year of repairs and today's tickets (once)."""
    technicians = _technicians(session, technician_password)
    if session.scalar(select(Ticket.id).limit(1)) is not None:
        return RepairsSummary(session.scalar(select(func.count(Ticket.id))) or 0,
                              session.scalar(select(func.count(MaintenanceRecord.id))) or 0,
                              session.scalar(select(func.count(Loaner.id))) or 0)
    fleet = list(session.scalars(select(Terminal).where(
        Terminal.merchant_id.in_([m.id for m in merchants]), Terminal.status != TerminalStatus.ONBOARDING)
        .order_by(Terminal.id)))
    loaners = _loaner_pool(session)
    records = _history(session, fleet, technicians, rng)
    tickets = _open_tickets(session, merchants[0], fleet, technicians, loaners)
    return RepairsSummary(tickets + records, records, len(loaners))


def _technicians(session: Session, password: str) -> dict[str, User]:
    found: dict[str, User] = {}
    hashed = ""  # they share the demo's technician password: hash it once, argon2 is slow on purpose
    for name, regions in TECHNICIANS.items():
        user = session.scalar(select(User).where(User.username == name))
        if user is None:
            hashed = hashed or hash_password(password)
            user = User(username=name, role="technician", display_name=name, password_hash=hashed)
            session.add(user)
            session.flush()
        if session.get(TechnicianProfile, user.id) is None:
            session.add(TechnicianProfile(user_id=user.id, regions=regions))
        found[name] = user
    session.flush()
    return found


def _technician_for(region: str, technicians: dict[str, User]) -> User:
    return next((technicians[n] for n, regions in TECHNICIANS.items() if region in regions), technicians["tech"])


def _loaner_pool(session: Session) -> list[Loaner]:
    pool = Merchant(name=POOL[0], legal_id=POOL[1], contact_name="备机管理员", region="上海")
    session.add(pool)
    session.flush()
    loaners = []
    for index, model in enumerate(LOANER_MODELS):
        device = Terminal(serial_number=f"LOAN{index + 1:06d}", model=model, vendor=model.split()[0],
                          tid=f"{99000001 + index:08d}", mid=f"89831000000{9000 + index:04d}", merchant_id=pool.id,
                          region="上海", app_version="3.2.1", status=TerminalStatus.ACTIVE)
        session.add(device)
        session.flush()
        loaner = Loaner(terminal_id=device.id, pool_merchant_id=pool.id, home_mid=device.mid, region="上海",
                        note="演示备用机")
        session.add(loaner)
        loaners.append(loaner)
    session.flush()
    return loaners


def _sla(ticket: Ticket, opened: datetime) -> None:
    target = DEFAULT_TARGETS[Priority(ticket.priority)]
    ticket.sla_started_at = opened
    ticket.respond_by = calendar().add(opened, target.respond_minutes)
    ticket.resolve_by = calendar().add(opened, target.resolve_minutes)


def _history(session: Session, fleet: list[Terminal], technicians: dict[str, User], rng: random.Random) -> int:
    """A year of finished corrective repairs, each a closed ticket with its work and maintenance record."""
    now = utcnow()
    count = 0
    for terminal in fleet:
        in_service = datetime.combine(terminal.purchase_date or now.date(), time(), UTC)
        start = max(in_service, now - timedelta(days=365))
        days = (now - start).days
        if days < 20 or rng.random() > FAILURES_PER_YEAR.get(terminal.model, 0.25) * days / 365:
            continue
        cause, symptom, complaint, part, cost = rng.choice(FAULTS)
        opened = start + timedelta(days=rng.uniform(0, days - 10), hours=rng.uniform(0, 10))
        low, high = REPAIR_HOURS.get(terminal.region, (8, 48))
        repaired = opened + timedelta(hours=rng.uniform(low, high))
        tech = _technician_for(terminal.region, technicians)
        ticket = Ticket(terminal_id=terminal.id, merchant_id=terminal.merchant_id, status=TicketStatus.CLOSED,
                        priority=Priority.NORMAL, channel=rng.choice(list(Channel)), symptom=symptom,
                        suspected_cause=cause, description=complaint, prefill={}, materials={},
                        in_warranty=terminal.warranty_end is not None and opened.date() <= terminal.warranty_end,
                        region=terminal.region, opened_by="merchant", opened_by_role="merchant",
                        assignee_user_id=tech.id, assignee=tech.username, created_at=opened, updated_at=repaired,
                        responded_at=opened + timedelta(hours=rng.uniform(0.2, 3)), repaired_at=repaired,
                        accepted_at=repaired + timedelta(hours=2), closed_at=repaired + timedelta(days=1))
        _sla(ticket, opened)
        ticket.resolve_breached = ticket.resolve_by is not None and repaired > ticket.resolve_by
        session.add(ticket)
        session.flush()
        minutes = rng.randint(20, 90)
        parts = [{"name": part, "quantity": 1, "unit_cost_fen": cost}] if rng.random() < 0.7 else []
        session.add(WorkEntry(ticket_id=ticket.id, technician=tech.username, at=repaired, minutes=minutes,
                              confirmed_cause=cause, parts=parts, outcome=Outcome.REPAIRED, note=f"更换{part}"))
        session.add(MaintenanceRecord(terminal_id=terminal.id, ticket_id=ticket.id, technician=tech.username,
                                      requested_at=opened, finished_at=repaired, corrective=True, cause=cause,
                                      work=f"更换{part}", parts=parts, minutes=minutes,
                                      cost_fen=sum(p["unit_cost_fen"] for p in parts), outcome=Outcome.REPAIRED))
        count += 1
    session.flush()
    return count


def _open_tickets(session: Session, home: Merchant, fleet: list[Terminal], technicians: dict[str, User],
                  loaners: list[Loaner]) -> int:
    """Today's tickets: one in every state, some late, the demo merchant's own, one with a loaner out."""
    now = utcnow()
    own = [t for t in fleet if t.merchant_id == home.id and t.status == TerminalStatus.ACTIVE]
    others = [t for t in fleet if t.merchant_id != home.id and t.status == TerminalStatus.ACTIVE]
    mine: list[tuple[TicketStatus, timedelta, dict[str, Any]]] = [
        (TicketStatus.REPAIRED, timedelta(days=2), {"priority": Priority.HIGH}),
        (TicketStatus.IN_REPAIR, timedelta(days=1), {"loaner": True}),
        (TicketStatus.NEW, timedelta(hours=2), {}),
    ]
    theirs: list[tuple[TicketStatus, timedelta, dict[str, Any]]] = [
        (TicketStatus.NEW, timedelta(days=3), {"priority": Priority.URGENT}),
        (TicketStatus.TRIAGED, timedelta(hours=5), {}),
        (TicketStatus.ASSIGNED, timedelta(days=1), {}),
        (TicketStatus.SCHEDULED, timedelta(hours=20), {"visit": now + timedelta(hours=2)}),
        (TicketStatus.WAITING, timedelta(days=4), {"waiting": WaitingFor.PARTS}),
        (TicketStatus.ACCEPTED, timedelta(days=5), {}),
        (TicketStatus.NOT_REPAIRABLE, timedelta(days=6), {}),
        (TicketStatus.CANCELLED, timedelta(days=2), {}),
    ]
    # The demo merchant's newest terminals, so the first rows of its list stay the healthy ones.
    plan = ([(t, *rest) for t, rest in zip(reversed(own), mine, strict=False)]
            + [(t, *rest) for t, rest in zip(others, theirs, strict=False)])
    for terminal, status, age, extra in plan:
        opened = now - age
        cause, symptom, complaint, part, cost = FAULTS[terminal.id % len(FAULTS)]
        # The demo's own technician login has today's visit, wherever it is.
        tech = technicians["tech"] if "visit" in extra else _technician_for(terminal.region, technicians)
        assigned = status not in (TicketStatus.NEW, TicketStatus.TRIAGED, TicketStatus.CANCELLED)
        ticket = Ticket(terminal_id=terminal.id, merchant_id=terminal.merchant_id, status=status,
                        priority=extra.get("priority", Priority.NORMAL), channel=Channel.ONSITE, symptom=symptom,
                        suspected_cause=cause, description=complaint, prefill={}, region=terminal.region,
                        materials={"model": terminal.model, "serial_number": terminal.serial_number,
                                   "tid": terminal.tid, "app_version": terminal.app_version, "recent_traffic": []},
                        in_warranty=terminal.warranty_end is not None and opened.date() <= terminal.warranty_end,
                        opened_by="merchant" if terminal.merchant_id == home.id else "agent",
                        opened_by_role="merchant" if terminal.merchant_id == home.id else "agent",
                        assignee_user_id=tech.id if assigned else None, assignee=tech.username if assigned else None,
                        created_at=opened, responded_at=opened + timedelta(hours=1) if assigned else None,
                        scheduled_for=extra.get("visit"), waiting_for=extra.get("waiting"))
        _sla(ticket, opened)
        if status is TicketStatus.WAITING:
            ticket.sla_paused_since, ticket.resolve_by = now - timedelta(days=2), None
        if status in (TicketStatus.REPAIRED, TicketStatus.ACCEPTED, TicketStatus.NOT_REPAIRABLE):
            finished = now - timedelta(hours=3)
            unrepairable = status is TicketStatus.NOT_REPAIRABLE
            ticket.repaired_at = None if unrepairable else finished  # the repair is done only when it worked
            session.add(ticket)
            session.flush()
            outcome = Outcome.NOT_REPAIRED if unrepairable else Outcome.REPAIRED
            parts = [{"name": part, "quantity": 1, "unit_cost_fen": cost}]
            session.add(WorkEntry(ticket_id=ticket.id, technician=tech.username, at=finished, minutes=40,
                                  confirmed_cause=cause, parts=parts, outcome=outcome, note=f"更换{part}"))
            session.add(MaintenanceRecord(terminal_id=terminal.id, ticket_id=ticket.id, technician=tech.username,
                                          requested_at=opened, finished_at=finished, corrective=True,
                                          cause=cause, work=f"更换{part}", parts=parts, minutes=40, cost_fen=cost,
                                          outcome=outcome))
        if status is TicketStatus.ACCEPTED:
            ticket.accepted_at = now - timedelta(hours=1)
        if status is TicketStatus.CANCELLED:
            ticket.closed_at = now - timedelta(days=1)
        ticket.respond_breached = ticket.responded_at is None and ticket.respond_by < now
        ticket.resolve_breached = ticket.repaired_at is None and ticket.resolve_by is not None \
            and ticket.resolve_by < now
        session.add(ticket)
        session.flush()
        if extra.get("loaner"):
            loaner = loaners[0]
            device = session.get(Terminal, loaner.terminal_id)
            assert device is not None
            device.merchant_id, device.mid = terminal.merchant_id, terminal.mid
            session.add(LoanerReservation(loaner_id=loaner.id, ticket_id=ticket.id, begins_on=opened.date(),
                                          ends_on=(now + timedelta(days=4)).date(), status=LoanStatus.OUT,
                                          reserved_by="agent", handed_over_at=opened + timedelta(hours=3)))
    session.flush()
    return len(plan)
