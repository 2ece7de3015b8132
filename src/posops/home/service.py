"""What the home page counts for each role, read through the other features' services and tables (read only).

The desk (agent, risk, admin) gets today's work: requests and applications waiting, open incidents,
repair tickets by SLA, suspended, offline and never-seen terminals, and the fleet's figures for the
charts. A merchant gets its own terminals' health, its open requests, applications and tickets, and
what to do next; a technician the open tickets assigned to them, soonest deadline first. Every
figure counts what the list it links to shows with the same filter: the lists' own use cases where
they count (requests, applications, tickets), the same tables and scoping where they do not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session

from posops.core.auth import Principal, Role, require_role, scoped
from posops.core.db import Database, utcnow
from posops.core.paging import MAX_PER_PAGE, Page, check_page
from posops.core.versions import version_key
from posops.diagnosis.models import DiagnosisSession
from posops.fleet.presence import Presence, presence_of
from posops.onboarding import service as onboarding
from posops.onboarding.models import OnboardingApplication
from posops.onboarding.workflow import ApplicationStatus
from posops.reactivation import service as reactivation
from posops.reactivation.conditions import RequestStatus, approvers_for
from posops.reactivation.models import ReactivationRequest
from posops.telemetry import service as telemetry
from posops.telemetry.analytics import IncidentStatus
from posops.telemetry.models import Incident, TelemetrySnapshot
from posops.terminals import service as terminals
from posops.terminals.lifecycle import SuspensionReason, TerminalStatus
from posops.terminals.models import Merchant, Terminal
from posops.terminals.schemas import TerminalFilters, TerminalOut
from posops.tickets import service as tickets
from posops.tickets.lifecycle import OPEN_STATUSES, TicketStatus
from posops.tickets.models import Ticket
from posops.tickets.schemas import DueWithin, TicketFilters, TicketOut

DESK = (Role.AGENT, Role.RISK, Role.ADMIN)
"""Who lands on today's work (今日工作)."""
FAULT_DAYS = 30
"""How far back the chart of faults by symptom counts diagnoses."""
TOP_VERSIONS = 5
"""App versions drawn one by one; the rest are summed as "other"."""
MAX_NEXT_STEPS = 20
"""What-to-do-next items a merchant's page lists at most (the lists it links to hold the rest)."""
OPEN_REQUEST_STATUSES = (RequestStatus.SUBMITTED, RequestStatus.REJECTED)
"""A request still open for its terminal: under review, or sent back to be corrected and resubmitted."""
LIVE_APPLICATION = ApplicationStatus.LIVE


@dataclass(frozen=True)
class RegionPresence:
    """How many terminals of one region in service are online, offline and never seen."""

    region: str
    online: int
    offline: int
    never: int

    @property
    def total(self) -> int:
        """Every terminal of the region counted."""
        return self.online + self.offline + self.never

    @property
    def online_share(self) -> float:
        """The share online (0 for an empty region)."""
        return self.online / self.total if self.total else 0.0


@dataclass(frozen=True)
class DeskDay:
    """Today's work of the desk and the fleet's figures for its charts."""

    requests_for_me: int | None
    """Reactivation requests waiting for the caller's decision (None for a role that decides none)."""
    requests_waiting: int
    applications_submitted: int
    applications_reviewing: int
    incidents_open: int
    tickets_open: int
    tickets_breached: int
    tickets_due_today: int
    tickets_due_later: int
    suspended: int
    suspended_by_reason: list[tuple[str, int]]
    presence: Mapping[Presence, int]
    by_status: list[tuple[str, int]]
    regions: list[RegionPresence]
    versions: list[tuple[str | None, int]]
    """(version, terminals) most common first; the version None sums the rest ("other"), "" is unrecorded."""
    faults: list[tuple[str, int]]
    """(symptom id, diagnoses started in the last FAULT_DAYS days), most first."""
    fault_days: int = FAULT_DAYS


@dataclass(frozen=True)
class TerminalHealth:
    """One of a merchant's terminals as its home page shows it."""

    terminal: TerminalOut
    presence: Presence
    last_seen_at: datetime | None
    failure_reasons: tuple[str, ...]
    ticket: tuple[int, str] | None
    """The newest open repair ticket: (id, status)."""
    request: tuple[int, str] | None
    """The newest open reactivation request: (id, status)."""


