"""Console pages of repairs: the desk queue, a merchant's 我的报修, a technician's day, the ticket page and its forms.

Times are shown in the console's zone (POSOPS_TIMEZONE, Asia/Shanghai by default); a
technician's ``datetime-local`` visit time is read in that zone too. Forms post to
``/tickets/...`` and answer 303 back to the ticket page, or show the page again with the refusal
in the viewer's language (a field's problem named in words, not as a schema path).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from posops.core.auth import Principal, Role, require_role
from posops.core.db import utcnow
from posops.core.deps import DbDep, PageNumber, SettingsDep
from posops.core.documents import UploadDep
from posops.core.errors import Invalid, NotFound, PosopsError
from posops.core.export import Column, csv_response, every_page
from posops.core.forms import Refusal, refusal, validated, yuan_to_fen
from posops.core.i18n import translate
from posops.core.inputs import FormText, Id, Word
from posops.core.paging import Page
from posops.core.web import (
    CONSOLE_PER_PAGE,
    PageUser,
    TerminalSection,
    check_csrf,
    display_zone,
    local_time,
    page_lang,
    render,
    template_vocabulary,
)
from posops.diagnosis.knowledge import load_knowledge
from posops.terminals import service as terminals
from posops.terminals.lifecycle import TerminalStatus
from posops.terminals.schemas import TerminalFilters
from posops.tickets import service as tickets
from posops.tickets.lifecycle import OPEN_STATUSES, Channel, Outcome, TicketStatus, WaitingFor
from posops.tickets.loans import LoanStatus
from posops.tickets.reliability import GroupBy
from posops.tickets.schemas import (
    MAX_LOAN_DAYS,
    AcceptIn,
    AssignIn,
    DueWithin,
    PriorityIn,
    ReservationIn,
    TicketFilters,
    TicketIn,
    TicketOut,
    TransitionIn,
    WorkIn,
)
from posops.tickets.sla import Priority

router = APIRouter(include_in_schema=False)
template_vocabulary(TicketStatus, LoanStatus, Outcome, WaitingFor, Channel, Priority, TerminalStatus)
Field = Annotated[FormText, Form()]
MAX_QUEUE = 200
"""A technician's open queue is read whole (one page of the largest size): it is a day's work, not a fleet."""
LOAN_DAYS = 3
"""Default length of a loaner reservation on the ticket page's form."""
SECTION_OPEN_TICKETS = 20


class SlaBadge(StrEnum):
    """How a ticket stands against its SLA, in one word for the lists and the ticket page."""

    OVERDUE = "overdue"
    """A deadline was missed (flagged by the scan, or passed and not yet flagged)."""
    DUE_TODAY = "due_today"
    ON_TIME = "on_time"
    PAUSED = "paused"
    """Waiting for parts, the merchant or the vendor: the resolution clock is stopped."""
    MET = "met"
    """Repaired within the resolution deadline."""


BADGE_CLASS: Mapping[SlaBadge, str] = {SlaBadge.OVERDUE: "tk-bad", SlaBadge.DUE_TODAY: "tk-warn",
                                       SlaBadge.ON_TIME: "tk-ok", SlaBadge.PAUSED: "tk-muted", SlaBadge.MET: "tk-ok"}
S = TicketStatus
STATUS_CLASS: Mapping[TicketStatus, str] = {
    S.NEW: "tk-warn", S.TRIAGED: "tk-warn", S.ASSIGNED: "tk-info", S.SCHEDULED: "tk-info", S.IN_REPAIR: "tk-info",
    S.WAITING: "tk-muted", S.REPAIRED: "tk-ok", S.ACCEPTED: "tk-ok", S.CLOSED: "tk-muted", S.CANCELLED: "tk-muted",
    S.NOT_REPAIRABLE: "tk-bad", S.REPLACED: "tk-ok"}
"""The colour of each status' badge (classes of the repair pages' style)."""
SECTION_BADGE_CLASS: Mapping[SlaBadge, str] = {SlaBadge.OVERDUE: "suspended", SlaBadge.DUE_TODAY: "onboarding",
                                               SlaBadge.ON_TIME: "active", SlaBadge.PAUSED: "decommissioned",
                                               SlaBadge.MET: "active"}
