"""Use cases for merchants, terminals and their lifecycle (suspension, activation, dormancy): scoped and audited.

Onboarding applications (:mod:`posops.onboarding.service`) and reactivation requests
(:mod:`posops.reactivation.service`) build on the terminal helpers here (locking, moving a terminal
through a decided transition, notifying its merchant); each helper that takes a ``session`` joins
the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from posops.core import audit
from posops.core.audit import AuditEntity
from posops.core.auth import Principal, Role, ensure_visible, require_role, scoped
from posops.core.config import get_settings
from posops.core.db import Database, compare_and_set, conflict_on_duplicate, utcnow
from posops.core.errors import Conflict, Invalid, NotFound, Problem, excerpt
from posops.core.inputs import Id, one_line
from posops.core.labels import catalog_sentence
from posops.core.maker_checker import Maker, require_second_person
from posops.core.models import AuditEvent
from posops.core.paging import Page, check_limit, check_page, paginate
from posops.reactivation.conditions import lifts_risk_alone
from posops.reactivation.models import ReactivationRequest
from posops.terminals import arrears as rules
from posops.terminals import notices
from posops.terminals.csv_import import MAX_ROWS, parse_csv
from posops.terminals.lifecycle import (
    REASON_LABELS,
    Action,
    Actor,
    SuspensionReason,
    TerminalStatus,
    Transition,
    allowed_actions,
    decide,
    suspension_reasons_for,
)
from posops.terminals.models import FeePlan, Merchant, MerchantNotice, Suspension, Terminal
from posops.terminals.schemas import (
    DecommissionIn,
    FeePlanIn,
    FeePlanOut,
    LifecycleOut,
    MerchantIn,
    MerchantOut,
    MerchantPatch,
    NoticeOut,
    ReasonChangeIn,
    ScreenNoticeOut,
    SuspendIn,
    SuspensionOut,
    TerminalFilters,
    TerminalIn,
    TerminalOut,
    TerminalPatch,
    TimelineEventOut,
)

EDITORS = (Role.AGENT, Role.ADMIN)
LOOKUP_CHUNK = 500
"""How many TIDs one IN (…) lookup carries."""


class TerminalCsvRow(TerminalIn):
    """A terminal row of an import file: the merchant may be named by id or by legal id."""

    merchant_id: Id | None = None  # type: ignore[assignment]
    merchant_legal_id: Annotated[str, one_line(32)] | None = None


def _snapshot(row: Merchant | Terminal) -> dict[str, Any]:
    """Plain JSON-able values of a row's columns, for audit before/after."""
    values = {c.key: getattr(row, c.key) for c in row.__table__.columns
              if c.key not in ("created_at", "updated_at")}
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in values.items()}


# merchants ------------------------------------------------------------------------------------


def list_merchants(db: Database, principal: Principal, *, q: str | None = None, region: str | None = None,
                   page: int = 1, per_page: int = 50) -> Page[MerchantOut]:
    """List the merchants the caller may see."""
    check_page(page, per_page)
    query = select(Merchant).order_by(Merchant.id)
    query = scoped(query, principal, Merchant.id)
    if region:
        query = query.where(Merchant.region == region)
    if q:
        query = query.where(or_(Merchant.name.contains(q), Merchant.legal_id.contains(q)))
    with db.transaction() as session:
        rows, total = paginate(session, query, page, per_page)
        return Page[MerchantOut](items=[MerchantOut.model_validate(m) for m in rows], total=total,
                                 page=page, per_page=per_page)


def get_merchant(db: Database, principal: Principal, merchant_id: int) -> MerchantOut:
    """Read one merchant the caller may see."""
    with db.transaction() as session:
        return MerchantOut.model_validate(_load_merchant(session, principal, merchant_id))


def _load_merchant(session: Session, principal: Principal, merchant_id: int) -> Merchant:
    ensure_visible(principal, merchant_id, "merchant")
    merchant = session.get(Merchant, merchant_id)
    if merchant is None:
        raise NotFound(key="error.not_found.merchant")
    return merchant


def create_merchant(db: Database, principal: Principal, data: MerchantIn) -> MerchantOut:
    """Create a merchant (agents and admins)."""
    require_role(principal, *EDITORS)
    with db.transaction() as session:
        merchant = insert_merchant(session, principal, data)
        return MerchantOut.model_validate(merchant)


def insert_merchant(session: Session, principal: Principal, data: MerchantIn) -> Merchant:
    """Create a merchant in the caller's transaction, audited (409 when its legal id is taken)."""
    if session.scalar(select(Merchant.id).where(Merchant.legal_id == data.legal_id)) is not None:
        raise Conflict(key="terminals.error.merchant_exists", legal_id=excerpt(data.legal_id))
    merchant = Merchant(**data.model_dump())
    session.add(merchant)
    with conflict_on_duplicate(key="terminals.error.merchant_duplicate"):
        session.flush()
    audit.record(session, principal, AuditEntity.MERCHANT, merchant.id, "create", after=_snapshot(merchant))
    return merchant