class StepKind(StrEnum):
    """Something a merchant should do next."""

    REQUEST_REACTIVATION = "request_reactivation"
    """A suspended terminal without an open request: apply for reactivation (复机申请) on its page (not for a
    device fault under repair: accepting the repair reactivates it)."""
    RESUBMIT_REQUEST = "resubmit_request"
    """The terminal's request was sent back: correct it and resubmit on the request's page."""
    DIAGNOSE = "diagnose"
    """A terminal in service is offline or failing: start a diagnosis."""
    ACCEPT_REPAIR = "accept_repair"
    """A repaired terminal waits for the merchant's acceptance (验收) on the ticket's page."""


@dataclass(frozen=True)
class NextStep:
    """One what-to-do-next item: what, for which terminal, and the record it leads to."""

    kind: StepKind
    terminal_id: int
    serial_number: str
    tid: str
    record_id: int | None = None
    """The request (RESUBMIT_REQUEST) or the ticket (ACCEPT_REPAIR)."""
    reason: str | None = None
    """The suspension reason (REQUEST_REACTIVATION), or offline / a failure code (DIAGNOSE)."""


@dataclass(frozen=True)
class MerchantHome:
    """A merchant's home page: its terminals' health, its open records and what to do next."""

    merchant_name: str
    page: Page[TerminalOut]
    terminals: list[TerminalHealth]
    total: int
    suspended: int
    presence: Mapping[Presence, int]
    requests: Mapping[RequestStatus, int]
    applications: list[tuple[str, int]]
    """(status, applications) of every status with some, live ones left out."""
    tickets_open: int
    tickets_repaired: int
    next_steps: list[NextStep]
    more_steps: int
    """What-to-do-next items beyond those listed."""


@dataclass(frozen=True)
class Visit:
    """An open ticket assigned to the technician and the next deadline it runs against."""

    ticket: TicketOut
    due_at: datetime | None
    due: str | None
    """respond (to be taken on) or resolve (to be repaired); None with no clock running."""
    overdue: bool = False
    """The deadline has passed."""
    address: str = ""
    """Where to go: the address of the onboarding application that installed the terminal, when posops has it."""


# presence -----------------------------------------------------------------------------------------


def _presence_counts(session: Session, principal: Principal, now: datetime) -> list[tuple[str, str, int, int, int]]:
    """(region, status, terminals, online, never seen) of every terminal the caller may see."""
    since = telemetry.online_since(now)
    online = func.sum(case((TelemetrySnapshot.last_seen_at >= since, 1), else_=0))
    never = func.sum(case((TelemetrySnapshot.terminal_id.is_(None), 1), else_=0))
    query = (select(Terminal.region, Terminal.status, func.count(Terminal.id), online, never)
             .outerjoin(TelemetrySnapshot, TelemetrySnapshot.terminal_id == Terminal.id)
             .group_by(Terminal.region, Terminal.status))
    return [(r or "", s, int(n), int(on or 0), int(nv or 0))
            for r, s, n, on, nv in session.execute(scoped(query, principal, Terminal.merchant_id))]


def _presence_totals(rows: Sequence[tuple[str, str, int, int, int]]) -> dict[Presence, int]:
    online = sum(r[3] for r in rows)
    never = sum(r[4] for r in rows)
    return {Presence.ONLINE: online, Presence.OFFLINE: sum(r[2] for r in rows) - online - never,
            Presence.NEVER: never}


# the desk -----------------------------------------------------------------------------------------


def _grouped(session: Session, query: Select[*tuple[Any, ...]]) -> list[tuple[Any, int]]:
    return [(key, int(n)) for key, n in session.execute(query)]


def _count(db: Database, principal: Principal, filters: TicketFilters) -> int:
    return tickets.list_tickets(db, principal, filters, per_page=1).total