"""The SLA badge's colour on the terminal page, which has only the console's own badge classes."""

_FIELD_OF = {"terminal_id": "terminal", "parts.0.name": "part_name", "parts.0.quantity": "part_quantity",
             "parts.0.unit_cost_fen": "part_cost", "replacement.serial_number": "replacement_serial",
             "replacement.model": "replacement_model", "replacement.vendor": "replacement_vendor"}
"""Schema paths named as the console form's fields."""
_HINTS = {
    "terminal": "tickets.form.error.terminal",
    "terminal_unknown": "tickets.form.error.terminal_unknown",
    "description": "tickets.form.error.description",
    "channel": "tickets.form.error.channel",
    "priority": "tickets.form.error.priority",
    "symptom": "tickets.form.error.symptom",
    "to": "tickets.form.error.to",
    "waiting_for": "tickets.form.error.waiting_for",
    "scheduled_for": "tickets.form.error.scheduled_for",
    "technician": "tickets.form.error.technician",
    "note": "tickets.form.error.note",
    "minutes": "tickets.form.error.minutes",
    "confirmed_cause": "tickets.form.error.confirmed_cause",
    "part_name": "tickets.form.error.part_name",
    "part_quantity": "tickets.form.error.part_quantity",
    "part_cost": "tickets.form.error.part_cost",
    "outcome": "tickets.form.error.outcome",
    "acceptance_note": "tickets.form.error.acceptance_note",
    "begins_on": "tickets.form.error.begins_on",
    "ends_on": "tickets.form.error.ends_on",
    "name": "tickets.form.error.name",
    "file": "tickets.form.error.file",
    "replacement_serial": "tickets.form.error.replacement_serial",
    "replacement_model": "tickets.form.error.replacement_model",
    "replacement_vendor": "tickets.form.error.replacement_vendor",
}
"""What each field needs, in words (catalogue keys), shown instead of the validator's English."""
_ACTION_OUTCOMES = {"fixed": "diagnosis.outcome.fixed", "not_fixed": "diagnosis.outcome.not_fixed",
                    "unknown": "diagnosis.outcome.unknown_action"}


# times ---------------------------------------------------------------------------------------


zone = display_zone
local = local_time


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def local_date(value: datetime) -> date:
    """The local calendar date of an instant."""
    return _aware(value).astimezone(zone()).date()


def today() -> date:
    """Today's local date."""
    return local_date(utcnow())


def _local_instant(text: str, field: str) -> datetime:
    """Read a ``datetime-local`` field (2026-12-04T10:00) as that wall time in the calendar's zone."""
    cleaned = text.strip()
    if not cleaned:
        raise Invalid(field, key="error.invalid.required")
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError:
        raise Invalid(field, key="error.invalid.datetime") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone())


def _day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(field, key="error.invalid.date") from None


def _fen(text: str, field: str) -> int:
    """An amount in yuan as fen; empty or zero is 0 (a part under warranty costs nothing)."""
    cleaned = text.replace(",", "").replace("，", "").strip()
    if not cleaned:
        return 0
    try:
        if Decimal(cleaned) == 0:
            return 0
    except InvalidOperation:
        pass
    return yuan_to_fen(cleaned, field)


# the SLA badge -------------------------------------------------------------------------------


def sla_badge(ticket: TicketOut, now: datetime) -> SlaBadge | None:
    """Where the ticket stands against its SLA at ``now``; None for a ticket closed without a repair."""
    sla = ticket.sla
    if sla.repaired_at is not None:
        return SlaBadge.OVERDUE if sla.resolve_breached else SlaBadge.MET
    if ticket.status not in OPEN_STATUSES:
        return None
    pending = [d for d in (sla.respond_by if sla.responded_at is None else None, sla.resolve_by) if d is not None]
    if sla.respond_breached or sla.resolve_breached or any(_aware(d) <= now for d in pending):
        return SlaBadge.OVERDUE
    if sla.paused:
        return SlaBadge.PAUSED
    if any(local_date(d) == local_date(now) for d in pending):
        return SlaBadge.DUE_TODAY
    return SlaBadge.ON_TIME