def update_merchant(db: Database, principal: Principal, merchant_id: int, patch: MerchantPatch) -> MerchantOut:
    """Change a merchant's record (agents and admins)."""
    require_role(principal, *EDITORS)
    with db.transaction() as session:
        merchant = _load_merchant(session, principal, merchant_id)
        changes = patch.model_dump(exclude_unset=True)
        if changes.get("legal_id") not in (None, merchant.legal_id) and session.scalar(
                select(Merchant.id).where(Merchant.legal_id == changes["legal_id"])) is not None:
            raise Conflict(key="terminals.error.merchant_exists", legal_id=excerpt(changes["legal_id"]))
        before = _snapshot(merchant)
        for name, value in changes.items():
            if value is None:
                raise Invalid(name, key="error.invalid.not_null")
            setattr(merchant, name, value)
        with conflict_on_duplicate(key="terminals.error.merchant_duplicate"):
            session.flush()
        audit.record(session, principal, AuditEntity.MERCHANT, merchant.id, "update",
                     before=before, after=_snapshot(merchant))
        return MerchantOut.model_validate(merchant)


def import_merchants(db: Database, principal: Principal, content: bytes, *, max_rows: int = MAX_ROWS) -> int:
    """Import merchants from CSV: every row or none, at most ``max_rows``; errors name their line."""
    require_role(principal, *EDITORS)
    parsed = parse_csv(content, MerchantIn, max_rows=max_rows)
    errors = list(parsed.errors)
    seen: dict[str, int] = {}
    for line, row in parsed.rows:
        if row.legal_id in seen:
            duplicate = catalog_sentence("terminals.error.csv_duplicate", line=seen[row.legal_id])
            errors.append(Problem("legal_id", duplicate, line))
        seen.setdefault(row.legal_id, line)
    with db.transaction() as session:
        existing = set(session.scalars(select(Merchant.legal_id).where(Merchant.legal_id.in_(list(seen)))))
        errors += [Problem("legal_id", catalog_sentence("terminals.error.merchant_legal_id_exists"), line)
                   for line, row in parsed.rows if row.legal_id in existing]
        return _insert_all(session, principal, [row for _, row in parsed.rows], errors, insert_merchant)


def _insert_all(session: Session, principal: Principal, rows: Sequence[Any], errors: list[Problem],
                insert: Callable[[Session, Principal, Any], object]) -> int:
    """Insert every row of a CSV import, or none: all the file's errors at once, or an empty file, refuse it."""
    if errors:
        raise Invalid.many(sorted(errors, key=lambda e: e.line or 0))
    if not rows:
        raise Invalid("file", key="terminals.error.csv_no_rows")
    for row in rows:
        insert(session, principal, row)
    return len(rows)


# terminals ------------------------------------------------------------------------------------


def _terminal_out(terminal: Terminal) -> TerminalOut:
    return TerminalOut.model_validate({**_snapshot(terminal), "merchant_name": terminal.merchant.name,
                                       "created_at": terminal.created_at, "updated_at": terminal.updated_at})


def list_terminals(db: Database, principal: Principal, filters: TerminalFilters, *, page: int = 1,
                   per_page: int = 50) -> Page[TerminalOut]:
    """List the terminals the caller may see, filtered and paginated."""
    check_page(page, per_page)
    query = select(Terminal).join(Terminal.merchant).order_by(Terminal.id)
    query = scoped(query, principal, Terminal.merchant_id)
    if filters.merchant_id is not None:
        query = query.where(Terminal.merchant_id == filters.merchant_id)
    for column, value in ((Terminal.status, filters.status), (Terminal.model, filters.model),
                          (Terminal.region, filters.region)):
        if value:
            query = query.where(column == value)
    if filters.q:
        needle = filters.q.strip()
        query = query.where(or_(Terminal.serial_number.contains(needle), Terminal.tid.contains(needle)))
    with db.transaction() as session:
        rows, total = paginate(session, query, page, per_page)
        return Page[TerminalOut](items=[_terminal_out(t) for t in rows], total=total, page=page,
                                 per_page=per_page)


def terminal_models(db: Database, principal: Principal) -> list[str]:
    """The device models among the terminals the caller may see, in alphabetical order (the list's model filter)."""
    query = scoped(select(Terminal.model).distinct().order_by(Terminal.model), principal, Terminal.merchant_id)
    with db.transaction() as session:
        return [model for model in session.scalars(query) if model]


def load_terminal(session: Session, principal: Principal, terminal_id: int) -> Terminal:
    """Load a terminal inside a caller's transaction, as NotFound when the caller may not see it."""
    terminal = session.get(Terminal, terminal_id)
    if terminal is None:
        raise NotFound(key="error.not_found.terminal")
    ensure_visible(principal, terminal.merchant_id, "terminal")
    return terminal


def find_terminal(session: Session, principal: Principal, ref: str) -> Terminal:
    """Find a terminal by serial number, TID or numeric id, as the caller may see it."""
    ref = ref.strip()
    terminal = session.scalar(select(Terminal).where(or_(Terminal.serial_number == ref, Terminal.tid == ref))
                              .order_by(Terminal.status == TerminalStatus.DECOMMISSIONED, Terminal.id.desc()).limit(1))
    if terminal is None and ref.isdigit():
        terminal = session.get(Terminal, int(ref))
    if terminal is None:
        raise NotFound(key="error.not_found.terminal")
    ensure_visible(principal, terminal.merchant_id, "terminal")
    return terminal


def terminal_id_for(db: Database, principal: Principal, ref: str) -> int:
    """The id of the terminal a serial number, TID or id names, if the caller may see it (for the CLI)."""
    with db.transaction() as session:
        return find_terminal(session, principal, ref).id


def get_terminal(db: Database, principal: Principal, terminal_id: int) -> TerminalOut:
    """Read one terminal the caller may see."""
    with db.transaction() as session:
        return _terminal_out(load_terminal(session, principal, terminal_id))