def desk_day(db: Database, principal: Principal, now: datetime | None = None) -> DeskDay:
    """Today's work of the desk: what waits for a decision, where the SLA stands, which terminals are down."""
    require_role(principal, *DESK)
    now = now or utcnow()
    decides = any(principal.role.value in approvers_for(r) for r in SuspensionReason)
    for_me = reactivation.list_requests(db, principal, status=RequestStatus.SUBMITTED, for_me=True,
                                        per_page=1).total if decides else None
    waiting = reactivation.list_requests(db, principal, status=RequestStatus.SUBMITTED, per_page=1).total
    submitted = onboarding.list_applications(db, principal, status=ApplicationStatus.SUBMITTED, per_page=1).total
    reviewing = onboarding.list_applications(db, principal, status=ApplicationStatus.UNDER_REVIEW, per_page=1).total
    open_tickets = _count(db, principal, TicketFilters(open=True))
    breached = _count(db, principal, TicketFilters(open=True, breached=True))
    due_today = _count(db, principal, TicketFilters(due=DueWithin.TODAY))
    due_later = _count(db, principal, TicketFilters(due=DueWithin.LATER))
    with db.transaction() as session:
        incidents = session.scalar(select(func.count(Incident.id)).where(Incident.status == IncidentStatus.OPEN)) or 0
        reasons = _grouped(session, scoped(
            select(Terminal.status_reason, func.count(Terminal.id)).where(Terminal.status == TerminalStatus.SUSPENDED)
            .group_by(Terminal.status_reason), principal, Terminal.merchant_id))
        rows = _presence_counts(session, principal, now)
        versions = _grouped(session, scoped(
            select(func.coalesce(TelemetrySnapshot.app_version, Terminal.app_version), func.count(Terminal.id))
            .outerjoin(TelemetrySnapshot, TelemetrySnapshot.terminal_id == Terminal.id)
            .where(Terminal.status != TerminalStatus.DECOMMISSIONED)
            .group_by(func.coalesce(TelemetrySnapshot.app_version, Terminal.app_version)),
            principal, Terminal.merchant_id))
        faults = _grouped(session, scoped(
            select(DiagnosisSession.symptom, func.count(DiagnosisSession.id))
            .where(DiagnosisSession.created_at >= now - timedelta(days=FAULT_DAYS))
            .group_by(DiagnosisSession.symptom), principal, DiagnosisSession.merchant_id))
    by_status: dict[str, int] = {}
    regions: dict[str, list[int]] = {}
    for region, status, n, online, never in rows:
        by_status[status] = by_status.get(status, 0) + n
        if status != TerminalStatus.DECOMMISSIONED:
            counts = regions.setdefault(region, [0, 0, 0])
            counts[0] += online
            counts[1] += n - online - never
            counts[2] += never
    return DeskDay(
        requests_for_me=for_me, requests_waiting=waiting, applications_submitted=submitted,
        applications_reviewing=reviewing, incidents_open=int(incidents), tickets_open=open_tickets,
        tickets_breached=breached, tickets_due_today=due_today, tickets_due_later=due_later,
        suspended=sum(n for _, n in reasons),
        suspended_by_reason=sorted(((r or SuspensionReason.OTHER.value, n) for r, n in reasons),
                                   key=lambda x: (-x[1], x[0])),
        presence=_presence_totals(rows),
        by_status=[(s.value, by_status[s.value]) for s in TerminalStatus if by_status.get(s.value)],
        regions=sorted((RegionPresence(r, *c) for r, c in regions.items()), key=lambda g: (-g.total, g.region)),
        versions=_top_versions(versions), faults=sorted(faults, key=lambda x: (-x[1], x[0])))


def _top_versions(counts: Sequence[tuple[str | None, int]], top: int = TOP_VERSIONS) -> list[tuple[str | None, int]]:
    """The ``top`` most common versions (newest first among equals), then the rest summed under None."""
    merged: dict[str, int] = {}
    for version, n in counts:
        merged[version or ""] = merged.get(version or "", 0) + n
    newest_first = sorted(merged.items(), key=lambda x: _sortable(x[0]), reverse=True)
    ordered = sorted(newest_first, key=lambda x: -x[1])
    shown: list[tuple[str | None, int]] = list(ordered[:top])
    rest = sum(n for _, n in ordered[top:])
    return [*shown, (None, rest)] if rest else shown


def _sortable(version: str) -> tuple[int, ...]:
    """The release numbers of a version, to put the newest first among equal counts; none for an unreadable one."""
    try:
        return version_key(version)[1]
    except ValueError:
        return ()


# a merchant ---------------------------------------------------------------------------------------