@dataclass(frozen=True)
class Row:
    """A ticket of a list with its SLA badge."""

    ticket: TicketOut
    badge: SlaBadge | None


def _rows(items: Sequence[TicketOut]) -> list[Row]:
    now = utcnow()
    return [Row(t, sla_badge(t, now)) for t in items]


# names from the knowledge base ---------------------------------------------------------------


def _named(names: Any, lang: str) -> str | None:
    if isinstance(names, Mapping):
        text = names.get(lang) or names.get("zh-CN")
        return str(text) if text else None
    return None


def cause_name(cause: str | None, lang: str) -> str:
    """A cause id (hw.reader_faulty) in words; the id itself if the knowledge base does not know it."""
    if not cause:
        return "—"
    known = load_knowledge().causes.get(cause)
    return known.name(lang) if known is not None else cause


def cause_names(causes: Sequence[str | None]) -> dict[str, dict[str, str]]:
    """The zh-CN and English names of the causes given (for a template that picks the language itself)."""
    knowledge = load_knowledge()
    return {c: dict(knowledge.causes[c].names) for c in causes if c and c in knowledge.causes}


def _symptom_name(symptom: str | None, lang: str) -> str | None:
    if not symptom:
        return None
    known = load_knowledge().symptoms.get(symptom)
    return known.name(lang) if known is not None else symptom


def _outcome_label(step: str, outcome: str, lang: str) -> str:
    check = load_knowledge().checks.get(step)
    if check is not None:
        if outcome in check.outcome_labels:
            return check.label(outcome, lang)
        return translate("diagnosis.outcome.unknown_check", lang) if outcome == "unknown" else outcome
    key = _ACTION_OUTCOMES.get(outcome)
    return translate(key, lang) if key else outcome


def prefill(ticket: TicketOut, lang: str) -> dict[str, Any]:
    """What the diagnosis found, in words: ranked causes, the steps tried with their answers, the evidence."""
    knowledge = load_knowledge()
    found = ticket.prefill or {}
    ranking = [{"cause": r.get("cause"), "name": _named(r.get("name"), lang) or cause_name(r.get("cause"), lang),
                "probability": float(r.get("probability") or 0.0)} for r in found.get("ranking", [])]
    steps = [{"title": _named(s.get("title"), lang) or str(s.get("step")),
              "outcome": _outcome_label(str(s.get("step")), str(s.get("outcome")), lang),
              "by": s.get("answered_by") or ""} for s in found.get("steps", [])]
    evidence = []
    for check_id, value in (found.get("evidence") or {}).items():
        check = knowledge.checks.get(check_id)
        evidence.append({"name": check.name(lang) if check is not None else check_id,
                         "value": _outcome_label(check_id, str(value), lang) if check is not None else value})
    return {"complaint": found.get("complaint") or "", "ranking": ranking, "steps": steps, "evidence": evidence,
            "symptom": _symptom_name(ticket.symptom, lang),
            "suspected": cause_name(ticket.suspected_cause, lang) if ticket.suspected_cause else None}


def _cause_options(ticket: TicketOut, lang: str) -> list[tuple[str, str]]:
    """Every known cause for the work form, the diagnosis' ranking first."""
    knowledge = load_knowledge()
    ranked = [str(r.get("cause")) for r in (ticket.prefill or {}).get("ranking", []) if r.get("cause")]
    first = [c for c in dict.fromkeys([*ranked, *([ticket.suspected_cause] if ticket.suspected_cause else [])])
             if c in knowledge.causes]
    rest = sorted((c for c in knowledge.causes if c not in first), key=lambda c: (knowledge.causes[c].category, c))
    return [(c, knowledge.causes[c].name(lang)) for c in [*first, *rest]]


def _symptom_options(lang: str) -> list[tuple[str, str]]:
    return [(s.id, s.name(lang)) for s in load_knowledge().symptoms.values()]


# refusals ------------------------------------------------------------------------------------