def check_identity_free(session: Session, serial_number: str | None, tid: str | None,
                        exclude_id: int | None = None) -> None:
    """Raise Conflict when another terminal already has this serial number or TID."""
    for column, value, taken in ((Terminal.serial_number, serial_number, "terminals.error.serial_number_taken"),
                                 (Terminal.tid, tid, "terminals.error.tid_taken")):
        if value is None:
            continue
        query = select(Terminal.id).where(column == value)
        if column is Terminal.tid:
            query = query.where(Terminal.status != TerminalStatus.DECOMMISSIONED)
        if exclude_id is not None:
            query = query.where(Terminal.id != exclude_id)
        if session.scalar(query) is not None:
            raise Conflict(key=taken, value=excerpt(value))


def insert_terminal(session: Session, principal: Principal, data: BaseModel, *,
                    application_id: int | None = None) -> Terminal:
    """Register a terminal in the caller's transaction, audited (with the onboarding application it came from)."""
    values = data.model_dump(exclude={"merchant_legal_id"})
    terminal = Terminal(**values, application_id=application_id)
    if terminal.status in (TerminalStatus.ACTIVE, TerminalStatus.SUSPENDED):
        terminal.activated_at = utcnow()
    session.add(terminal)
    with conflict_on_duplicate(key="terminals.error.terminal_duplicate"):
        session.flush()
    audit.record(session, principal, AuditEntity.TERMINAL, terminal.id, "create", after=_snapshot(terminal))
    return terminal


def create_terminal(db: Database, principal: Principal, data: TerminalIn) -> TerminalOut:
    """Register a terminal (agents and admins)."""
    require_role(principal, *EDITORS)
    with db.transaction() as session:
        if session.get(Merchant, data.merchant_id) is None:
            raise Invalid("merchant_id", key="error.invalid.no_merchant", merchant_id=data.merchant_id)
        check_identity_free(session, data.serial_number, data.tid)
        terminal = insert_terminal(session, principal, data)
        session.refresh(terminal)
        return _terminal_out(terminal)


def update_terminal(db: Database, principal: Principal, terminal_id: int, patch: TerminalPatch) -> TerminalOut:
    """Change a terminal's record (agents and admins); status changes go through the lifecycle."""
    require_role(principal, *EDITORS)
    with db.transaction() as session:
        terminal = load_terminal(session, principal, terminal_id)
        changes = patch.model_dump(exclude_unset=True)
        nullable = {"purchase_date", "warranty_end"}
        for name, value in changes.items():
            if value is None and name not in nullable:
                raise Invalid(name, key="error.invalid.not_null")
        if "merchant_id" in changes and session.get(Merchant, changes["merchant_id"]) is None:
            raise Invalid("merchant_id", key="error.invalid.no_merchant", merchant_id=changes["merchant_id"])
        check_identity_free(session, changes.get("serial_number"), changes.get("tid"), exclude_id=terminal.id)
        purchase = changes.get("purchase_date", terminal.purchase_date)
        warranty = changes.get("warranty_end", terminal.warranty_end)
        if purchase and warranty and warranty < purchase:
            raise Invalid("warranty_end", key="terminals.error.warranty_before_purchase")
        before = _snapshot(terminal)
        for key, value in changes.items():
            setattr(terminal, key, value)
        with conflict_on_duplicate(key="terminals.error.terminal_duplicate"):
            session.flush()
        audit.record(session, principal, AuditEntity.TERMINAL, terminal.id, "update",
                     before=before, after=_snapshot(terminal))
        session.refresh(terminal)
        return _terminal_out(terminal)


def import_terminals(db: Database, principal: Principal, content: bytes, *, max_rows: int = MAX_ROWS) -> int:
    """Import terminals from CSV: every row or none, at most ``max_rows``; errors name their line and field."""
    require_role(principal, *EDITORS)
    parsed = parse_csv(content, TerminalCsvRow, max_rows=max_rows)
    errors = list(parsed.errors)
    seen: dict[tuple[str, str], int] = {}
    for line, row in parsed.rows:
        for field in ("serial_number", "tid"):
            key = (field, getattr(row, field))
            if key in seen:
                errors.append(Problem(field, catalog_sentence("terminals.error.csv_duplicate", line=seen[key]), line))
            seen.setdefault(key, line)
    with db.transaction() as session:
        serials = {r.serial_number for _, r in parsed.rows}
        tids = {r.tid for _, r in parsed.rows}
        taken_serials = set(session.scalars(select(Terminal.serial_number).where(Terminal.serial_number.in_(serials))))
        taken_tids = set(session.scalars(select(Terminal.tid).where(Terminal.tid.in_(tids),
                                                                    Terminal.status != TerminalStatus.DECOMMISSIONED)))
        legal_ids = {legal_id: mid for legal_id, mid in session.execute(select(Merchant.legal_id, Merchant.id))}
        merchant_ids = set(legal_ids.values())
        for line, row in parsed.rows:
            if row.serial_number in taken_serials:
                errors.append(Problem("serial_number", catalog_sentence("terminals.error.serial_number_exists"), line))
            if row.tid in taken_tids:
                errors.append(Problem("tid", catalog_sentence("terminals.error.tid_exists"), line))
            if row.merchant_id is None and row.merchant_legal_id is not None:
                row.merchant_id = legal_ids.get(row.merchant_legal_id)
                if row.merchant_id is None:
                    errors.append(Problem("merchant_legal_id", catalog_sentence("terminals.error.no_merchant_legal_id",
                                                                               legal_id=row.merchant_legal_id), line))
            elif row.merchant_id is None:
                errors.append(Problem("merchant_id", catalog_sentence("terminals.error.merchant_needed"), line))
            elif row.merchant_id not in merchant_ids:
                errors.append(Problem("merchant_id", catalog_sentence("error.invalid.no_merchant",
                                                                         merchant_id=row.merchant_id), line))
        return _insert_all(session, principal, [row for _, row in parsed.rows], errors, insert_terminal)


