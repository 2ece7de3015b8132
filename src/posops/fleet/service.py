"""Use cases of finding things in the fleet: the terminal list with presence, global search, the merchant page.

Everything here only reads. The terminal list joins the terminals' and telemetry's tables in
one query, so presence and the last heartbeat filter and sort like any other column; "online"
is :func:`posops.telemetry.service.online_since`, the one definition. The
merchant page reads the rows of the features it summarises (requests, applications, diagnoses,
tickets) in read-only queries and shows a section only to the roles that feature lets read it.
Tenant scoping is :func:`posops.core.auth.scoped` / :func:`~posops.core.auth.ensure_visible`:
a merchant user finds, lists and opens only its own merchant and terminals.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from posops.core.auth import Principal, Role, ensure_visible, require_role, scoped
from posops.core.db import Database, utcnow
from posops.core.errors import NotFound
from posops.core.forms import validated
from posops.core.paging import Page, check_page
from posops.diagnosis.models import DiagnosisSession
from posops.fleet.presence import Presence, presence_of
from posops.fleet.schemas import (
    ApplicationLine,
    DiagnosisLine,
    FleetFilters,
    FleetTerminalOut,
    Hits,
    MerchantFilters,
    MerchantHit,
    MerchantOverview,
    MerchantRow,
    RequestLine,
    ScreenLine,
    SearchKey,
    SearchOut,
    SearchText,
    Section,
    TerminalHit,
    TerminalSort,
    TicketLine,
)
from posops.onboarding import service as onboarding
from posops.onboarding.models import OnboardingApplication
from posops.reactivation import service as reactivation
from posops.reactivation.models import ReactivationRequest
from posops.telemetry.models import TelemetrySnapshot
from posops.telemetry.service import online_since
from posops.terminals import service as terminals
from posops.terminals.lifecycle import TerminalStatus
from posops.terminals.models import FeePlan, Merchant, Terminal
from posops.terminals.schemas import FeePlanOut, MerchantOut
from posops.tickets import service as tickets
from posops.tickets.models import Ticket

MERCHANT_LIST_ROLES = (Role.AGENT, Role.RISK, Role.ADMIN)
"""Who lists merchants: the support desk, the risk team and administrators (any staff opens a merchant's page)."""
SEARCH_HITS = 20
"""How many hits of each group a search shows; the totals say how many there are in all."""
SECTION_ROWS = 10
"""How many rows each section of the merchant page lists (newest first)."""
PHONE_DIGITS_MIN = 4
"""A search text is also looked for among contact phones when it is phone-like with at least this many digits."""
_PHONE_LIKE = re.compile(r"\+?[0-9][0-9 -]*")
_PHONE_SEPARATORS = re.compile(r"[ +-]")
_STATUS_RANK = case({s.value: rank for rank, s in enumerate(TerminalStatus)}, value=Terminal.status,
                    else_=len(TerminalStatus))
"""Statuses in the order of a terminal's life (onboarding, active, suspended, decommissioned), for sorting."""


# the terminal list ---------------------------------------------------------------------------


def _presence_condition(presence: Presence, since: datetime) -> ColumnElement[bool]:
    seen = TelemetrySnapshot.last_seen_at
    if presence is Presence.ONLINE:
        return seen >= since
    if presence is Presence.OFFLINE:
        return seen < since
    return TelemetrySnapshot.terminal_id.is_(None)


def _order(sort: TerminalSort | None) -> list[Any]:
    """ORDER BY for a sort order; registration order when none is asked for. Serial numbers break ties."""
    if sort is None:
        return [Terminal.id]
    seen = TelemetrySnapshot.last_seen_at
    column: Any = {"serial_number": Terminal.serial_number, "tid": Terminal.tid, "merchant": Merchant.name,
                   "status": _STATUS_RANK, "last_seen": seen}[sort.column]
    keys: list[Any] = []
    if sort.column == "last_seen":  # never reported sorts as the longest silent, on SQLite and PostgreSQL alike
        keys.append(seen.is_not(None).desc() if sort.descending else seen.is_not(None))
    keys.append(column.desc() if sort.descending else column)
    if sort.column != "serial_number":
        keys.append(Terminal.serial_number)
    return keys


def _terminal_query(principal: Principal, filters: FleetFilters, since: datetime) -> Select[*tuple[Any, ...]]:
    """The caller's terminals with their merchant's name and last heartbeat, filtered and ordered."""
    query = (select(Terminal.id, Terminal.serial_number, Terminal.tid, Terminal.mid, Terminal.model,
                    Terminal.merchant_id, Merchant.name.label("merchant_name"), Terminal.region,
                    Terminal.app_version, Terminal.status, Terminal.status_reason, TelemetrySnapshot.last_seen_at)
             .join(Merchant, Merchant.id == Terminal.merchant_id)
             .outerjoin(TelemetrySnapshot, TelemetrySnapshot.terminal_id == Terminal.id))
    query = scoped(query, principal, Terminal.merchant_id)
    if filters.q:
        needle = filters.q
        query = query.where(or_(*(column.icontains(needle, autoescape=True) for column in (
            Terminal.serial_number, Terminal.tid, Terminal.mid, Merchant.name))))
    for column, value in ((Terminal.status, filters.status), (Terminal.model, filters.model),
                          (Terminal.status_reason, filters.reason), (Terminal.merchant_id, filters.merchant_id)):
        if value is not None:
            query = query.where(column == value)
    if filters.region:
        query = query.where(Terminal.region.icontains(filters.region, autoescape=True))
    if filters.presence is not None:
        query = query.where(_presence_condition(filters.presence, since))
    return query.order_by(*_order(filters.sort))


def _fleet_terminal(row: Any, since: datetime) -> FleetTerminalOut:
    return FleetTerminalOut(id=row.id, serial_number=row.serial_number, tid=row.tid, mid=row.mid, model=row.model,
                            merchant_id=row.merchant_id, merchant_name=row.merchant_name, region=row.region,
                            app_version=row.app_version, status=row.status, status_reason=row.status_reason,
                            presence=presence_of(row.last_seen_at, since), last_seen_at=row.last_seen_at)


def _count(session: Session, query: Select[*tuple[Any, ...]]) -> int:
    return session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def _given(values: dict[str, Any]) -> dict[str, Any]:
    """The values of a query that say something (an empty or blank field of a form says nothing)."""
    return {key: value for key, value in values.items()
            if value is not None and not (isinstance(value, str) and not value.strip())}


def fleet_filters(values: dict[str, Any]) -> FleetFilters:
    """Read a terminal list's query (blank values left out) as filters; Invalid (422) names every bad value."""
    return validated(FleetFilters, _given(values))


def list_terminals(db: Database, principal: Principal, filters: FleetFilters, *, page: int = 1, per_page: int = 50,
                   now: datetime | None = None) -> Page[FleetTerminalOut]:
    """The terminals the caller may see, filtered, ordered and paged, each online, offline or never reported."""
    check_page(page, per_page)
    since = online_since(now)
    query = _terminal_query(principal, filters, since)
    with db.transaction() as session:
        total = _count(session, query)
        rows = session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
        return Page[FleetTerminalOut](items=[_fleet_terminal(r, since) for r in rows], total=total, page=page,
                                      per_page=per_page)


def export_terminals(db: Database, principal: Principal, filters: FleetFilters, *, limit: int,
                     now: datetime | None = None) -> list[FleetTerminalOut]:
    """The list's rows for a download: every page at once, in one query and one transaction, at most ``limit``."""
    since = online_since(now)
    with db.transaction() as session:
        rows = session.execute(_terminal_query(principal, filters, since).limit(limit)).all()
        return [_fleet_terminal(r, since) for r in rows]


# search --------------------------------------------------------------------------------------


def _phone_digits(column: Any) -> Any:
    """A phone column without spaces, dashes and plus signs (``021-5555 1234`` reads ``02155551234``)."""
    return func.replace(func.replace(func.replace(column, " ", ""), "-", ""), "+", "")


def phone_digits(text: str) -> str | None:
    """The digits to look for among contact phones, when the text is phone-like (``138 0013``), else None."""
    if not _PHONE_LIKE.fullmatch(text):
        return None
    digits = _PHONE_SEPARATORS.sub("", text)
    return digits if len(digits) >= PHONE_DIGITS_MIN else None


def _contains(value: str, needle: str) -> bool:
    return needle.casefold() in value.casefold()


def search(db: Database, principal: Principal, q: str, *, limit: int = SEARCH_HITS) -> SearchOut:
    """Find terminals by serial number, TID or MID and merchants by name or contact phone (substrings, any case).

    A merchant user finds only its own merchant and terminals. When exactly one terminal has the
    text itself as serial number or TID, ``exact_terminal_id`` names it (the console goes straight there).
    """
    needle = validated(SearchText, {"q": q}).q
    with db.transaction() as session:
        return SearchOut(q=needle, terminals=_terminal_hits(session, principal, needle, limit),
                         merchants=_merchant_hits(session, principal, needle, limit),
                         exact_terminal_id=_exact_terminal(session, principal, needle))


def _terminal_hits(session: Session, principal: Principal, needle: str, limit: int) -> Hits[TerminalHit]:
    identifiers = (Terminal.serial_number, Terminal.tid, Terminal.mid)
    query = scoped(select(Terminal, Merchant.name).join(Merchant, Merchant.id == Terminal.merchant_id)
                   .where(or_(*(c.icontains(needle, autoescape=True) for c in identifiers))),
                   principal, Terminal.merchant_id)
    exact = or_(func.lower(Terminal.serial_number) == needle.lower(), func.lower(Terminal.tid) == needle.lower())
    rows = session.execute(query.order_by(exact.desc(), Terminal.status == TerminalStatus.DECOMMISSIONED,
                                          Terminal.serial_number).limit(limit)).all()
    items = []
    for terminal, merchant_name in rows:
        matched = [key for key, value in ((SearchKey.SERIAL_NUMBER, terminal.serial_number),
                                          (SearchKey.TID, terminal.tid), (SearchKey.MID, terminal.mid))
                   if _contains(value, needle)]
        items.append(TerminalHit(id=terminal.id, serial_number=terminal.serial_number, tid=terminal.tid,
                                 mid=terminal.mid, model=terminal.model, merchant_id=terminal.merchant_id,
                                 merchant_name=merchant_name, status=terminal.status,
                                 status_reason=terminal.status_reason, matched=matched))
    return Hits[TerminalHit](items=items, total=_count(session, query))


def _exact_terminal(session: Session, principal: Principal, needle: str) -> int | None:
    exact = or_(func.lower(Terminal.serial_number) == needle.lower(), func.lower(Terminal.tid) == needle.lower())
    found = list(session.scalars(scoped(select(Terminal.id).where(exact), principal, Terminal.merchant_id).limit(2)))
    return found[0] if len(found) == 1 else None


def _merchant_hits(session: Session, principal: Principal, needle: str, limit: int) -> Hits[MerchantHit]:
    digits = phone_digits(needle)
    conditions = [Merchant.name.icontains(needle, autoescape=True)]
    if digits is not None:
        conditions.append(_phone_digits(Merchant.contact_phone).contains(digits))
    query = scoped(select(Merchant).where(or_(*conditions)), principal, Merchant.id)
    merchants = list(session.scalars(query.order_by(Merchant.id).limit(limit)))
    counts = _terminal_counts(session, [m.id for m in merchants])
    items = []
    for merchant in merchants:
        matched = [SearchKey.NAME] if _contains(merchant.name, needle) else []
        if digits is not None and digits in _PHONE_SEPARATORS.sub("", merchant.contact_phone):
            matched.append(SearchKey.PHONE)
        items.append(MerchantHit(id=merchant.id, name=merchant.name, region=merchant.region,
                                 contact_name=merchant.contact_name, contact_phone=merchant.contact_phone,
                                 terminals=counts.get(merchant.id, (0, 0))[0], matched=matched))
    return Hits[MerchantHit](items=items, total=_count(session, query))


def _terminal_counts(session: Session, merchant_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Per merchant: how many terminals it has, and how many of them are suspended."""
    if not merchant_ids:
        return {}
    suspended = func.sum(case((Terminal.status == TerminalStatus.SUSPENDED, 1), else_=0))
    rows = session.execute(select(Terminal.merchant_id, func.count(Terminal.id), suspended)
                           .where(Terminal.merchant_id.in_(merchant_ids)).group_by(Terminal.merchant_id))
    return {merchant_id: (int(total), int(stopped or 0)) for merchant_id, total, stopped in rows}


# merchants -----------------------------------------------------------------------------------


def merchant_filters(values: dict[str, Any]) -> MerchantFilters:
    """Read a merchant list's query (blank values left out) as filters; Invalid (422) names every bad value."""
    return validated(MerchantFilters, _given(values))


def list_merchants(db: Database, principal: Principal, filters: MerchantFilters, *, page: int = 1,
                   per_page: int = 50) -> Page[MerchantRow]:
    """Merchants by name, region or contact phone, in registration order, with their terminal counts (the desk)."""
    require_role(principal, *MERCHANT_LIST_ROLES)
    check_page(page, per_page)
    query = select(Merchant).order_by(Merchant.id)
    if filters.name:
        query = query.where(Merchant.name.icontains(filters.name, autoescape=True))
    if filters.region:
        query = query.where(Merchant.region.icontains(filters.region, autoescape=True))
    if filters.phone:
        digits = _PHONE_SEPARATORS.sub("", filters.phone)
        query = query.where(_phone_digits(Merchant.contact_phone).icontains(digits, autoescape=True))
    with db.transaction() as session:
        total = _count(session, query)
        merchants = list(session.scalars(query.limit(per_page).offset((page - 1) * per_page)))
        counts = _terminal_counts(session, [m.id for m in merchants])
        items = [MerchantRow(id=m.id, name=m.name, legal_id=m.legal_id, contact_name=m.contact_name,
                             contact_phone=m.contact_phone, region=m.region, terminals=counts.get(m.id, (0, 0))[0],
                             suspended=counts.get(m.id, (0, 0))[1]) for m in merchants]
        return Page[MerchantRow](items=items, total=total, page=page, per_page=per_page)


def _section(session: Session, query: Select[*tuple[Any, ...]], limit: int = SECTION_ROWS) -> tuple[list[Any], int]:
    return list(session.execute(query.limit(limit)).all()), _count(session, query)


def merchant_overview(db: Database, principal: Principal, merchant_id: int, *,
                      now: datetime | None = None) -> MerchantOverview:
    """One merchant's page: its record and fee plan, terminals with presence, and the newest of each related list.

    A merchant user opens only its own (another merchant is 404). Reactivation requests and
    onboarding applications show to the roles that read them (not technicians); tickets as the
    repair desk shows them (a technician: those assigned to them).
    """
    ensure_visible(principal, merchant_id, "merchant")
    since = online_since(now or utcnow())
    with db.transaction() as session:
        merchant = session.get(Merchant, merchant_id)
        if merchant is None:
            raise NotFound(key="error.not_found.merchant")
        record = MerchantOut.model_validate(merchant)
        plan = session.get(FeePlan, merchant_id)
        fee_plan = FeePlanOut.model_validate(plan) if plan is not None else None
        fleet_rows, fleet_total = _section(session, _terminal_query(
            principal, FleetFilters(merchant_id=merchant_id), since))
        fleet = Section[FleetTerminalOut](items=[_fleet_terminal(r, since) for r in fleet_rows], total=fleet_total)
        status_counts, presence_counts = _status_counts(session, merchant_id), _presence_counts(
            session, merchant_id, since)
        requests = _requests(session, merchant_id) if principal.role in reactivation.READERS else None
        applications = _applications(session, merchant_id) if principal.role in onboarding.READERS else None
        diagnoses, repairs = _diagnoses(session, merchant_id), _tickets(session, principal, merchant_id)
        showing, showing_total = _section(session, select(Terminal.id, Terminal.serial_number, Terminal.tid).where(
            Terminal.merchant_id == merchant_id, or_(
                and_(Terminal.status == TerminalStatus.SUSPENDED, Terminal.status_reason.is_not(None)),
                and_(Terminal.status == TerminalStatus.ACTIVE, Terminal.must_sign_in.is_(True))))
            .order_by(Terminal.id))
    # what a screen shows is the terminals feature's to say: ask it, one terminal at a time (at most SECTION_ROWS)
    screens = [(row, terminals.screen_notice_for(db, principal, row.id)) for row in showing]
    screen_notices = Section[ScreenLine](items=[
        ScreenLine(terminal_id=row.id, serial_number=row.serial_number, tid=row.tid, notice=notice)
        for row, notice in screens if notice is not None], total=showing_total)
    return MerchantOverview(merchant=record, fee_plan=fee_plan, terminals=fleet, status_counts=status_counts,
                            presence_counts=presence_counts, requests=requests, applications=applications,
                            screen_notices=screen_notices, diagnoses=diagnoses, tickets=repairs)


def _status_counts(session: Session, merchant_id: int) -> dict[TerminalStatus, int]:
    counted = {status: n for status, n in session.execute(
        select(Terminal.status, func.count()).where(Terminal.merchant_id == merchant_id).group_by(Terminal.status))}
    return {status: int(counted.get(status, 0)) for status in TerminalStatus}


def _presence_counts(session: Session, merchant_id: int, since: datetime) -> dict[Presence, int]:
    """How many of the merchant's terminals in service (not decommissioned) are online, offline, never reported."""
    sums = [func.coalesce(func.sum(case((_presence_condition(p, since), 1), else_=0)), 0) for p in Presence]
    counted = session.execute(select(*sums).select_from(Terminal)
                              .outerjoin(TelemetrySnapshot, TelemetrySnapshot.terminal_id == Terminal.id)
                              .where(Terminal.merchant_id == merchant_id,
                                     Terminal.status != TerminalStatus.DECOMMISSIONED)).one()
    return {p: int(n) for p, n in zip(Presence, counted, strict=True)}


def _requests(session: Session, merchant_id: int) -> Section[RequestLine]:
    rows, total = _section(session, select(
        ReactivationRequest.id, ReactivationRequest.terminal_id, Terminal.tid.label("terminal_tid"),
        ReactivationRequest.reason, ReactivationRequest.status, ReactivationRequest.updated_at)
        .join(Terminal, Terminal.id == ReactivationRequest.terminal_id)
        .where(ReactivationRequest.merchant_id == merchant_id).order_by(ReactivationRequest.id.desc()))
    return Section[RequestLine](items=[RequestLine.model_validate(r._asdict()) for r in rows], total=total)


def _applications(session: Session, merchant_id: int) -> Section[ApplicationLine]:
    rows, total = _section(session, select(
        OnboardingApplication.id, OnboardingApplication.status, OnboardingApplication.terminal_model,
        OnboardingApplication.terminal_count, OnboardingApplication.updated_at)
        .where(OnboardingApplication.merchant_id == merchant_id).order_by(OnboardingApplication.id.desc()))
    return Section[ApplicationLine](items=[ApplicationLine.model_validate(r._asdict()) for r in rows], total=total)


def _diagnoses(session: Session, merchant_id: int) -> Section[DiagnosisLine]:
    rows, total = _section(session, select(
        DiagnosisSession.id, DiagnosisSession.status, DiagnosisSession.symptom, DiagnosisSession.text,
        DiagnosisSession.terminal_id, Terminal.serial_number, DiagnosisSession.created_at)
        .outerjoin(Terminal, Terminal.id == DiagnosisSession.terminal_id)
        .where(DiagnosisSession.merchant_id == merchant_id)
        .order_by(DiagnosisSession.created_at.desc(), DiagnosisSession.id))
    return Section[DiagnosisLine](items=[DiagnosisLine.model_validate(r._asdict()) for r in rows], total=total)


def _tickets(session: Session, principal: Principal, merchant_id: int) -> Section[TicketLine]:
    """The merchant's tickets as the repair desk shows them: a technician sees those assigned to them."""
    if principal.role not in tickets.READERS:
        return Section[TicketLine](items=[], total=0)
    query = (select(Ticket.id, Ticket.terminal_id, Terminal.serial_number, Terminal.tid, Ticket.status,
                    Ticket.priority, Ticket.created_at)
             .join(Terminal, Terminal.id == Ticket.terminal_id)
             .where(Ticket.merchant_id == merchant_id).order_by(Ticket.created_at.desc(), Ticket.id.desc()))
    if principal.role is Role.TECHNICIAN:
        query = query.where(Ticket.assignee_user_id == principal.user_id)
    rows, total = _section(session, query)
    return Section[TicketLine](items=[TicketLine.model_validate(r._asdict()) for r in rows], total=total)


def may_list_merchants(principal: Principal) -> bool:
    """Whether the caller may open the merchant list (the desk roles)."""
    return principal.role in MERCHANT_LIST_ROLES
