"""Use cases of repairs: open a ticket (by hand or from an escalated diagnosis), move, assign and work it, accept it.

The rules live in the pure modules (``lifecycle`` decides who may move what, ``sla`` computes
business-time deadlines, ``loans`` when two reservations clash, ``reliability`` MTTR/MTBF); this
module joins them with storage. Each use case is one transaction with its audit entries and the
notice to the merchant. A ticket is locked (``FOR UPDATE``) before it moves, so two technicians
acting at once leave one move and a 409 for the other.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from posops.core import audit
from posops.core import documents as storage
from posops.core.audit import AuditEntity
from posops.core.auth import Principal, Role, require_role, scoped
from posops.core.config import get_settings
from posops.core.db import Database, conflict_on_duplicate, utcnow
from posops.core.documents import DocumentOut
from posops.core.errors import Conflict, Invalid, NotFound, excerpt
from posops.core.labels import Label, catalog_label, catalog_sentence, said
from posops.core.models import StoredDocument, User
from posops.core.paging import Page, check_page, paginate
from posops.iso8583.models import TerminalTrafficRecord
from posops.reactivation import service as reactivation
from posops.telemetry.models import HeartbeatRecord
from posops.terminals import notices
from posops.terminals import service as terminals
from posops.terminals.lifecycle import STATUS_LABELS as TERMINAL_STATUS_LABELS
from posops.terminals.lifecycle import SuspensionReason, TerminalStatus
from posops.terminals.models import Merchant, Terminal
from posops.tickets import lifecycle as rules
from posops.tickets import reliability as figures
from posops.tickets.lifecycle import STATUS_LABELS, Channel, Outcome, TicketStatus
from posops.tickets.loans import HOLDING, LoanStatus, overlaps
from posops.tickets.models import (
    Loaner,
    LoanerReservation,
    MaintenanceRecord,
    TechnicianProfile,
    Ticket,
    WorkEntry,
)
from posops.tickets.schemas import (
    AcceptIn,
    AssignIn,
    DueWithin,
    LoanerIn,
    LoanerOut,
    MaintenanceOut,
    PartOut,
    PriorityIn,
    ProofOut,
    ReliabilityOut,
    ReservationIn,
    ReservationOut,
    SlaOut,
    TechnicianIn,
    TechnicianOut,
    TicketFilters,
    TicketIn,
    TicketOut,
    TransitionIn,
    WorkIn,
    WorkOut,
)
from posops.tickets.sla import DEFAULT_TARGETS, BusinessCalendar, Priority, SlaClock, load_calendar, rebind

READERS = (Role.MERCHANT, Role.AGENT, Role.RISK, Role.TECHNICIAN, Role.ADMIN)
OPENERS = (Role.MERCHANT, Role.AGENT, Role.ADMIN)
DESK = (Role.AGENT, Role.ADMIN)
OWNER = AuditEntity.TICKET
SLA_SCAN = Principal(user_id=None, username="sla-scan", role=Role.SYSTEM)
RECENT_TRAFFIC = 3
PROOF_HEARTBEATS = 200
MAX_DOCUMENT_NAME = 64


@lru_cache
def calendar() -> BusinessCalendar:
    """The business calendar SLAs run on (kb/business_calendar.yaml), read once."""
    return load_calendar()


# reading -------------------------------------------------------------------------------------


def _visible(query: Select[Any], principal: Principal) -> Select[Any]:
    """Merchants see their own tickets, technicians those assigned to them, the desk every ticket."""
    query = scoped(query, principal, Ticket.merchant_id)
    if principal.role is Role.TECHNICIAN:
        query = query.where(Ticket.assignee_user_id == principal.user_id)
    return query


def _load(session: Session, principal: Principal, ticket_id: int, *, lock: bool = False) -> Ticket:
    require_role(principal, *READERS)
    query = _visible(select(Ticket).where(Ticket.id == ticket_id), principal)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    ticket = session.scalar(query)
    if ticket is None:
        raise NotFound(key="tickets.error.not_found")
    return ticket


def _status(ticket: Ticket) -> Label:
    """A ticket's status as a refusal names it: the console's word in zh-CN, the API's value in English."""
    status = TicketStatus(ticket.status)
    return Label(STATUS_LABELS[status].zh, status.value)


def _loan_status(row: LoanerReservation) -> Label:
    """A reservation's status as a refusal names it: the console's word in zh-CN, the API's value in English."""
    return Label(catalog_label(f"tickets.loan.{LoanStatus(row.status).value}").zh, LoanStatus(row.status).value)


def _is_assignee(principal: Principal, ticket: Ticket) -> bool:
    return principal.user_id is not None and ticket.assignee_user_id == principal.user_id


def _clock(ticket: Ticket) -> SlaClock:
    return SlaClock(started_at=ticket.sla_started_at, paused_minutes=ticket.sla_paused_minutes,
                    paused_since=ticket.sla_paused_since)


def _sla_out(ticket: Ticket) -> SlaOut:
    return SlaOut(priority=Priority(ticket.priority), respond_by=ticket.respond_by, resolve_by=ticket.resolve_by,
                  responded_at=ticket.responded_at, repaired_at=ticket.repaired_at,
                  respond_breached=ticket.respond_breached, resolve_breached=ticket.resolve_breached,
                  paused=ticket.sla_paused_since is not None, paused_minutes=ticket.sla_paused_minutes)


def _parts(parts: Sequence[dict[str, Any]]) -> list[PartOut]:
    return [PartOut(name=p["name"], quantity=int(p["quantity"]), unit_cost_fen=int(p["unit_cost_fen"]),
                    cost_fen=int(p["quantity"]) * int(p["unit_cost_fen"])) for p in parts]


def _reservation_out(session: Session, row: LoanerReservation) -> ReservationOut:
    loaner = session.get(Loaner, row.loaner_id)
    device = session.get(Terminal, loaner.terminal_id) if loaner is not None else None
    assert device is not None
    return ReservationOut(id=row.id, loaner_id=row.loaner_id, ticket_id=row.ticket_id,
                          loaner_serial_number=device.serial_number, loaner_tid=device.tid,
                          begins_on=row.begins_on, ends_on=row.ends_on, status=LoanStatus(row.status),
                          reserved_by=row.reserved_by, handed_over_at=row.handed_over_at,
                          returned_at=row.returned_at)