# lifecycle: helpers that join the caller's transaction (onboarding, reactivation, traffic, telemetry) ---

SYSTEM = Principal(user_id=None, username="dormancy-scan", role=Role.SYSTEM)
"""The scheduled worker, as it appears in the audit log (role ``system``)."""
TERMINAL_REPORT = Principal(user_id=None, username="terminal-report", role=Role.SYSTEM)
"""A terminal's own report (sign-in, transaction), as it appears in the audit log."""

ACCOUNT_STATUS_BY_REASON: dict[str, str] = {
    SuspensionReason.ARREARS: "arrears",
    SuspensionReason.RISK_LIMIT: "risk_limited",
    SuspensionReason.SECURITY: "risk_limited",
    SuspensionReason.DORMANT: "dormant",
    SuspensionReason.POLICY: "policy_hold",
    SuspensionReason.OTHER: "policy_hold",
    # The hold is about the device or its software, not the merchant's account: other checks show it.
    SuspensionReason.DEVICE_FAULT: "ok",
    SuspensionReason.SYSTEM_UPDATE: "ok",
}
"""Outcome of the diagnosis check ``account_status`` for a terminal suspended for each reason."""


def lock_terminal(session: Session, principal: Principal, terminal_id: int) -> Terminal:
    """Load a terminal the caller may see, locked for this transaction (FOR UPDATE on PostgreSQL)."""
    terminal = session.scalar(select(Terminal).where(Terminal.id == terminal_id).with_for_update()
                              .execution_options(populate_existing=True))
    if terminal is None:
        raise NotFound(key="error.not_found.terminal")
    ensure_visible(principal, terminal.merchant_id, "terminal")
    return terminal


def terminal_state(terminal: Terminal) -> dict[str, Any]:
    """The lifecycle columns of a terminal, for audit before/after."""
    return {"status": terminal.status, "status_reason": terminal.status_reason, "must_sign_in": terminal.must_sign_in}


def move_terminal(session: Session, terminal: Terminal, transition: Transition, **values: Any) -> None:
    """Apply a decided transition with a conditional UPDATE; 409 when the terminal changed meanwhile."""
    reason_now = (Terminal.status_reason.is_(None) if transition.from_reason is None
                  else Terminal.status_reason == transition.from_reason.value)
    to_reason = transition.to_reason.value if transition.to_reason is not None else None
    compare_and_set(session, update(Terminal)
                    .where(Terminal.id == terminal.id, Terminal.status == transition.from_status.value, reason_now)
                    .values(status=transition.to_status.value, status_reason=to_reason, updated_at=utcnow(), **values),
                    key="terminals.error.changed_meanwhile", sn=terminal.serial_number)
    session.refresh(terminal)


def lend_terminal(session: Session, principal: Principal, terminal: Terminal, *, merchant_id: int, mid: str,
                  why: str) -> None:
    """Bind a (locked) loaner terminal to another merchant and MID in the caller's transaction, audited.

    The loaner then takes that merchant's payments under its own TID; handing it back binds it to
    the pool account again.
    """
    before = {"merchant_id": terminal.merchant_id, "mid": terminal.mid}
    terminal.merchant_id, terminal.mid = merchant_id, mid
    session.flush()
    audit.record(session, principal, AuditEntity.TERMINAL, terminal.id, "lend", before=before,
                 after={"merchant_id": terminal.merchant_id, "mid": terminal.mid}, reason=why)


def current_suspension(session: Session, terminal_id: int) -> Suspension | None:
    """Return the terminal's suspension that has not ended, if any."""
    return session.scalar(select(Suspension).where(Suspension.terminal_id == terminal_id,
                                                   Suspension.ended_at.is_(None))
                          .order_by(Suspension.id.desc()).limit(1))


def suspension_chain(session: Session, suspension: Suspension) -> list[Suspension]:
    """The suspension and those it re-labelled, newest first: one stop of the terminal, under each reason it carried."""
    chain = [suspension]
    earlier = session.scalars(select(Suspension).where(Suspension.terminal_id == suspension.terminal_id,
                                                       Suspension.id < suspension.id).order_by(Suspension.id.desc()))
    for previous in earlier:
        if previous.end_action != Action.CHANGE_REASON.value:
            break
        chain.append(previous)
    return chain


def suspension_imposer(session: Session, suspension: Suspension) -> Maker:
    """Who imposed a suspension (read only), for maker–checker: the user of its audit entry, else its name."""
    events = session.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == AuditEntity.TERMINAL, AuditEvent.entity_id == str(suspension.terminal_id),
        AuditEvent.action.in_((Action.SUSPEND.value, Action.CHANGE_REASON.value))).order_by(AuditEvent.id.desc()))
    user_id = next((e.actor_user_id for e in events if (e.after or {}).get("suspension_id") == suspension.id), None)
    return Maker(suspension.suspended_by, user_id, "terminals.maker.suspended")