def merchant_home(db: Database, principal: Principal, *, page: int = 1, per_page: int = 25,
                  now: datetime | None = None) -> MerchantHome:
    """A merchant's terminals (one page) with their health, its open records and what to do next."""
    require_role(principal, Role.MERCHANT)
    check_page(page, per_page)
    now = now or utcnow()
    listed = terminals.list_terminals(db, principal, TerminalFilters(), page=page, per_page=per_page)
    for_review = reactivation.list_requests(db, principal, status=RequestStatus.SUBMITTED, per_page=1).total
    sent_back = reactivation.list_requests(db, principal, status=RequestStatus.REJECTED, per_page=1).total
    open_tickets = _count(db, principal, TicketFilters(open=True))
    repaired = tickets.list_tickets(db, principal, TicketFilters(status=TicketStatus.REPAIRED),
                                    per_page=MAX_PER_PAGE)
    since = telemetry.online_since(now)
    with db.transaction() as session:
        merchant = session.get(Merchant, principal.merchant_id) if principal.merchant_id is not None else None
        rows = _presence_counts(session, principal, now)
        health = _health(session, listed.items, since)
        applications = _grouped(session, scoped(
            select(OnboardingApplication.status, func.count(OnboardingApplication.id))
            .group_by(OnboardingApplication.status), principal, OnboardingApplication.merchant_id))
        steps = _next_steps(session, principal, since)
    steps += [NextStep(StepKind.ACCEPT_REPAIR, t.terminal_id, t.serial_number, t.tid, t.id) for t in repaired.items]
    order = {s.value: i for i, s in enumerate(ApplicationStatus)}
    return MerchantHome(
        merchant_name=merchant.name if merchant is not None else "", page=listed, terminals=health,
        total=sum(r[2] for r in rows), suspended=sum(r[2] for r in rows if r[1] == TerminalStatus.SUSPENDED),
        presence=_presence_totals(rows),
        requests={RequestStatus.SUBMITTED: for_review, RequestStatus.REJECTED: sent_back},
        applications=sorted(((s, n) for s, n in applications if s != LIVE_APPLICATION and n),
                            key=lambda x: order.get(x[0], len(order))),
        tickets_open=open_tickets, tickets_repaired=repaired.total,
        next_steps=steps[:MAX_NEXT_STEPS], more_steps=max(0, len(steps) - MAX_NEXT_STEPS))


def _newest_open(session: Session, ids: Sequence[int]) -> tuple[dict[int, tuple[int, str]], dict[int, tuple[int, str]]]:
    """The newest open ticket and open reactivation request of each terminal in ``ids``: (id, status)."""
    tickets_of: dict[int, tuple[int, str]] = {}
    requests_of: dict[int, tuple[int, str]] = {}
    if not ids:
        return tickets_of, requests_of
    for terminal_id, ticket_id, status in session.execute(
            select(Ticket.terminal_id, Ticket.id, Ticket.status)
            .where(Ticket.terminal_id.in_(ids), Ticket.status.in_([s.value for s in OPEN_STATUSES]))
            .order_by(Ticket.id)):
        tickets_of[terminal_id] = (ticket_id, status)
    for terminal_id, request_id, status in session.execute(
            select(ReactivationRequest.terminal_id, ReactivationRequest.id, ReactivationRequest.status)
            .where(ReactivationRequest.terminal_id.in_(ids),
                   ReactivationRequest.status.in_([s.value for s in OPEN_REQUEST_STATUSES]))
            .order_by(ReactivationRequest.id)):
        requests_of[terminal_id] = (request_id, status)
    return tickets_of, requests_of


def _health(session: Session, listed: Sequence[TerminalOut], since: datetime) -> list[TerminalHealth]:
    ids = [t.id for t in listed]
    snapshots = {s.terminal_id: s for s in session.scalars(
        select(TelemetrySnapshot).where(TelemetrySnapshot.terminal_id.in_(ids)))} if ids else {}
    tickets_of, requests_of = _newest_open(session, ids)
    found = []
    for terminal in listed:
        snapshot = snapshots.get(terminal.id)
        reasons = tuple(r for r in snapshot.failure_reasons.split(",") if r) if snapshot and snapshot.failing else ()
        seen = snapshot.last_seen_at if snapshot else None
        found.append(TerminalHealth(terminal, presence_of(seen, since), seen, reasons, tickets_of.get(terminal.id),
                                    requests_of.get(terminal.id)))
    return found