def _documents(session: Session, ticket_id: int) -> list[StoredDocument]:
    return list(session.scalars(select(StoredDocument).where(StoredDocument.owner_type == OWNER,
                                                             StoredDocument.owner_id == ticket_id)
                                .order_by(StoredDocument.id)))


def _out(session: Session, principal: Principal, ticket: Ticket) -> TicketOut:
    terminal = session.get(Terminal, ticket.terminal_id)
    merchant = session.get(Merchant, ticket.merchant_id)
    assert terminal is not None and merchant is not None
    work = session.scalars(select(WorkEntry).where(WorkEntry.ticket_id == ticket.id).order_by(WorkEntry.id))
    loans = session.scalars(select(LoanerReservation).where(LoanerReservation.ticket_id == ticket.id)
                            .order_by(LoanerReservation.id))
    proof = ProofOut.model_validate(ticket.acceptance_proof) if ticket.acceptance_proof else None
    if proof is None and ticket.status == TicketStatus.REPAIRED and ticket.repaired_at is not None:
        proof = _proof(session, terminal, ticket.repaired_at)
    return TicketOut(
        id=ticket.id, terminal_id=terminal.id, serial_number=terminal.serial_number, tid=terminal.tid,
        model=terminal.model, merchant_id=merchant.id, merchant_name=merchant.name, diagnosis_id=ticket.diagnosis_id,
        status=TicketStatus(ticket.status), waiting_for=rules.WaitingFor(ticket.waiting_for) if ticket.waiting_for
        else None, priority=Priority(ticket.priority), channel=Channel(ticket.channel), symptom=ticket.symptom,
        suspected_cause=ticket.suspected_cause, description=ticket.description, prefill=ticket.prefill,
        materials=ticket.materials, in_warranty=ticket.in_warranty, region=ticket.region, opened_by=ticket.opened_by,
        assignee=ticket.assignee, scheduled_for=ticket.scheduled_for, sla=_sla_out(ticket),
        allowed=rules.allowed_targets(ticket.status, principal.role.value, assignee=_is_assignee(principal, ticket)),
        work=[WorkOut(id=w.id, technician=w.technician, at=w.at, minutes=w.minutes, confirmed_cause=w.confirmed_cause,
                      parts=_parts(w.parts), outcome=Outcome(w.outcome) if w.outcome else None, note=w.note)
              for w in work],
        reservations=[_reservation_out(session, r) for r in loans],
        documents=[DocumentOut.model_validate(d) for d in _documents(session, ticket.id)],
        proof=proof, created_at=ticket.created_at, updated_at=ticket.updated_at, closed_at=ticket.closed_at)


def list_tickets(db: Database, principal: Principal, filters: TicketFilters, *, page: int = 1,
                 per_page: int = 50) -> Page[TicketOut]:
    """List the tickets the caller may see, most urgent deadline first."""
    require_role(principal, *READERS)
    check_page(page, per_page)
    query = _visible(select(Ticket), principal)
    if filters.terminal_id is not None:
        query = query.where(Ticket.terminal_id == filters.terminal_id)
    if filters.status is not None:
        query = query.where(Ticket.status == filters.status.value)
    if filters.assignee is not None:
        query = query.where(Ticket.assignee == filters.assignee)
    if filters.breached is not None:
        either = or_(Ticket.respond_breached.is_(True), Ticket.resolve_breached.is_(True))
        query = query.where(either if filters.breached else ~either)
    if filters.open is not None:
        open_values = [s.value for s in rules.OPEN_STATUSES]
        query = query.where(Ticket.status.in_(open_values) if filters.open else Ticket.status.not_in(open_values))
    if filters.due is not None:
        query = query.where(_due_within(filters.due, utcnow()))
    query = query.order_by(Ticket.resolve_by.is_(None), Ticket.resolve_by, Ticket.id.desc())
    with db.transaction() as session:
        rows, total = paginate(session, query, page, per_page)
        return Page[TicketOut](items=[_out(session, principal, t) for t in rows], total=total, page=page,
                               per_page=per_page)


def day_ends(now: datetime) -> datetime:
    """When the day of ``now`` ends in the console's time zone (POSOPS_TIMEZONE): "due today" is before it."""
    zone = ZoneInfo(get_settings().timezone)
    return datetime.combine(now.astimezone(zone).date() + timedelta(days=1), time(0), tzinfo=zone)


def _due_within(due: DueWithin, now: datetime) -> ColumnElement[bool]:
    """Open and not breached, with the next deadline (response, else repair) before today ends, or not."""
    ends = day_ends(now)
    breached = or_(Ticket.respond_breached.is_(True), Ticket.resolve_breached.is_(True))
    soon = or_(and_(Ticket.responded_at.is_(None), Ticket.respond_by < ends),
               and_(Ticket.repaired_at.is_(None), Ticket.resolve_by.is_not(None), Ticket.resolve_by < ends))
    return and_(Ticket.status.in_([s.value for s in rules.OPEN_STATUSES]), ~breached,
                soon if due is DueWithin.TODAY else ~soon)


def get_ticket(db: Database, principal: Principal, ticket_id: int) -> TicketOut:
    """One ticket with its SLA, work log, loaners, documents and what the caller may do next."""
    with db.transaction() as session:
        return _out(session, principal, _load(session, principal, ticket_id))


# opening -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiagnosisFacts:
    """What an escalated diagnosis hands to its repair ticket, so the merchant never retypes it."""

    session_id: str
    symptom: str | None
    complaint: str
    ranking: Sequence[dict[str, Any]]
    steps: Sequence[dict[str, Any]]
    evidence: dict[str, str]