def end_suspension(session: Session, principal: Principal, terminal_id: int, action: Action) -> Suspension | None:
    """Close the terminal's current suspension, saying how it ended."""
    suspension = current_suspension(session, terminal_id)
    if suspension is not None:
        suspension.ended_at = utcnow()
        suspension.ended_by = principal.username
        suspension.end_action = action.value
    return suspension


def pure_fee_plan(plan: FeePlan) -> rules.FeePlan:
    """The rules' view of a stored fee plan."""
    return rules.FeePlan(monthly_fee_fen=plan.monthly_fee_fen, daily_penalty_bp=plan.daily_penalty_bp,
                         grace_days=plan.grace_days, monthly_data_fee_fen=plan.monthly_data_fee_fen,
                         penalty_cap_fen=plan.penalty_cap_fen)


def notify_merchant(session: Session, terminal: Terminal, kind: str, notice: notices.MerchantNotice) -> None:
    """Keep a notice for the terminal's merchant (shown in the console, the basis for SMS or e-mail)."""
    session.add(MerchantNotice(merchant_id=terminal.merchant_id, terminal_id=terminal.id, kind=kind,
                               title_zh=notice.title_zh, body_zh=notice.body_zh, title_en=notice.title_en,
                               body_en=notice.body_en))


def record_installed_version(session: Session, actor: Principal, terminal_id: int, kind: str, version: str,
                             *, campaign_id: int) -> None:
    """Set the app or firmware version a terminal installed through a campaign, audited, in the caller's transaction."""
    terminal = session.get(Terminal, terminal_id, with_for_update=True)
    if terminal is None:
        return
    column = "firmware_version" if kind == "firmware" else "app_version"
    before = getattr(terminal, column)
    if before == version:
        return
    setattr(terminal, column, version)
    audit.record(session, actor, AuditEntity.TERMINAL, terminal.id, "software_installed",
                 before={column: before}, after={column: version, "campaign_id": campaign_id})


def _dates(values: Sequence[str | date] | None) -> list[date]:
    return [v if isinstance(v, date) else date.fromisoformat(v) for v in values or []]


def _arrears_statement(session: Session, merchant_id: int, due_dates: Sequence[str | date] | None,
                       as_of: date) -> rules.ArrearsStatement | None:
    plan = session.get(FeePlan, merchant_id)
    if plan is None or not due_dates:
        return None
    return rules.compute_arrears(pure_fee_plan(plan), _dates(due_dates), as_of)


def _suspend(session: Session, principal: Principal, terminal: Terminal, transition: Transition, note: str, *,
             unpaid_due_dates: Sequence[date] | None = None, documents_requested: Sequence[str] = (),
             required_version: str | None = None) -> Suspension:
    """Suspend (or re-label the suspension of) a locked terminal, audit it and notify its merchant."""
    before = terminal_state(terminal)
    if transition.action is Action.CHANGE_REASON:
        end_suspension(session, principal, terminal.id, Action.CHANGE_REASON)
    move_terminal(session, terminal, transition)
    assert transition.to_reason is not None
    suspension = Suspension(terminal_id=terminal.id, reason=transition.to_reason.value, note=note,
                            unpaid_due_dates=[d.isoformat() for d in unpaid_due_dates] if unpaid_due_dates else None,
                            documents_requested=list(documents_requested), required_version=required_version,
                            suspended_by=principal.username, suspended_by_role=principal.role.value)
    session.add(suspension)
    session.flush()
    details = {k: v for k, v in (("unpaid_due_dates", suspension.unpaid_due_dates),
                                 ("documents_requested", suspension.documents_requested or None),
                                 ("required_version", required_version)) if v}
    audit.record(session, principal, AuditEntity.TERMINAL, terminal.id, transition.action.value, before=before,
                 after={**terminal_state(terminal), "suspension_id": suspension.id, **details}, reason=note)
    statement = _arrears_statement(session, terminal.merchant_id, unpaid_due_dates, utcnow().date())
    notify_merchant(session, terminal, "suspended", notices.suspension_notice(
        transition.to_reason, terminal=terminal.tid, arrears=statement, documents=list(documents_requested),
        required_version=required_version))
    return suspension


def _screen(terminal: Terminal) -> notices.ScreenNotice | None:
    if terminal.status == TerminalStatus.SUSPENDED and terminal.status_reason:
        return notices.screen_notice(terminal.status_reason)
    if terminal.status == TerminalStatus.ACTIVE and terminal.must_sign_in:
        return notices.reactivated_screen_notice()
    return None


def _screen_out(notice: notices.ScreenNotice | None) -> ScreenNoticeOut | None:
    return None if notice is None else ScreenNoticeOut(zh_cn=list(notice.zh), en=list(notice.en))


# lifecycle use cases ---------------------------------------------------------------------------


def get_lifecycle(db: Database, principal: Principal, terminal_id: int) -> LifecycleOut:
    """Show a terminal's lifecycle: state, current suspension, screen notice and what the caller may do."""
    with db.transaction() as session:
        return _lifecycle_out(session, principal, load_terminal(session, principal, terminal_id))