def _next_steps(session: Session, principal: Principal, since: datetime) -> list[NextStep]:
    """Suspended terminals to ask reactivation for (or whose request to correct), then those offline or failing."""
    suspended = list(session.scalars(scoped(
        select(Terminal).where(Terminal.status == TerminalStatus.SUSPENDED).order_by(Terminal.id)
        .limit(MAX_NEXT_STEPS + 1), principal, Terminal.merchant_id)))
    tickets_of, requests_of = _newest_open(session, [t.id for t in suspended])
    steps: list[NextStep] = []
    for terminal in suspended:
        request = requests_of.get(terminal.id)
        if terminal.status_reason == SuspensionReason.DEVICE_FAULT and terminal.id in tickets_of and request is None:
            continue  # accepting the repair of its ticket reactivates it: nothing to apply for
        if request is None:
            steps.append(NextStep(StepKind.REQUEST_REACTIVATION, terminal.id, terminal.serial_number, terminal.tid,
                                  reason=terminal.status_reason))
        elif request[1] == RequestStatus.REJECTED:
            steps.append(NextStep(StepKind.RESUBMIT_REQUEST, terminal.id, terminal.serial_number, terminal.tid,
                                  request[0], terminal.status_reason))
    troubled = session.execute(scoped(
        select(Terminal, TelemetrySnapshot).join(TelemetrySnapshot, TelemetrySnapshot.terminal_id == Terminal.id)
        .where(Terminal.status == TerminalStatus.ACTIVE,
               or_(TelemetrySnapshot.last_seen_at < since, TelemetrySnapshot.failing.is_(True)))
        .order_by(Terminal.id).limit(MAX_NEXT_STEPS + 1), principal, Terminal.merchant_id))
    for terminal, snapshot in troubled:
        offline = snapshot.last_seen_at < since
        first_reason = next((r for r in snapshot.failure_reasons.split(",") if r), None)
        steps.append(NextStep(StepKind.DIAGNOSE, terminal.id, terminal.serial_number, terminal.tid,
                              reason=Presence.OFFLINE.value if offline else first_reason))
    return steps


# a technician -------------------------------------------------------------------------------------


def next_deadline(ticket: TicketOut) -> tuple[datetime | None, str | None]:
    """The deadline a ticket runs against now: its response until it is taken on, then its repair."""
    sla = ticket.sla
    if sla.responded_at is None:
        return sla.respond_by, "respond"
    if sla.repaired_at is None and sla.resolve_by is not None:
        return sla.resolve_by, "resolve"
    return None, None


def technician_visits(db: Database, principal: Principal, *, page: int = 1, per_page: int = 25,
                      now: datetime | None = None) -> Page[Visit]:
    """The open tickets assigned to the caller, soonest deadline first (none running last), one page."""
    require_role(principal, Role.TECHNICIAN)
    check_page(page, per_page)
    now = now or utcnow()
    queue = tickets.list_tickets(db, principal, TicketFilters(open=True), per_page=MAX_PER_PAGE).items
    addresses = _addresses(db, [t.terminal_id for t in queue])
    visits = []
    for ticket in queue:
        due_at, due = next_deadline(ticket)
        visits.append(Visit(ticket, due_at, due, due_at is not None and _aware(due_at, now) <= now,
                            addresses.get(ticket.terminal_id, "")))
    far = datetime.max.replace(tzinfo=now.tzinfo)
    visits.sort(key=lambda v: (v.due_at is None, _aware(v.due_at, now) if v.due_at else far, v.ticket.id))
    start = (page - 1) * per_page
    return Page[Visit](items=visits[start:start + per_page], total=len(visits), page=page, per_page=per_page)


def _addresses(db: Database, terminal_ids: Sequence[int]) -> dict[int, str]:
    """The installation address of each terminal an onboarding application brought into service."""
    if not terminal_ids:
        return {}
    with db.transaction() as session:
        return {terminal_id: address for terminal_id, address in session.execute(
            select(Terminal.id, OnboardingApplication.address)
            .join(OnboardingApplication, OnboardingApplication.id == Terminal.application_id)
            .where(Terminal.id.in_(terminal_ids))) if address}


def _aware(moment: datetime, like: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=like.tzinfo)


def online_window_minutes(now: datetime | None = None) -> int:
    """How many minutes back a heartbeat counts a terminal as online (``telemetry.service.online_since``)."""
    now = now or utcnow()
    return round((now - telemetry.online_since(now)).total_seconds() / 60)