def _materials(session: Session, terminal: Terminal) -> dict[str, Any]:
    """What the articles ask the merchant to supply, filled from the record and the traffic posops holds."""
    traffic = session.scalars(select(TerminalTrafficRecord).where(TerminalTrafficRecord.terminal_id == terminal.id)
                              .order_by(TerminalTrafficRecord.last_seen.desc()).limit(RECENT_TRAFFIC))
    recent = [{"last_seen": t.last_seen.isoformat(), "approved": t.summary.get("approved"),
               "last_outcome": t.last_outcome_code,
               "last_approved_transaction": t.summary.get("last_approved_transaction")} for t in traffic]
    return {"model": terminal.model, "vendor": terminal.vendor, "serial_number": terminal.serial_number,
            "tid": terminal.tid, "firmware_version": terminal.firmware_version, "app_version": terminal.app_version,
            "purchase_date": terminal.purchase_date.isoformat() if terminal.purchase_date else None,
            "warranty_end": terminal.warranty_end.isoformat() if terminal.warranty_end else None,
            "recent_traffic": recent}


def _bind_sla(ticket: Ticket, clock: SlaClock, now: datetime) -> None:
    """Set the ticket's deadlines from its priority's targets on the business calendar."""
    target = DEFAULT_TARGETS[Priority(ticket.priority)]
    ticket.sla_started_at, ticket.sla_paused_minutes = clock.started_at, clock.paused_minutes
    ticket.sla_paused_since = clock.paused_since
    ticket.respond_by = calendar().add(clock.started_at, target.respond_minutes)
    ticket.resolve_by = None if clock.paused_since is not None else clock.deadline(target.resolve_minutes,
                                                                                  calendar(), now)


def open_ticket(session: Session, principal: Principal, terminal: Terminal, *, description: str,
                symptom: str | None, channel: Channel, priority: Priority,
                diagnosis: DiagnosisFacts | None = None) -> Ticket:
    """Open a ticket for ``terminal`` in the caller's transaction (the terminal must be visible to the caller)."""
    if terminal.status == TerminalStatus.DECOMMISSIONED:
        raise Conflict(key="tickets.error.decommissioned", sn=terminal.serial_number)
    now = utcnow()
    prefill: dict[str, Any] = {}
    suspected = None
    if diagnosis is not None:
        prefill = {"diagnosis_id": diagnosis.session_id, "complaint": diagnosis.complaint,
                   "ranking": list(diagnosis.ranking)[:5], "steps": list(diagnosis.steps),
                   "evidence": dict(diagnosis.evidence)}
        suspected = diagnosis.ranking[0]["cause"] if diagnosis.ranking else None
        symptom = symptom or diagnosis.symptom
    ticket = Ticket(terminal_id=terminal.id, merchant_id=terminal.merchant_id, status=TicketStatus.NEW,
                    priority=priority, channel=channel, symptom=symptom, suspected_cause=suspected,
                    description=description, prefill=prefill, materials=_materials(session, terminal),
                    in_warranty=None if terminal.warranty_end is None else now.date() <= terminal.warranty_end,
                    region=terminal.region, opened_by=principal.username, opened_by_role=principal.role.value,
                    diagnosis_id=diagnosis.session_id if diagnosis else None)
    _bind_sla(ticket, SlaClock(started_at=now), now)
    session.add(ticket)
    with conflict_on_duplicate(key="tickets.error.diagnosis_has_ticket"):
        session.flush()
    audit.record(session, principal, OWNER, ticket.id, "open",
                 after={"terminal_id": terminal.id, "status": ticket.status, "priority": ticket.priority,
                        "diagnosis_id": ticket.diagnosis_id})
    audit.record(session, principal, AuditEntity.TERMINAL, terminal.id, "ticket_opened",
                 after={"ticket_id": ticket.id}, reason=description[:200])
    _notify(session, terminal, ticket)
    return ticket


def create_ticket(db: Database, principal: Principal, data: TicketIn) -> TicketOut:
    """Report a terminal for repair (the merchant, or the desk for it)."""
    require_role(principal, *OPENERS)
    with db.transaction() as session:
        terminal = terminals.lock_terminal(session, principal, data.terminal_id)
        ticket = open_ticket(session, principal, terminal, description=data.description, symptom=data.symptom,
                             channel=data.channel, priority=data.priority)
        return _out(session, principal, ticket)


def ticket_for_diagnosis(session: Session, diagnosis_id: str) -> int | None:
    """The id of the ticket opened from a diagnosis session, if any (read in the caller's transaction)."""
    return session.scalar(select(Ticket.id).where(Ticket.diagnosis_id == diagnosis_id))


def open_for_diagnosis(session: Session, principal: Principal, terminal: Terminal, facts: DiagnosisFacts) -> int:
    """Open (once) the repair ticket of an escalated diagnosis in the caller's transaction; return its id."""
    existing = ticket_for_diagnosis(session, facts.session_id)
    if existing is not None:
        return existing
    description = facts.complaint.strip() or "—"
    return open_ticket(session, principal, terminal, description=description[:2000], symptom=facts.symptom,
                       channel=Channel.ONSITE, priority=Priority.HIGH, diagnosis=facts).id


# moving --------------------------------------------------------------------------------------


def _notify(session: Session, terminal: Terminal, ticket: Ticket) -> None:
    """Tell the merchant where its repair stands now."""
    status = STATUS_LABELS[TicketStatus(ticket.status)]
    title = catalog_sentence("tickets.notice.title", ticket=ticket.id, status=status)
    body = catalog_sentence(f"tickets.notice.{ticket.status}", ticket=ticket.id, tid=terminal.tid,
                            technician=ticket.assignee or "")
    terminals.notify_merchant(session, terminal, f"ticket_{ticket.status}",
                              notices.MerchantNotice(title_zh=title.zh, body_zh=body.zh, title_en=title.en,
                                                     body_en=body.en))


def _snapshot(ticket: Ticket) -> dict[str, Any]:
    return {"status": ticket.status, "waiting_for": ticket.waiting_for, "assignee": ticket.assignee,
            "priority": ticket.priority}


def _pick_technician(session: Session, ticket: Ticket) -> User:
    """The active technician of the ticket's region with the fewest open tickets (any region if none covers it)."""
    load = (select(Ticket.assignee_user_id, func.count().label("n"))
            .where(Ticket.status.in_([s.value for s in rules.OPEN_STATUSES]))
            .group_by(Ticket.assignee_user_id).subquery())
    rows = session.execute(select(User, TechnicianProfile.regions, func.coalesce(load.c.n, 0))
                           .join(TechnicianProfile, TechnicianProfile.user_id == User.id, isouter=True)
                           .join(load, load.c.assignee_user_id == User.id, isouter=True)
                           .where(User.role == Role.TECHNICIAN.value, User.active.is_(True),
                                  or_(TechnicianProfile.active.is_(None), TechnicianProfile.active.is_(True)))
                           .order_by(User.id)).all()
    if not rows:
        raise Conflict(key="tickets.error.no_technician")
    local = [r for r in rows if ticket.region and ticket.region in (r[1] or [])]
    best = min(local or rows, key=lambda r: (r[2], r[0].username))
    return best[0]