def _lifecycle_out(session: Session, principal: Principal, terminal: Terminal) -> LifecycleOut:
    role = principal.role.value
    suspension = current_suspension(session, terminal.id) if terminal.status == TerminalStatus.SUSPENDED else None
    open_request = session.scalar(select(ReactivationRequest.id).where(
        ReactivationRequest.terminal_id == terminal.id,
        ReactivationRequest.status.in_(("submitted", "rejected"))).order_by(ReactivationRequest.id.desc()).limit(1))
    recent = session.scalars(select(MerchantNotice).where(MerchantNotice.terminal_id == terminal.id)
                             .order_by(MerchantNotice.id.desc()).limit(5))
    reasons = (suspension_reasons_for(role, terminal.status_reason) if terminal.status == TerminalStatus.SUSPENDED
               else suspension_reasons_for(role) if terminal.status == TerminalStatus.ACTIVE else [])
    return LifecycleOut(
        terminal_id=terminal.id, status=terminal.status, status_reason=terminal.status_reason,
        must_sign_in=terminal.must_sign_in,
        allowed_actions=[a.value for a in allowed_actions(terminal.status, terminal.status_reason, role)],
        suspend_reasons=[r.value for r in reasons],
        suspension=SuspensionOut.model_validate(suspension) if suspension else None,
        screen_notice=_screen_out(_screen(terminal)), open_request_id=open_request,
        notices=[NoticeOut.model_validate(n) for n in recent])


def suspend_terminal(db: Database, principal: Principal, terminal_id: int, data: SuspendIn) -> LifecycleOut:
    """Suspend an active terminal (agent or risk; security and risk_limit: risk only), notifying its merchant."""
    with db.transaction() as session:
        terminal = lock_terminal(session, principal, terminal_id)
        transition = decide(terminal.status, terminal.status_reason, principal.role.value, Action.SUSPEND,
                            new_reason=data.reason)
        _suspend(session, principal, terminal, transition, data.note, unpaid_due_dates=data.unpaid_due_dates,
                 documents_requested=data.documents_requested, required_version=data.required_version)
        return _lifecycle_out(session, principal, terminal)


def change_suspension_reason(db: Database, principal: Principal, terminal_id: int,
                             data: ReasonChangeIn) -> LifecycleOut:
    """Re-label a suspension (risk may escalate any to security; lifting a risk reason needs risk)."""
    with db.transaction() as session:
        terminal = lock_terminal(session, principal, terminal_id)
        transition = decide(terminal.status, terminal.status_reason, principal.role.value, Action.CHANGE_REASON,
                            new_reason=data.reason)
        assert transition.from_reason is not None and transition.to_reason is not None
        suspension = current_suspension(session, terminal.id)
        if suspension is not None and lifts_risk_alone(transition.from_reason, transition.to_reason,
                                                       get_settings().second_person_reasons):
            require_second_person(principal, [suspension_imposer(session, suspension)],
                                  key="terminals.error.second_person_lift",
                                  reason=REASON_LABELS[transition.from_reason], new=REASON_LABELS[transition.to_reason])
        _suspend(session, principal, terminal, transition, data.note)
        return _lifecycle_out(session, principal, terminal)


def activate_terminal(db: Database, principal: Principal, terminal_id: int, note: str = "") -> LifecycleOut:
    """Put an onboarding terminal into service (agent or admin)."""
    with db.transaction() as session:
        terminal = lock_terminal(session, principal, terminal_id)
        activate_locked(session, principal, terminal, note)
        return _lifecycle_out(session, principal, terminal)


def activate_locked(session: Session, principal: Principal, terminal: Terminal, note: str = "") -> None:
    """Activate a locked onboarding terminal inside the caller's transaction, audited."""
    transition = decide(terminal.status, terminal.status_reason, principal.role.value, Action.ACTIVATE)
    before = terminal_state(terminal)
    move_terminal(session, terminal, transition, activated_at=utcnow())
    audit.record(session, principal, AuditEntity.TERMINAL, terminal.id, "activate", before=before,
                 after=terminal_state(terminal), reason=note or None)


def decommission_terminal(db: Database, principal: Principal, terminal_id: int, data: DecommissionIn) -> LifecycleOut:
    """Take a terminal out of service for good (agent or admin); irreversible, so its serial number must be retyped."""
    with db.transaction() as session:
        terminal = lock_terminal(session, principal, terminal_id)
        if data.confirm_serial_number != terminal.serial_number:
            raise Invalid("confirm_serial_number", key="terminals.error.confirm_serial_number",
                          sn=terminal.serial_number)
        _decommission(session, principal, terminal, data.note)
        return _lifecycle_out(session, principal, terminal)


def _decommission(session: Session, principal: Principal, terminal: Terminal, note: str) -> None:
    transition = decide(terminal.status, terminal.status_reason, principal.role.value, Action.DECOMMISSION)
    before = terminal_state(terminal)
    end_suspension(session, principal, terminal.id, Action.DECOMMISSION)
    move_terminal(session, terminal, transition, must_sign_in=False)
    audit.record(session, principal, AuditEntity.TERMINAL, terminal.id, "decommission", before=before,
                 after=terminal_state(terminal), reason=note or None)