def field_errors(exc: Invalid, lang: str) -> dict[str, str]:
    """Each form field's problem in the page's language (the field's hint, else the validator's words)."""
    errors: dict[str, str] = {}
    for problem in exc.problems:
        name = _FIELD_OF.get(problem.field, problem.field)
        hint = _HINTS.get(name)
        errors.setdefault(name, translate(hint, lang) if hint else problem.reason.text(lang))
    return errors


def ticket_refusal(exc: PosopsError, lang: str) -> Refusal:
    """Say in the page's language why a ticket form was refused: bad fields by what they need, else as the core does."""
    if isinstance(exc, Invalid):
        return Refusal(" ".join(field_errors(exc, lang).values()), [], exc.status)
    return refusal(exc, lang)


def _render(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    lang = page_lang(request)
    shared = {"local": local, "zone": tickets.calendar().zone, "badge_class": BADGE_CLASS,
              "status_class": STATUS_CLASS, "cause_name": lambda c: cause_name(c, lang)}
    return render(request, template, {**shared, **context}, status_code)


# lists ---------------------------------------------------------------------------------------


@router.get("/tickets", response_class=HTMLResponse)
def ticket_list(request: Request, db: DbDep, user: PageUser, status: Word = "", breached: Word = "",
                due: Word = "", open: Word = "", page: PageNumber = 1) -> Response:
    """The desk's queue of open tickets (nearest deadline first), a merchant's 我的报修; technicians go to theirs.

    ``due=today`` / ``due=later`` keep the open tickets not breached whose next deadline falls before
    today ends, or not; a merchant may narrow 我的报修 to one ``status`` or to its ``open=1`` tickets.
    """
    if user.role is Role.TECHNICIAN:
        return RedirectResponse("/tickets/mine", status_code=303)
    listed = _listed(status, breached, due, open)
    if user.is_merchant:
        mine = _list_page(db, user, listed, page, CONSOLE_PER_PAGE)
        return _render(request, "tickets/merchant_list.html", {
            "result": mine, "rows": _rows(mine.items), "status": listed.status.value if listed.status else "",
            "only_open": listed.only_open})
    result = _list_page(db, user, listed, page, CONSOLE_PER_PAGE)
    return _render(request, "tickets/desk_list.html", {
        "result": result, "rows": _rows(result.items), "status": listed.status.value if listed.status else "",
        "breached": listed.breached, "due": listed.due.value if listed.due else "", "dues": list(DueWithin),
        "statuses": list(TicketStatus), "may_open": user.role in tickets.OPENERS})


@dataclass(frozen=True)
class Listed:
    """The ticket list's filters as read from its query (the page and its CSV read them alike)."""

    status: TicketStatus | None
    only_open: bool
    """A merchant's 我的报修 narrowed to its open tickets."""
    breached: bool
    due: DueWithin | None


def _listed(status: str, breached: str, due: str, open: str) -> Listed:
    chosen = TicketStatus(status) if status in {s.value for s in TicketStatus} else None
    return Listed(chosen, open == "1" and chosen is None, breached == "1",
                  DueWithin(due) if due in {d.value for d in DueWithin} else None)


def _list_page(db: DbDep, user: Principal, listed: Listed, page: int, per_page: int) -> Page[TicketOut]:
    """One page of the list the caller sees: a merchant's own newest first (or one status, or open), else the queue."""
    if user.is_merchant:
        if listed.status is None and not listed.only_open:
            return tickets.list_newest(db, user, page=page, per_page=per_page)
        return tickets.list_tickets(db, user, TicketFilters(status=listed.status,
                                                            open=True if listed.only_open else None),
                                    page=page, per_page=per_page)
    filters = TicketFilters(status=listed.status, open=None if listed.status else True,
                            breached=True if listed.breached else None, due=listed.due)
    return tickets.list_tickets(db, user, filters, page=page, per_page=per_page)


@router.get("/tickets.csv")
def ticket_export(request: Request, db: DbDep, user: PageUser, status: Word = "", breached: Word = "", due: Word = "",
                  open: Word = "") -> Response:
    """The ticket list's filtered rows, every page, as CSV (see posops.core.export); a technician's list is theirs."""
    if user.role is Role.TECHNICIAN:
        return RedirectResponse("/tickets/mine", status_code=303)
    listed = _listed(status, breached, due, open)
    rows = every_page(lambda number, size: _list_page(db, user, listed, number, size))
    lang, now = page_lang(request), utcnow()

    def badge(ticket: TicketOut) -> str | None:
        found = sla_badge(ticket, now)
        return translate(f"tickets.sla.{found}", lang) if found else None

    return csv_response(rows, [
        Column("tickets.number", lambda x: x.id),
        Column("field.serial_number", lambda x: x.serial_number, verbatim=True),
        Column("field.tid", lambda x: x.tid, verbatim=True),
        Column("field.model", lambda x: x.model),
        Column("field.merchant", lambda x: x.merchant_name),
        Column("field.status", lambda x: translate(f"tickets.status.{x.status}", lang)),
        Column("export.waiting_for", lambda x: translate(f"tickets.waiting.{x.waiting_for}", lang)
               if x.waiting_for else None),
        Column("tickets.priority", lambda x: translate(f"tickets.priority.{x.priority}", lang)),
        Column("tickets.assignee", lambda x: x.assignee),
        Column("export.created_at", lambda x: x.created_at),
        Column("tickets.sla.resolve_by", lambda x: x.sla.resolve_by),
        Column("tickets.sla.title", badge),
    ], lang=lang, name="tickets")


@router.get("/tickets/mine", response_class=HTMLResponse)
def technician_day(request: Request, db: DbDep, user: PageUser) -> HTMLResponse:
    """A technician's phone page: today's visits (local date), then the rest of the assigned open queue."""
    require_role(user, Role.TECHNICIAN)
    queue = tickets.list_tickets(db, user, TicketFilters(open=True), per_page=MAX_QUEUE).items
    day = today()
    visits = sorted((t for t in queue if t.scheduled_for is not None and local_date(t.scheduled_for) == day),
                    key=lambda t: t.scheduled_for or utcnow())
    shown = {t.id for t in visits}
    return _render(request, "tickets/technician.html", {
        "visits": _rows(visits), "rest": _rows([t for t in queue if t.id not in shown]), "today": day})


@router.get("/tickets/new", response_class=HTMLResponse)
def new_ticket(request: Request, db: DbDep, user: PageUser, terminal: Word = "") -> HTMLResponse:
    """The repair report form, for the terminal named (SN, TID or id) or one to pick."""
    require_role(user, *tickets.OPENERS)
    return _new_page(request, db, user, {"terminal": terminal.strip()}, chosen=terminal.strip())


def _new_page(request: Request, db: DbDep, user: Principal, form: dict[str, str], *, chosen: str = "",
              errors: dict[str, str] | None = None, refused: Refusal | None = None,
              status_code: int = 200) -> HTMLResponse:
    lang = page_lang(request)
    device = None
    if chosen:
        device = terminals.get_terminal(db, user, terminals.terminal_id_for(db, user, chosen))
    choices: list[Any] = []
    if device is None and user.is_merchant:
        choices = terminals.list_terminals(db, user, TerminalFilters(), per_page=MAX_QUEUE).items
    return _render(request, "tickets/new.html", {
        "form": form, "device": device, "choices": [c for c in choices if c.status != TerminalStatus.DECOMMISSIONED],
        "errors": errors or {}, "refusal": refused, "symptoms": _symptom_options(lang),
        "may_prioritise": user.role in tickets.DESK}, status_code)


@router.post("/tickets", response_class=HTMLResponse)
def open_ticket(request: Request, db: DbDep, user: PageUser, csrf_token: Field = "", terminal: Field = "",
                description: Field = "", channel: Field = "onsite", priority: Field = "normal",
                symptom: Field = "") -> Response:
    """Report a terminal for repair from the form; the new ticket's page follows."""
    check_csrf(request, csrf_token)
    require_role(user, *tickets.OPENERS)
    lang = page_lang(request)
    form = {"terminal": terminal.strip(), "description": description, "channel": channel, "priority": priority,
            "symptom": symptom}
    errors: dict[str, str] = {}
    status_code = 422
    terminal_id: Id | None = None
    if not form["terminal"]:
        errors["terminal"] = translate(_HINTS["terminal"], lang)
    else:
        try:
            terminal_id = terminals.terminal_id_for(db, user, form["terminal"])
        except NotFound:
            errors["terminal"], status_code = translate(_HINTS["terminal_unknown"], lang), 404
    # a stand-in id while the terminal is missing, so the other fields' problems are shown in the same answer
    values = {"terminal_id": terminal_id or 1, "description": description, "channel": channel or "onsite",
              "priority": (priority or "normal") if user.role in tickets.DESK else "normal",
              "symptom": symptom or None}
    data: TicketIn | None = None
    try:
        data = validated(TicketIn, values)
    except Invalid as exc:
        errors = {**field_errors(exc, lang), **errors}
        status_code = 422
    if errors or data is None or terminal_id is None:
        return _new_page(request, db, user, form, errors=errors, status_code=status_code)
    try:
        created = tickets.create_ticket(db, user, data)
    except PosopsError as exc:
        refused = ticket_refusal(exc, lang)
        return _new_page(request, db, user, form, refused=refused, status_code=refused.status)
    return RedirectResponse(f"/tickets/{created.id}", status_code=303)


MAX_RELIABILITY_DAYS = 3660
"""The longest span the reliability page reads (as the API's ``days``); a longer one shows the default year."""


@router.get("/tickets/reliability", response_class=HTMLResponse)
def reliability_page(request: Request, db: DbDep, user: PageUser, group_by: Word = "model",
                     days: Word = "365") -> HTMLResponse:
    """MTTR and MTBF by model or region from the maintenance records, with their definitions and a bar chart."""
    group = GroupBy.REGION if group_by == GroupBy.REGION else GroupBy.MODEL
    span = int(days) if days.strip().isdigit() and 1 <= int(days) <= MAX_RELIABILITY_DAYS else 365
    figures = tickets.reliability(db, user, group, days=span)
    most = max((g["failures"] for g in figures.groups), default=0)
    return _render(request, "tickets/reliability.html", {
        "figures": figures, "group_by": group.value, "days": span, "most": most or 1,
        "groupings": [GroupBy.MODEL, GroupBy.REGION]})


# the ticket page -----------------------------------------------------------------------------


@router.get("/tickets/{ticket_id}", response_class=HTMLResponse)
def ticket_page(request: Request, ticket_id: Id, db: DbDep, user: PageUser) -> HTMLResponse:
    """One ticket: the terminal, the complaint and the diagnosis, SLA, work, loaners, documents and the forms open."""
    return _page(request, db, user, ticket_id)


def _page(request: Request, db: DbDep, user: Principal, ticket_id: Id,
          refused: Refusal | None = None) -> HTMLResponse:
    ticket = tickets.get_ticket(db, user, ticket_id)
    lang = page_lang(request)
    allowed = set(ticket.allowed)
    desk = user.role in tickets.DESK
    is_open = ticket.status in OPEN_STATUSES
    acceptance = user.is_merchant and TicketStatus.ACCEPTED in allowed
    own_forms = {TicketStatus.ASSIGNED, TicketStatus.WAITING, TicketStatus.SCHEDULED, TicketStatus.REPLACED}
    if acceptance:
        own_forms |= {TicketStatus.ACCEPTED, TicketStatus.IN_REPAIR}
    work_cost = sum(p.cost_fen for w in ticket.work for p in w.parts)
    return _render(request, "tickets/ticket.html", {
        "ticket": ticket, "badge": sla_badge(ticket, utcnow()), "found": prefill(ticket, lang),
        "materials": ticket.materials or {}, "work_cost": work_cost,
        "moves": [s for s in ticket.allowed if s not in own_forms],
        "can_wait": TicketStatus.WAITING in allowed, "can_schedule": TicketStatus.SCHEDULED in allowed,
        "can_replace": TicketStatus.REPLACED in allowed, "can_refuse": TicketStatus.IN_REPAIR in allowed,
        "can_assign": desk and is_open, "can_prioritise": desk and is_open,
        "can_work": is_open and (desk or user.role is Role.TECHNICIAN), "acceptance": acceptance,
        "can_reserve": desk and is_open, "can_handle_loans": desk or user.role is Role.TECHNICIAN,
        "can_upload": user.role in (*tickets.OPENERS, Role.TECHNICIAN),
        "causes": _cause_options(ticket, lang) if is_open else [],
        "loan_begins": today(), "loan_ends": today() + timedelta(days=LOAN_DAYS),
        "refusal": refused}, refused.status if refused else 200)


def _act(request: Request, db: DbDep, user: Principal, ticket_id: Id, csrf_token: str,
         action: Callable[[], Any], done: Callable[[Any], int] | None = None) -> Response:
    """Run a ticket form: back to the ticket's page (303), or its page with the refusal in the viewer's language."""
    check_csrf(request, csrf_token)
    try:
        result = action()
    except PosopsError as exc:
        try:
            return _page(request, db, user, ticket_id, ticket_refusal(exc, page_lang(request)))
        except NotFound:
            raise exc from None  # the caller may not see the ticket: the refusal itself, on the error page
    return RedirectResponse(f"/tickets/{done(result) if done else ticket_id}", status_code=303)


@router.post("/tickets/{ticket_id}/move")
def move(request: Request, ticket_id: Id, db: DbDep, user: PageUser, csrf_token: Field = "", to: Field = "",
         note: Field = "", waiting_for: Field = "", scheduled_for: Field = "", replacement_serial: Field = "",
         replacement_model: Field = "", replacement_vendor: Field = "") -> Response:
    """Move the ticket: waiting names what for, scheduled the local visit time, replaced the new device."""
    def action() -> object:
        values: dict[str, Any] = {"to": to, "note": note}
        if to == TicketStatus.WAITING:
            if not waiting_for:
                raise Invalid("waiting_for", key="error.invalid.required")
            values["waiting_for"] = waiting_for
        if to == TicketStatus.SCHEDULED:
            values["scheduled_for"] = _local_instant(scheduled_for, "scheduled_for")
        if to == TicketStatus.REPLACED:
            values["replacement"] = {"serial_number": replacement_serial, "model": replacement_model,
                                     "vendor": replacement_vendor}
        return tickets.transition(db, user, ticket_id, validated(TransitionIn, values))
    return _act(request, db, user, ticket_id, csrf_token, action)


@router.post("/tickets/{ticket_id}/assign")
def assign(request: Request, ticket_id: Id, db: DbDep, user: PageUser, csrf_token: Field = "",
           technician: Field = "", note: Field = "") -> Response:
    """Assign to the technician named, or leave it empty to pick the region's least busy one (desk)."""
    return _act(request, db, user, ticket_id, csrf_token, lambda: tickets.assign(
        db, user, ticket_id, validated(AssignIn, {"technician": technician.strip() or None, "note": note})))


@router.post("/tickets/{ticket_id}/priority")
def change_priority(request: Request, ticket_id: Id, db: DbDep, user: PageUser, csrf_token: Field = "",
                    priority: Field = "", note: Field = "") -> Response:
    """Change the priority; the SLA is re-bound (desk)."""
    return _act(request, db, user, ticket_id, csrf_token, lambda: tickets.change_priority(
        db, user, ticket_id, validated(PriorityIn, {"priority": priority, "note": note})))


@router.post("/tickets/{ticket_id}/work")
def record_work(request: Request, ticket_id: Id, db: DbDep, user: PageUser, csrf_token: Field = "",
                minutes: Field = "", confirmed_cause: Field = "", part_name: Field = "", part_quantity: Field = "",
                part_cost: Field = "", outcome: Field = "", note: Field = "") -> Response:
    """Log work: minutes, the cause found, one part with its unit cost in 元 (stored in fen), outcome, note."""
    def action() -> object:
        parts = []
        if part_name.strip():
            parts.append({"name": part_name, "quantity": part_quantity.strip() or "1",
                          "unit_cost_fen": _fen(part_cost, "part_cost")})
        elif part_cost.strip():
            raise Invalid("part_name", key="tickets.error.part_name_needed")
        values = {"minutes": minutes.strip() or "0", "confirmed_cause": confirmed_cause.strip() or None,
                  "parts": parts, "outcome": outcome or None, "note": note}
        return tickets.record_work(db, user, ticket_id, validated(WorkIn, values))
    return _act(request, db, user, ticket_id, csrf_token, action)


@router.post("/tickets/{ticket_id}/acceptance")
def accept(request: Request, ticket_id: Id, db: DbDep, user: PageUser, csrf_token: Field = "",
           accepted: Field = "1", note: Field = "") -> Response:
    """The merchant's acceptance (验收通过), or 仍有问题 with what is still wrong (back to repair)."""
    def action() -> object:
        ok = accepted != "0"
        if not ok and not note.strip():
            raise Invalid("acceptance_note", key="tickets.error.acceptance_note_needed")
        return tickets.accept(db, user, ticket_id, validated(AcceptIn, {"accepted": ok, "note": note}))
    return _act(request, db, user, ticket_id, csrf_token, action)


@router.post("/tickets/{ticket_id}/documents")
def upload_document(request: Request, ticket_id: Id, db: DbDep, user: PageUser, settings: SettingsDep,
                    upload: UploadDep, csrf_token: Field = "", name: Field = "") -> Response:
    """Attach a document (purchase proof, warranty card, photo of the fault) from the ticket page."""
    return _act(request, db, user, ticket_id, csrf_token, lambda: tickets.upload_document(
        db, user, settings.var_dir, ticket_id, name, upload.filename, upload.content_type, upload.content))


@router.post("/tickets/{ticket_id}/loaners")
def reserve_loaner(request: Request, ticket_id: Id, db: DbDep, user: PageUser, csrf_token: Field = "",
                   begins_on: Field = "", ends_on: Field = "") -> Response:
    """Hold a loaner (备用机) of the pool for the ticket's dates (desk); posops picks a free one."""
    def action() -> object:
        begins, ends = _day(begins_on, "begins_on"), _day(ends_on, "ends_on")
        if ends < begins or (ends - begins).days > MAX_LOAN_DAYS:
            raise Invalid("ends_on", key="tickets.error.loan_dates", days=MAX_LOAN_DAYS)
        return tickets.reserve(db, user, validated(ReservationIn, {"ticket_id": ticket_id, "begins_on": begins,
                                                                   "ends_on": ends}))
    return _act(request, db, user, ticket_id, csrf_token, action)


@router.post("/tickets/{ticket_id}/loaners/{reservation_id}/hand-over")
def hand_over_loaner(request: Request, ticket_id: Id, reservation_id: Id, db: DbDep, user: PageUser,
                     csrf_token: Field = "") -> Response:
    """Give the reserved loaner to the merchant (its TID takes the merchant's payments)."""
    return _act(request, db, user, ticket_id, csrf_token,
                lambda: tickets.hand_over_loaner(db, user, reservation_id), lambda r: int(r.ticket_id))


@router.post("/tickets/{ticket_id}/loaners/{reservation_id}/return")
def return_loaner(request: Request, ticket_id: Id, reservation_id: Id, db: DbDep, user: PageUser,
                  csrf_token: Field = "") -> Response:
    """Take the loaner back into the pool, or cancel a reservation not yet handed over."""
    return _act(request, db, user, ticket_id, csrf_token,
                lambda: tickets.return_loaner(db, user, reservation_id), lambda r: int(r.ticket_id))


# the terminal page's card --------------------------------------------------------------------


def repairs_section(db: DbDep, user: Principal, terminal_id: Id) -> dict[str, Any]:
    """The terminal page's repairs card: its maintenance records (维修记录), open tickets and the 报修 link."""
    records = tickets.maintenance(db, user, terminal_id)
    open_tickets = tickets.list_tickets(db, user, TicketFilters(terminal_id=terminal_id, open=True),
                                        per_page=SECTION_OPEN_TICKETS).items
    return {"repairs": {"records": records, "open": _rows(open_tickets), "local": local,
                        "badge_class": SECTION_BADGE_CLASS, "can_report": user.role in tickets.OPENERS,
                        "causes": cause_names([r.cause for r in records])}}


TERMINAL_SECTION = TerminalSection("tickets/terminal_section.html", repairs_section)
"""The terminal page's repairs card."""