def _technician(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None or user.role != Role.TECHNICIAN.value or not user.active:
        raise Invalid("technician", key="tickets.error.not_a_technician", username=excerpt(username))
    return user


def _assign(session: Session, principal: Principal, ticket: Ticket, technician: str | None) -> None:
    user = _technician(session, technician) if technician else _pick_technician(session, ticket)
    ticket.assignee_user_id, ticket.assignee = user.id, user.username


def _move(session: Session, principal: Principal, ticket: Ticket, data: TransitionIn) -> None:
    """Take one step of the lifecycle with its side effects on the SLA clock, records and loaners."""
    move = rules.decide(ticket.status, principal.role.value, data.to, assignee=_is_assignee(principal, ticket),
                        waiting_for=data.waiting_for)
    now, before = utcnow(), _snapshot(ticket)
    clock = _clock(ticket)
    if move.responds:
        _assign(session, principal, ticket, data.technician)
        if ticket.responded_at is None:
            ticket.responded_at = now
    if move.to_status is TicketStatus.SCHEDULED:
        ticket.scheduled_for = data.scheduled_for
    if move.pauses_sla:
        clock = clock.pause(now, calendar())
    if move.resumes_sla:
        clock = clock.resume(now, calendar())
    ticket.waiting_for = move.waiting_for.value if move.waiting_for else None
    ticket.status = move.to_status.value
    if move.finishes and ticket.repaired_at is None:
        ticket.repaired_at = now
    if move.to_status in (TicketStatus.REPAIRED, TicketStatus.NOT_REPAIRABLE, TicketStatus.REPLACED):
        _write_maintenance(session, principal, ticket, now)
    if move.to_status is TicketStatus.REPLACED and data.replacement is not None:
        _replace(session, principal, ticket, data)
    if move.to_status is TicketStatus.CLOSED or move.to_status is TicketStatus.CANCELLED:
        ticket.closed_at = now
        _release_loaners(session, principal, ticket, now)
    _bind_sla(ticket, clock, now)
    session.flush()
    audit.record(session, principal, OWNER, ticket.id, f"move.{move.to_status}", before=before,
                 after=_snapshot(ticket), reason=data.note or None)
    terminal = session.get(Terminal, ticket.terminal_id)
    assert terminal is not None
    _notify(session, terminal, ticket)


def _replace(session: Session, principal: Principal, ticket: Ticket, data: TransitionIn) -> None:
    """Swap the device: the new one takes the TID, and the ticket follows it to acceptance."""
    assert data.replacement is not None
    old = terminals.lock_terminal(session, principal, ticket.terminal_id)
    new = terminals.replace_device(session, principal, old, serial_number=data.replacement.serial_number,
                                   model=data.replacement.model, vendor=data.replacement.vendor,
                                   why=said("terminals.audit.replaced_under_ticket", number=ticket.id))
    ticket.terminal_id = new.id
    ticket.materials = {**ticket.materials, "replaced_serial_number": old.serial_number,
                        "serial_number": new.serial_number, "model": new.model}


def transition(db: Database, principal: Principal, ticket_id: int, data: TransitionIn) -> TicketOut:
    """Move a ticket to ``data.to``; 409 (with what is allowed) when the lifecycle refuses."""
    with db.transaction() as session:
        ticket = _load(session, principal, ticket_id, lock=True)
        if data.to is TicketStatus.ACCEPTED:
            _accept(session, principal, ticket, AcceptIn(accepted=True, note=data.note))
        else:
            _move(session, principal, ticket, data)
        return _out(session, principal, ticket)


def assign(db: Database, principal: Principal, ticket_id: int, data: AssignIn) -> TicketOut:
    """Assign a ticket (picking by region and load when no technician is named) or re-assign it."""
    require_role(principal, *DESK)
    with db.transaction() as session:
        ticket = _load(session, principal, ticket_id, lock=True)
        if TicketStatus(ticket.status) in (TicketStatus.NEW, TicketStatus.TRIAGED):
            _move(session, principal, ticket, TransitionIn(to=TicketStatus.ASSIGNED, technician=data.technician,
                                                           note=data.note))
        elif TicketStatus(ticket.status) in rules.OPEN_STATUSES:
            before = _snapshot(ticket)
            _assign(session, principal, ticket, data.technician)
            audit.record(session, principal, OWNER, ticket.id, "reassign", before=before, after=_snapshot(ticket),
                         reason=data.note or None)
        else:
            raise Conflict(key="tickets.error.not_assignable", ticket=ticket.id, status=_status(ticket))
        return _out(session, principal, ticket)


def change_priority(db: Database, principal: Principal, ticket_id: int, data: PriorityIn) -> TicketOut:
    """Change the priority: the SLA is re-bound to the new targets, keeping the time already paused."""
    require_role(principal, *DESK)
    with db.transaction() as session:
        ticket = _load(session, principal, ticket_id, lock=True)
        if TicketStatus(ticket.status) not in rules.OPEN_STATUSES:
            raise Conflict(key="tickets.error.sla_over", ticket=ticket.id, status=_status(ticket))
        before = {**_snapshot(ticket), "respond_by": ticket.respond_by.isoformat(),
                  "resolve_by": ticket.resolve_by.isoformat() if ticket.resolve_by else None}
        ticket.priority = data.priority.value
        _bind_sla(ticket, rebind(_clock(ticket)), utcnow())
        session.flush()
        audit.record(session, principal, OWNER, ticket.id, "priority", before=before,
                     after={**_snapshot(ticket), "respond_by": ticket.respond_by.isoformat(),
                            "resolve_by": ticket.resolve_by.isoformat() if ticket.resolve_by else None,
                            "paused_minutes": ticket.sla_paused_minutes}, reason=data.note or None)
        return _out(session, principal, ticket)


# work and records ----------------------------------------------------------------------------


def record_work(db: Database, principal: Principal, ticket_id: int, data: WorkIn) -> TicketOut:
    """Add a work-log entry: time, the cause found (it becomes the ticket's confirmed cause), parts, outcome."""
    require_role(principal, Role.TECHNICIAN, *DESK)
    with db.transaction() as session:
        ticket = _load(session, principal, ticket_id, lock=True)
        if principal.role is Role.TECHNICIAN and not _is_assignee(principal, ticket):
            raise NotFound(key="tickets.error.not_found")
        if TicketStatus(ticket.status) not in rules.OPEN_STATUSES:
            raise Conflict(key="tickets.error.work_log_closed", ticket=ticket.id, status=_status(ticket))
        entry = WorkEntry(ticket_id=ticket.id, technician=principal.username, minutes=data.minutes,
                          confirmed_cause=data.confirmed_cause, parts=[p.model_dump() for p in data.parts],
                          outcome=data.outcome.value if data.outcome else None, note=data.note)
        session.add(entry)
        session.flush()
        audit.record(session, principal, OWNER, ticket.id, "work",
                     after={"work_id": entry.id, "minutes": entry.minutes, "confirmed_cause": entry.confirmed_cause,
                            "parts": entry.parts, "outcome": entry.outcome}, reason=data.note or None)
        return _out(session, principal, ticket)


def _work(session: Session, ticket_id: int) -> list[WorkEntry]:
    return list(session.scalars(select(WorkEntry).where(WorkEntry.ticket_id == ticket_id).order_by(WorkEntry.id)))


def confirmed_cause(session: Session, ticket: Ticket) -> str | None:
    """The cause the technician found (the latest one recorded), else None."""
    found = [w.confirmed_cause for w in _work(session, ticket.id) if w.confirmed_cause]
    return found[-1] if found else None


def confirmed_causes(session: Session, diagnosis_ids: Sequence[str]) -> dict[str, str]:
    """The cause a technician found on the ticket of each escalated diagnosis that has one (read only)."""
    if not diagnosis_ids:
        return {}
    rows = session.execute(select(Ticket.diagnosis_id, WorkEntry.confirmed_cause)
                           .join(WorkEntry, WorkEntry.ticket_id == Ticket.id)
                           .where(Ticket.diagnosis_id.in_(diagnosis_ids), WorkEntry.confirmed_cause.is_not(None))
                           .order_by(WorkEntry.id))
    return {diagnosis: cause for diagnosis, cause in rows if diagnosis is not None and cause is not None}


_OUTCOME_OF = {TicketStatus.REPAIRED: Outcome.REPAIRED, TicketStatus.NOT_REPAIRABLE: Outcome.NOT_REPAIRED,
               TicketStatus.REPLACED: Outcome.REPLACED}


def _write_maintenance(session: Session, principal: Principal, ticket: Ticket, now: datetime) -> None:
    """Write (or complete) the terminal's maintenance record of this repair from the work log."""
    work = _work(session, ticket.id)
    parts = [p for w in work for p in w.parts]
    cause = confirmed_cause(session, ticket) or ticket.suspected_cause
    record = session.scalar(select(MaintenanceRecord).where(MaintenanceRecord.ticket_id == ticket.id))
    values = {"technician": ticket.assignee or (work[-1].technician if work else principal.username),
              "finished_at": now, "corrective": True, "cause": cause,
              "work": "\n".join(w.note for w in work if w.note)[:4000], "parts": parts,
              "minutes": sum(w.minutes for w in work),
              "cost_fen": sum(int(p["quantity"]) * int(p["unit_cost_fen"]) for p in parts),
              "outcome": _OUTCOME_OF[TicketStatus(ticket.status)].value}
    if record is None:
        record = MaintenanceRecord(terminal_id=ticket.terminal_id, ticket_id=ticket.id,
                                   requested_at=ticket.created_at, **values)
        session.add(record)
    else:
        for key, value in values.items():
            setattr(record, key, value)
    session.flush()
    audit.record(session, principal, AuditEntity.TERMINAL, ticket.terminal_id, "maintenance",
                 after={"ticket_id": ticket.id, "outcome": record.outcome, "cause": record.cause,
                        "cost_fen": record.cost_fen, "minutes": record.minutes})


def maintenance(db: Database, principal: Principal, terminal_id: int) -> list[MaintenanceOut]:
    """A terminal's maintenance records (维修记录), newest first."""
    require_role(principal, *READERS)
    with db.transaction() as session:
        terminals.load_terminal(session, principal, terminal_id)
        rows = session.scalars(select(MaintenanceRecord).where(MaintenanceRecord.terminal_id == terminal_id)
                               .order_by(MaintenanceRecord.finished_at.desc(), MaintenanceRecord.id.desc()))
        return [MaintenanceOut(id=r.id, terminal_id=r.terminal_id, ticket_id=r.ticket_id, technician=r.technician,
                               requested_at=r.requested_at, finished_at=r.finished_at, corrective=r.corrective,
                               cause=r.cause, work=r.work, parts=_parts(r.parts), minutes=r.minutes,
                               cost_fen=r.cost_fen, outcome=Outcome(r.outcome)) for r in rows]


def reliability(db: Database, principal: Principal, group_by: figures.GroupBy, *, days: int = 365,
                now: datetime | None = None) -> ReliabilityOut:
    """MTTR and MTBF over the last ``days`` days, per terminal, model or region, from the maintenance records."""
    require_role(principal, *DESK, Role.TECHNICIAN, Role.RISK)
    if not 1 <= days <= 3660:
        raise Invalid("days", key="tickets.error.days", min=1, max=3660)
    end = now or utcnow()
    start = end - timedelta(days=days)
    with db.transaction() as session:
        fleet = session.scalars(select(Terminal).where(~Terminal.id.in_(select(Loaner.terminal_id))))
        periods = [figures.ServicePeriod(terminal_id=t.id, model=t.model, region=t.region,
                                         in_service_from=_in_service_since(t),
                                         in_service_to=t.updated_at if t.status == TerminalStatus.DECOMMISSIONED
                                         else None) for t in fleet]
        known = {p.terminal_id for p in periods}
        records = session.scalars(select(MaintenanceRecord).where(MaintenanceRecord.terminal_id.in_(known)))
        repairs = [figures.Repair(terminal_id=r.terminal_id, requested_at=r.requested_at,
                                  repaired_at=r.finished_at if r.outcome != Outcome.NOT_REPAIRED else None,
                                  corrective=r.corrective) for r in records]
        groups = figures.reliability(periods, repairs, group_by=group_by, window_start=start, window_end=end)
    return ReliabilityOut(group_by=group_by, window_start=start, window_end=end, definitions=figures.DEFINITIONS,
                          groups=[g.__dict__ for g in groups])


def _in_service_since(terminal: Terminal) -> datetime:
    """When a terminal started operating: activation, else its purchase day, else its registration."""
    if terminal.activated_at is not None:
        return terminal.activated_at
    if terminal.purchase_date is not None:
        return min(datetime.combine(terminal.purchase_date, time(), UTC), terminal.created_at)
    return terminal.created_at


# acceptance ----------------------------------------------------------------------------------


def _proof(session: Session, terminal: Terminal, since: datetime) -> ProofOut | None:
    """The first sign-in or payment after ``since`` that posops saw: in imported traffic or in heartbeats."""
    found: list[ProofOut] = []
    traffic = session.scalars(select(TerminalTrafficRecord).where(TerminalTrafficRecord.terminal_id == terminal.id,
                                                                  TerminalTrafficRecord.last_seen > since))
    for record in traffic:
        sign_in = _instant((record.summary.get("sign_ins") or {}).get("last_successful"))
        if sign_in is not None and sign_in > since:
            found.append(ProofOut(kind="sign_in", at=sign_in, source="iso8583"))
        if record.last_approved_transaction_at is not None and record.last_approved_transaction_at > since:
            found.append(ProofOut(kind="transaction", at=record.last_approved_transaction_at, source="iso8583"))
    beats = session.scalars(select(HeartbeatRecord.payload).where(HeartbeatRecord.terminal_id == terminal.id,
                                                                  HeartbeatRecord.received_at > since)
                            .order_by(HeartbeatRecord.received_at).limit(PROOF_HEARTBEATS))
    for payload in beats:
        sign_in_report = _json_object(payload).get("last_signin")
        if isinstance(sign_in_report, dict) and sign_in_report.get("ok") is True:
            at = _instant(sign_in_report.get("at"))
            if at is not None and at > since:
                found.append(ProofOut(kind="sign_in", at=at, source="telemetry"))
    return min(found, key=lambda p: p.at) if found else None


def _instant(value: Any) -> datetime | None:
    """An aware datetime from an ISO string, or None when it is missing or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _accept(session: Session, principal: Principal, ticket: Ticket, data: AcceptIn) -> None:
    terminal = session.get(Terminal, ticket.terminal_id)
    assert terminal is not None
    if not data.accepted:
        _move(session, principal, ticket, TransitionIn(to=TicketStatus.IN_REPAIR, note=data.note))
        return
    proof = _proof(session, terminal, ticket.repaired_at) if ticket.repaired_at else None
    _move(session, principal, ticket, TransitionIn(to=TicketStatus.ACCEPTED, note=data.note))
    ticket.accepted_at = utcnow()
    ticket.acceptance_proof = proof.model_dump(mode="json") if proof else None
    _release_loaners(session, principal, ticket, ticket.accepted_at)
    if terminal.status == TerminalStatus.SUSPENDED and terminal.status_reason == SuspensionReason.DEVICE_FAULT:
        locked = terminals.lock_terminal(session, principal, terminal.id)
        reactivation.reactivate_after_repair(session, principal, locked, ticket.id)


def accept(db: Database, principal: Principal, ticket_id: int, data: AcceptIn) -> TicketOut:
    """The merchant accepts the repair (测试与验收), or sends it back; acceptance lifts a device-fault suspension."""
    with db.transaction() as session:
        ticket = _load(session, principal, ticket_id, lock=True)
        _accept(session, principal, ticket, data)
        return _out(session, principal, ticket)


# documents -----------------------------------------------------------------------------------


def upload_document(db: Database, principal: Principal, var_dir: Path, ticket_id: int, name: str, filename: str,
                    content_type: str, content: bytes) -> DocumentOut:
    """Attach a document (purchase proof, warranty card, photo of the fault) to a ticket."""
    require_role(principal, *OPENERS, Role.TECHNICIAN)
    name = name.strip()
    if not 1 <= len(name) <= MAX_DOCUMENT_NAME:
        raise Invalid("name", key="tickets.error.document_name", max=MAX_DOCUMENT_NAME)
    shown = storage.accepted_name(filename, content_type, content)
    saved = storage.save(var_dir, f"tickets/{ticket_id}", content, Path(shown).suffix)
    with storage.kept_only_if_committed(var_dir, saved), db.transaction() as session:
        ticket = _load(session, principal, ticket_id, lock=True)
        document = storage.record(session, principal, OWNER, ticket.id, name, shown, content_type, saved)
        audit.record(session, principal, OWNER, ticket.id, "document.upload",
                     after={"document_id": document.id, "name": name, "filename": shown, "sha256": saved.sha256})
        return DocumentOut.model_validate(document)


def document_file(db: Database, principal: Principal, var_dir: Path, ticket_id: int,
                  document_id: int) -> tuple[Path, DocumentOut]:
    """Locate a ticket's document for download (visible like the ticket)."""
    with db.transaction() as session:
        _load(session, principal, ticket_id)
        document = storage.owned(session, OWNER, ticket_id, document_id)
        return storage.locate(var_dir, document.path), DocumentOut.model_validate(document)


# loaners -------------------------------------------------------------------------------------


def _loaner_out(session: Session, loaner: Loaner) -> LoanerOut:
    device = session.get(Terminal, loaner.terminal_id)
    assert device is not None
    reservations = list(session.scalars(select(LoanerReservation).where(LoanerReservation.loaner_id == loaner.id)
                                        .order_by(LoanerReservation.begins_on)))
    return LoanerOut(id=loaner.id, terminal_id=device.id, serial_number=device.serial_number, tid=device.tid,
                     model=device.model, region=loaner.region, note=loaner.note,
                     on_loan_to=device.merchant_id if device.merchant_id != loaner.pool_merchant_id else None,
                     reservations=[_reservation_out(session, r) for r in reservations])


def loaner_free(session: Session, day: date) -> bool:
    """Whether some loaner of the pool is not held on ``day`` (read in the caller's transaction)."""
    held = select(LoanerReservation.loaner_id).where(LoanerReservation.status.in_([s.value for s in HOLDING]),
                                                     LoanerReservation.begins_on <= day,
                                                     LoanerReservation.ends_on >= day)
    return session.scalar(select(Loaner.id).where(Loaner.id.not_in(held)).limit(1)) is not None


def add_loaner(db: Database, principal: Principal, data: LoanerIn) -> LoanerOut:
    """Put a terminal held by the provider's own pool account into the loaner pool."""
    require_role(principal, *DESK)
    with db.transaction() as session:
        device = terminals.lock_terminal(session, principal, data.terminal_id)
        if device.status != TerminalStatus.ACTIVE:
            status = TerminalStatus(device.status)
            raise Conflict(key="tickets.error.loaner_not_active", sn=device.serial_number,
                           status=Label(TERMINAL_STATUS_LABELS[status].zh, status.value))
        loaner = Loaner(terminal_id=device.id, pool_merchant_id=device.merchant_id, home_mid=device.mid,
                        region=data.region or device.region, note=data.note)
        session.add(loaner)
        with conflict_on_duplicate(key="tickets.error.already_loaner", sn=device.serial_number):
            session.flush()
        audit.record(session, principal, AuditEntity.TERMINAL, device.id, "loaner_added",
                     after={"loaner_id": loaner.id, "pool_merchant_id": loaner.pool_merchant_id})
        return _loaner_out(session, loaner)


def list_loaners(db: Database, principal: Principal) -> list[LoanerOut]:
    """The loaner pool with each device's reservations."""
    require_role(principal, *DESK, Role.TECHNICIAN)
    with db.transaction() as session:
        return [_loaner_out(session, loaner) for loaner in session.scalars(select(Loaner).order_by(Loaner.id))]


def _clashes(session: Session, loaner_id: int, begins: date, ends: date) -> list[LoanerReservation]:
    held = session.scalars(select(LoanerReservation).where(LoanerReservation.loaner_id == loaner_id,
                                                           LoanerReservation.status.in_([s.value for s in HOLDING])))
    return [r for r in held if overlaps(begins, ends, r.begins_on, r.ends_on)]


def reserve(db: Database, principal: Principal, data: ReservationIn) -> ReservationOut:
    """Hold a loaner for a ticket's dates; 409 when the named loaner is taken then (or none is free)."""
    require_role(principal, *DESK)
    with db.transaction() as session:
        ticket = _load(session, principal, data.ticket_id, lock=True)
        if TicketStatus(ticket.status) not in rules.OPEN_STATUSES:
            raise Conflict(key="tickets.error.needs_no_loaner", ticket=ticket.id, status=_status(ticket))
        if data.loaner_id is not None:
            candidates = [session.scalar(select(Loaner).where(Loaner.id == data.loaner_id).with_for_update())]
            if candidates[0] is None:
                raise NotFound(key="tickets.error.loaner_not_found")
        else:
            pool = session.scalars(select(Loaner).order_by(Loaner.region != ticket.region, Loaner.id).with_for_update())
            candidates = list(pool)
        for loaner in candidates:
            assert loaner is not None
            clash = _clashes(session, loaner.id, data.begins_on, data.ends_on)
            if not clash:
                break
            if data.loaner_id is not None:
                other = clash[0]
                device = session.get(Terminal, loaner.terminal_id)
                assert device is not None
                raise Conflict(key="tickets.error.loaner_taken", loaner_id=loaner.id, sn=device.serial_number,
                               other=other.ticket_id, begins=other.begins_on, ends=other.ends_on)
        else:
            raise Conflict(key="tickets.error.no_loaner_free", begins=data.begins_on, ends=data.ends_on)
        row = LoanerReservation(loaner_id=loaner.id, ticket_id=ticket.id, begins_on=data.begins_on,
                                ends_on=data.ends_on, status=LoanStatus.RESERVED, reserved_by=principal.username)
        session.add(row)
        session.flush()
        audit.record(session, principal, OWNER, ticket.id, "loaner.reserve",
                     after={"reservation_id": row.id, "loaner_id": loaner.id, "begins_on": str(data.begins_on),
                            "ends_on": str(data.ends_on)})
        return _reservation_out(session, row)


def _lock_reservation(session: Session, principal: Principal, reservation_id: int) -> tuple[LoanerReservation, Ticket]:
    require_role(principal, *DESK, Role.TECHNICIAN)
    row = session.get(LoanerReservation, reservation_id)
    if row is None:
        raise NotFound(key="tickets.error.reservation_not_found")
    ticket = _load(session, principal, row.ticket_id, lock=True)
    locked = session.scalar(select(LoanerReservation).where(LoanerReservation.id == reservation_id)
                            .with_for_update().execution_options(populate_existing=True))
    assert locked is not None
    return locked, ticket


def hand_over_loaner(db: Database, principal: Principal, reservation_id: int) -> ReservationOut:
    """Give the loaner to the merchant: its TID is bound to the merchant for the loan (audited)."""
    with db.transaction() as session:
        row, ticket = _lock_reservation(session, principal, reservation_id)
        if row.status != LoanStatus.RESERVED:
            raise Conflict(key="tickets.error.not_reserved", reservation=row.id, status=_loan_status(row))
        loaner = session.get(Loaner, row.loaner_id)
        customer = session.get(Terminal, ticket.terminal_id)
        assert loaner is not None and customer is not None
        device = terminals.lock_terminal(session, principal, loaner.terminal_id)
        terminals.lend_terminal(session, principal, device, merchant_id=ticket.merchant_id, mid=customer.mid,
                                why=said("terminals.audit.lent_for_ticket", number=ticket.id))
        row.status, row.handed_over_at = LoanStatus.OUT.value, utcnow()
        session.flush()
        audit.record(session, principal, OWNER, ticket.id, "loaner.hand_over",
                     after={"reservation_id": row.id, "loaner_tid": device.tid})
        terminals.notify_merchant(session, customer, "loaner_out", _loaner_notice(ticket, device))
        return _reservation_out(session, row)


def _loaner_notice(ticket: Ticket, device: Terminal) -> notices.MerchantNotice:
    title = catalog_sentence("tickets.notice.loaner_title", ticket=ticket.id)
    body = catalog_sentence("tickets.notice.loaner_body", ticket=ticket.id, sn=device.serial_number, tid=device.tid)
    return notices.MerchantNotice(title_zh=title.zh, body_zh=body.zh, title_en=title.en, body_en=body.en)


def _return(session: Session, principal: Principal, row: LoanerReservation, now: datetime) -> None:
    loaner = session.get(Loaner, row.loaner_id)
    assert loaner is not None
    if row.status == LoanStatus.OUT:
        device = terminals.lock_terminal(session, principal, loaner.terminal_id)
        terminals.lend_terminal(session, principal, device, merchant_id=loaner.pool_merchant_id, mid=loaner.home_mid,
                                why=said("terminals.audit.loaner_returned", number=row.ticket_id))
        row.status, row.returned_at = LoanStatus.RETURNED.value, now
    elif row.status == LoanStatus.RESERVED:
        row.status = LoanStatus.CANCELLED.value
    session.flush()
    audit.record(session, principal, OWNER, row.ticket_id, f"loaner.{row.status}", after={"reservation_id": row.id})


def _release_loaners(session: Session, principal: Principal, ticket: Ticket, now: datetime) -> None:
    """Take back every loaner of the ticket (at acceptance or when the ticket closes)."""
    held = session.scalars(select(LoanerReservation).where(LoanerReservation.ticket_id == ticket.id,
                                                           LoanerReservation.status.in_([s.value for s in HOLDING]))
                           .with_for_update())
    for row in list(held):
        _return(session, principal, row, now)


def return_loaner(db: Database, principal: Principal, reservation_id: int) -> ReservationOut:
    """Take a loaner back into the pool (or cancel a reservation not yet handed over)."""
    with db.transaction() as session:
        row, _ = _lock_reservation(session, principal, reservation_id)
        if row.status not in HOLDING:
            raise Conflict(key="tickets.error.reservation_over", reservation=row.id, status=_loan_status(row))
        _return(session, principal, row, utcnow())
        return _reservation_out(session, row)


# technicians ---------------------------------------------------------------------------------


def _technician_out(session: Session, user: User) -> TechnicianOut:
    profile = session.get(TechnicianProfile, user.id)
    load = session.scalar(select(func.count(Ticket.id)).where(
        Ticket.assignee_user_id == user.id, Ticket.status.in_([s.value for s in rules.OPEN_STATUSES]))) or 0
    return TechnicianOut(username=user.username, display_name=user.display_name,
                         regions=list(profile.regions) if profile else [],
                         active=user.active and (profile is None or profile.active), open_tickets=load)


def list_technicians(db: Database, principal: Principal) -> list[TechnicianOut]:
    """Every technician with the regions they cover and their open tickets (the desk's view for assigning)."""
    require_role(principal, *DESK)
    with db.transaction() as session:
        users = session.scalars(select(User).where(User.role == Role.TECHNICIAN.value).order_by(User.username))
        return [_technician_out(session, u) for u in users]


def set_technician(db: Database, principal: Principal, username: str, data: TechnicianIn) -> TechnicianOut:
    """Set the regions a technician covers and whether they take new tickets (audited)."""
    require_role(principal, *DESK)
    with db.transaction() as session:
        user = session.scalar(select(User).where(User.username == username, User.role == Role.TECHNICIAN.value))
        if user is None:
            raise NotFound(key="tickets.error.technician_not_found")
        profile = session.get(TechnicianProfile, user.id)
        before = {"regions": list(profile.regions), "active": profile.active} if profile else None
        if profile is None:
            profile = TechnicianProfile(user_id=user.id)
            session.add(profile)
        profile.regions, profile.active = list(dict.fromkeys(data.regions)), data.active
        session.flush()
        audit.record(session, principal, AuditEntity.USER, user.id, "technician_profile", before=before,
                     after={"regions": profile.regions, "active": profile.active})
        return _technician_out(session, user)


# SLA scan ------------------------------------------------------------------------------------


def flag_breaches(db: Database, now: datetime) -> int:
    """Flag the open tickets whose response or resolution deadline has passed; return how many were flagged."""
    flagged = 0
    with db.transaction() as session:
        late = session.scalars(select(Ticket).where(
            Ticket.status.in_([s.value for s in rules.OPEN_STATUSES]),
            or_((Ticket.respond_breached.is_(False)) & Ticket.responded_at.is_(None) & (Ticket.respond_by < now),
                (Ticket.resolve_breached.is_(False)) & Ticket.repaired_at.is_(None) & (Ticket.resolve_by < now)))
            .order_by(Ticket.id).with_for_update(skip_locked=True))
        for ticket in late:
            before = {"respond_breached": ticket.respond_breached, "resolve_breached": ticket.resolve_breached}
            if ticket.responded_at is None and ticket.respond_by < now:
                ticket.respond_breached = True
            if ticket.repaired_at is None and ticket.resolve_by is not None and ticket.resolve_by < now:
                ticket.resolve_breached = True
            audit.record(session, SLA_SCAN, OWNER, ticket.id, "sla_breach", before=before,
                         after={"respond_breached": ticket.respond_breached,
                                "resolve_breached": ticket.resolve_breached})
            flagged += 1
    return flagged


# console reading (for tickets/views.py; read-only) -------------------------------------------


def list_newest(db: Database, principal: Principal, *, page: int = 1, per_page: int = 50) -> Page[TicketOut]:
    """List the tickets the caller may see, newest report first (a merchant's 我的报修)."""
    require_role(principal, *READERS)
    check_page(page, per_page)
    query = _visible(select(Ticket), principal).order_by(Ticket.created_at.desc(), Ticket.id.desc())
    with db.transaction() as session:
        rows, total = paginate(session, query, page, per_page)
        return Page[TicketOut](items=[_out(session, principal, t) for t in rows], total=total, page=page,
                               per_page=per_page)