def replace_device(session: Session, principal: Principal, old: Terminal, *, serial_number: str, model: str,
                   vendor: str, why: str) -> Terminal:
    """Replace a (locked) terminal's device (换机) in the caller's transaction; return the new terminal.

    The new device takes over the TID, MID, merchant and region; the old one is decommissioned.
    A suspension carries over, except a device fault, which the new device ends: it starts active
    and must sign in first. Both changes are audited.
    """
    check_identity_free(session, serial_number, None)
    carried = old.status == TerminalStatus.SUSPENDED and old.status_reason != SuspensionReason.DEVICE_FAULT
    status, reason = (old.status, old.status_reason) if carried else (TerminalStatus.ACTIVE, None)
    identity = {"tid": old.tid, "mid": old.mid, "merchant_id": old.merchant_id, "region": old.region,
                "network_type": old.network_type, "carrier": old.carrier}
    held = current_suspension(session, old.id) if carried else None
    _decommission(session, principal, old, why)
    session.flush()
    new = Terminal(serial_number=serial_number, model=model, vendor=vendor, status=status, status_reason=reason,
                   activated_at=utcnow(), purchase_date=utcnow().date(), must_sign_in=True, **identity)
    session.add(new)
    with conflict_on_duplicate(key="terminals.error.terminal_duplicate"):
        session.flush()
    audit.record(session, principal, AuditEntity.TERMINAL, new.id, "replace", before={"replaces": old.id},
                 after=_snapshot(new), reason=why)
    if held is not None:
        session.add(Suspension(terminal_id=new.id, reason=held.reason, note=held.note,
                               unpaid_due_dates=held.unpaid_due_dates, documents_requested=held.documents_requested,
                               required_version=held.required_version, suspended_by=held.suspended_by,
                               suspended_by_role=held.suspended_by_role))
    return new


def screen_notice_for(db: Database, principal: Principal, terminal_id: int) -> ScreenNoticeOut | None:
    """What the terminal's screen shows now (suspended: why and what to do; reactivated: sign in first)."""
    with db.transaction() as session:
        return _screen_out(_screen(load_terminal(session, principal, terminal_id)))


def timeline(db: Database, principal: Principal, terminal_id: int) -> list[TimelineEventOut]:
    """Every audited change of a terminal, its onboarding application and its reactivation requests, oldest first."""
    with db.transaction() as session:
        terminal = load_terminal(session, principal, terminal_id)
        return [TimelineEventOut.model_validate(e) for e in timeline_events(session, terminal)]


def timeline_events(session: Session, terminal: Terminal) -> list[AuditEvent]:
    """The audit events that make up a terminal's timeline, oldest first."""
    request_ids = [str(i) for i in session.scalars(
        select(ReactivationRequest.id).where(ReactivationRequest.terminal_id == terminal.id))]
    entities = [(AuditEvent.entity_type == AuditEntity.TERMINAL) & (AuditEvent.entity_id == str(terminal.id))]
    if request_ids:
        entities.append((AuditEvent.entity_type == AuditEntity.REACTIVATION_REQUEST)
                        & AuditEvent.entity_id.in_(request_ids))
    if terminal.application_id is not None:
        entities.append((AuditEvent.entity_type == AuditEntity.ONBOARDING_APPLICATION)
                        & (AuditEvent.entity_id == str(terminal.application_id)))
    return list(session.scalars(select(AuditEvent).where(or_(*entities)).order_by(AuditEvent.at, AuditEvent.id)))


def list_notices(db: Database, principal: Principal, *, terminal_id: int | None = None,
                 limit: int = 50) -> list[NoticeOut]:
    """The newest notices to merchants (a merchant sees its own)."""
    check_limit("limit", limit)
    query = select(MerchantNotice).order_by(MerchantNotice.id.desc()).limit(limit)
    query = scoped(query, principal, MerchantNotice.merchant_id)
    if terminal_id is not None:
        query = query.where(MerchantNotice.terminal_id == terminal_id)
    with db.transaction() as session:
        return [NoticeOut.model_validate(n) for n in session.scalars(query)]


# fee plans ------------------------------------------------------------------------------------


def get_fee_plan(db: Database, principal: Principal, merchant_id: int) -> FeePlanOut:
    """Read a merchant's fee plan (404 when none is recorded)."""
    with db.transaction() as session:
        _load_merchant(session, principal, merchant_id)
        plan = session.get(FeePlan, merchant_id)
        if plan is None:
            raise NotFound(key="terminals.error.no_fee_plan")
        return FeePlanOut.model_validate(plan)


def set_fee_plan(db: Database, principal: Principal, merchant_id: int, data: FeePlanIn) -> FeePlanOut:
    """Record a merchant's contracted fees (agents and admins)."""
    require_role(principal, *EDITORS)
    with db.transaction() as session:
        _load_merchant(session, principal, merchant_id)
        return FeePlanOut.model_validate(store_fee_plan(session, principal, merchant_id, data.model_dump()))


def store_fee_plan(session: Session, principal: Principal, merchant_id: int, values: dict[str, Any]) -> FeePlan:
    """Create or replace a merchant's fee plan in the caller's transaction, audited on the merchant."""
    plan = session.get(FeePlan, merchant_id)
    before = None if plan is None else {k: getattr(plan, k) for k in values}
    if plan is None:
        plan = FeePlan(merchant_id=merchant_id, **values)
        session.add(plan)
    else:
        for key, value in values.items():
            setattr(plan, key, value)
    session.flush()
    audit.record(session, principal, AuditEntity.MERCHANT, merchant_id, "fee_plan.set",
                 before=before, after=dict(values))
    return plan


# dormancy, terminal activity and diagnosis evidence -----------------------------------------


def suspend_dormant(db: Database, now: datetime, *, days: int | None = None, dry_run: bool = False,
                    batch_size: int = 200) -> list[int]:
    """Suspend as dormant every active terminal with no transaction for `days` (POSOPS_DORMANCY_DAYS) days.

    The scheduler calls this daily. Each batch is one transaction; rows another worker holds are
    skipped (FOR UPDATE SKIP LOCKED on PostgreSQL) and every terminal is re-checked under its lock.
    Returns the ids suspended (or, with dry_run, those that would be), oldest idleness first.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
    days = get_settings().dormancy_days if days is None else days
    if days < 1:
        raise Invalid("days", key="terminals.error.dormancy_days")
    cutoff = now - timedelta(days=days)
    last_activity = func.coalesce(Terminal.last_transaction_at, Terminal.activated_at)
    with db.transaction() as session:
        candidates = [notices.TerminalActivity(*row) for row in session.execute(
            select(Terminal.id, Terminal.status, Terminal.last_transaction_at, Terminal.activated_at)
            .where(Terminal.status == TerminalStatus.ACTIVE, last_activity <= cutoff))]
    due = [int(i) for i in notices.due_for_dormancy(candidates, now, days)]
    if dry_run:
        return due
    suspended: list[int] = []
    for start in range(0, len(due), batch_size):
        with db.transaction() as session:
            locked = session.scalars(select(Terminal).where(Terminal.id.in_(due[start:start + batch_size]))
                                     .with_for_update(skip_locked=True).execution_options(populate_existing=True))
            for terminal in locked:
                activity = notices.TerminalActivity(terminal.id, terminal.status, terminal.last_transaction_at,
                                                    terminal.activated_at)
                if notices.due_for_dormancy([activity], now, days) != [terminal.id]:
                    continue  # it transacted or changed state since the scan
                transition = decide(terminal.status, terminal.status_reason, Actor.SYSTEM, Action.SUSPEND,
                                    new_reason=SuspensionReason.DORMANT)
                idle_since = terminal.last_transaction_at or terminal.activated_at
                assert idle_since is not None
                idle = catalog_sentence("terminals.dormancy.idle", days=(now - idle_since).days)
                _suspend(session, SYSTEM, terminal, transition, f"{idle.zh} / {idle.en} (limit {days})")
                suspended.append(terminal.id)
    return suspended


def lock_terminals_by_tid(session: Session, principal: Principal, tids: Iterable[str]) -> dict[str, Terminal]:
    """The caller-visible terminals with these TIDs, locked in id order for the caller's transaction.

    Locking in id order means two concurrent imports of overlapping traffic cannot deadlock.
    """
    wanted = sorted({tid for tid in tids if tid != "-"})
    ids: list[int] = []
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        query = scoped(select(Terminal.id).where(Terminal.tid.in_(wanted[start:start + LOOKUP_CHUNK]),
                                                 Terminal.status != TerminalStatus.DECOMMISSIONED), principal,
                       Terminal.merchant_id)
        ids.extend(session.scalars(query))
    ids.sort()
    found: dict[str, Terminal] = {}
    for start in range(0, len(ids), LOOKUP_CHUNK):
        locked = session.scalars(select(Terminal).where(Terminal.id.in_(ids[start:start + LOOKUP_CHUNK]))
                                 .order_by(Terminal.id).with_for_update()
                                 .execution_options(populate_existing=True))
        found.update((t.tid, t) for t in locked)
    return found


def record_sign_ins(session: Session, signed_in: Mapping[int, datetime]) -> None:
    """Clear, in the caller's transaction, the must-sign-in mark of terminals that signed in since reactivation.

    ``signed_in`` maps terminal ids to the time of their latest successful sign-in (from telemetry).
    """
    if not signed_in:
        return
    waiting = select(Terminal).where(Terminal.id.in_(signed_in), Terminal.must_sign_in.is_(True))
    for terminal in session.scalars(waiting):
        if signed_in[terminal.id] > terminal.updated_at:
            record_activity(session, terminal, signed_in=True)


def record_activity(session: Session, terminal: Terminal, *, transaction_at: datetime | None = None,
                    signed_in: bool = False) -> None:
    """Note a terminal's own activity in the caller's transaction (for ISO 8583 imports and telemetry).

    A transaction moves `last_transaction_at` forward (never back); a sign-in clears the
    "must sign in" mark a reactivation leaves, and that is audited.
    """
    if transaction_at is not None:
        if transaction_at.tzinfo is None:
            raise ValueError("transaction_at must be timezone-aware (UTC)")
        if terminal.last_transaction_at is None or transaction_at > terminal.last_transaction_at:
            terminal.last_transaction_at = transaction_at
    if signed_in and terminal.must_sign_in:
        before = terminal_state(terminal)
        terminal.must_sign_in = False
        session.flush()
        audit.record(session, TERMINAL_REPORT, AuditEntity.TERMINAL, terminal.id, "sign_in", before=before,
                     after=terminal_state(terminal))


def account_status_evidence(session: Session, terminal: Terminal) -> str | None:
    """The outcome of the diagnosis check `account_status` for a terminal, from its lifecycle state.

    active -> ok; onboarding and decommissioned -> not_registered; suspended -> by reason (arrears,
    risk_limited for risk_limit and security, dormant, policy_hold for policy and other; a device
    fault or a forced update leaves the account ok). None when nothing can be said.
    """
    del session  # the answer lies in the terminal's own state today
    if terminal.status == TerminalStatus.ACTIVE:
        return "ok"
    if terminal.status in (TerminalStatus.ONBOARDING, TerminalStatus.DECOMMISSIONED):
        return "not_registered"
    if terminal.status == TerminalStatus.SUSPENDED and terminal.status_reason:
        return ACCOUNT_STATUS_BY_REASON.get(terminal.status_reason)
    return None
