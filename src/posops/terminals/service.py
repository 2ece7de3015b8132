"""Use cases for merchants and terminals: one transaction each, scoped and audited."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from posops.core import audit
from posops.core.auth import Principal, Role, ensure_visible, merchant_scope, require_role
from posops.core.db import Database
from posops.core.errors import Conflict, Invalid, NotFound
from posops.terminals.csv_import import parse_csv
from posops.terminals.models import Merchant, Terminal
from posops.terminals.schemas import (
    MerchantIn,
    MerchantOut,
    MerchantPatch,
    Page,
    TerminalFilters,
    TerminalIn,
    TerminalOut,
    TerminalPatch,
)

EDITORS = (Role.AGENT, Role.ADMIN)
MAX_PER_PAGE = 200


class TerminalCsvRow(TerminalIn):
    """A terminal row of an import file: the merchant may be named by id or by legal id."""

    merchant_id: int | None = None  # type: ignore[assignment]
    merchant_legal_id: str | None = None


def _snapshot(row: Merchant | Terminal) -> dict[str, Any]:
    """Plain JSON-able values of a row's columns, for audit before/after."""
    values = {c.key: getattr(row, c.key) for c in row.__table__.columns
              if c.key not in ("created_at", "updated_at")}
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in values.items()}


@contextmanager
def _unique(what: str) -> Iterator[None]:
    """Turn a unique-constraint race into a 409 naming the record."""
    try:
        yield
    except IntegrityError as exc:
        raise Conflict(f"{what} already exists (serial number, TID and legal id are unique)") from exc


def _page_bounds(page: int, per_page: int) -> tuple[int, int]:
    if page < 1:
        raise Invalid("page", "must be 1 or more")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise Invalid("per_page", f"must be between 1 and {MAX_PER_PAGE}")
    return page, per_page


def _paginate(session: Session, query: Select[Any], page: int, per_page: int) -> tuple[list[Any], int]:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = list(session.scalars(query.limit(per_page).offset((page - 1) * per_page)))
    return rows, total


# merchants ------------------------------------------------------------------------------------


def list_merchants(db: Database, principal: Principal, *, q: str | None = None, region: str | None = None,
                   page: int = 1, per_page: int = 50) -> Page[MerchantOut]:
    """List the merchants the caller may see."""
    page, per_page = _page_bounds(page, per_page)
    query = select(Merchant).order_by(Merchant.id)
    scope = merchant_scope(principal)
    if scope is not None:
        query = query.where(Merchant.id == scope)
    if region:
        query = query.where(Merchant.region == region)
    if q:
        query = query.where(or_(Merchant.name.contains(q), Merchant.legal_id.contains(q)))
    with db.transaction() as session:
        rows, total = _paginate(session, query, page, per_page)
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
        raise NotFound("merchant not found")
    return merchant


def create_merchant(db: Database, principal: Principal, data: MerchantIn) -> MerchantOut:
    """Create a merchant (agents and admins)."""
    require_role(principal, *EDITORS)
    with db.transaction() as session:
        merchant = _insert_merchant(session, principal, data)
        return MerchantOut.model_validate(merchant)


def _insert_merchant(session: Session, principal: Principal, data: MerchantIn) -> Merchant:
    if session.scalar(select(Merchant.id).where(Merchant.legal_id == data.legal_id)) is not None:
        raise Conflict(f"a merchant with legal id {data.legal_id} already exists")
    merchant = Merchant(**data.model_dump())
    session.add(merchant)
    with _unique("merchant"):
        session.flush()
    audit.record(session, principal, "merchant", merchant.id, "create", after=_snapshot(merchant))
    return merchant


def update_merchant(db: Database, principal: Principal, merchant_id: int, patch: MerchantPatch) -> MerchantOut:
    """Change a merchant's record (agents and admins)."""
    require_role(principal, *EDITORS)
    with db.transaction() as session:
        merchant = _load_merchant(session, principal, merchant_id)
        changes = patch.model_dump(exclude_unset=True)
        if changes.get("legal_id") not in (None, merchant.legal_id) and session.scalar(
                select(Merchant.id).where(Merchant.legal_id == changes["legal_id"])) is not None:
            raise Conflict(f"a merchant with legal id {changes['legal_id']} already exists")
        before = _snapshot(merchant)
        for key, value in changes.items():
            if value is None:
                raise Invalid(key, "may not be null")
            setattr(merchant, key, value)
        with _unique("merchant"):
            session.flush()
        audit.record(session, principal, "merchant", merchant.id, "update", before=before, after=_snapshot(merchant))
        return MerchantOut.model_validate(merchant)


def import_merchants(db: Database, principal: Principal, content: bytes) -> int:
    """Import merchants from CSV: every row or none; errors name their line."""
    require_role(principal, *EDITORS)
    parsed = parse_csv(content, MerchantIn)
    errors = list(parsed.errors)
    seen: dict[str, int] = {}
    for line, row in parsed.rows:
        if row.legal_id in seen:
            errors.append((line, "legal_id", f"duplicate of line {seen[row.legal_id]}"))
        seen.setdefault(row.legal_id, line)
    with db.transaction() as session:
        existing = set(session.scalars(select(Merchant.legal_id).where(Merchant.legal_id.in_(list(seen)))))
        errors += [(line, "legal_id", "a merchant with this legal id already exists")
                   for line, row in parsed.rows if row.legal_id in existing]
        if errors:
            raise Invalid.many(sorted(errors, key=lambda e: e[0] or 0))
        if not parsed.rows:
            raise Invalid("file", "no rows to import")
        for _, row in parsed.rows:
            _insert_merchant(session, principal, row)
        return len(parsed.rows)


# terminals ------------------------------------------------------------------------------------


def _terminal_out(terminal: Terminal) -> TerminalOut:
    return TerminalOut.model_validate({**_snapshot(terminal), "merchant_name": terminal.merchant.name,
                                       "created_at": terminal.created_at, "updated_at": terminal.updated_at})


def list_terminals(db: Database, principal: Principal, filters: TerminalFilters, *, page: int = 1,
                   per_page: int = 50) -> Page[TerminalOut]:
    """List the terminals the caller may see, filtered and paginated."""
    page, per_page = _page_bounds(page, per_page)
    query = select(Terminal).join(Terminal.merchant).order_by(Terminal.id)
    scope = merchant_scope(principal)
    if scope is not None:
        query = query.where(Terminal.merchant_id == scope)
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
        rows, total = _paginate(session, query, page, per_page)
        return Page[TerminalOut](items=[_terminal_out(t) for t in rows], total=total, page=page,
                                 per_page=per_page)


def load_terminal(session: Session, principal: Principal, terminal_id: int) -> Terminal:
    """Load a terminal inside a caller's transaction, as NotFound when the caller may not see it."""
    terminal = session.get(Terminal, terminal_id)
    if terminal is None:
        raise NotFound("terminal not found")
    ensure_visible(principal, terminal.merchant_id, "terminal")
    return terminal


def find_terminal(session: Session, principal: Principal, ref: str) -> Terminal:
    """Find a terminal by serial number, TID or numeric id, as the caller may see it."""
    ref = ref.strip()
    terminal = session.scalar(select(Terminal).where(or_(Terminal.serial_number == ref, Terminal.tid == ref)))
    if terminal is None and ref.isdigit():
        terminal = session.get(Terminal, int(ref))
    if terminal is None:
        raise NotFound("terminal not found")
    ensure_visible(principal, terminal.merchant_id, "terminal")
    return terminal


def get_terminal(db: Database, principal: Principal, terminal_id: int) -> TerminalOut:
    """Read one terminal the caller may see."""
    with db.transaction() as session:
        return _terminal_out(load_terminal(session, principal, terminal_id))


def _check_identity_free(session: Session, serial_number: str | None, tid: str | None,
                         exclude_id: int | None = None) -> None:
    for column, value, label in ((Terminal.serial_number, serial_number, "serial number"),
                                 (Terminal.tid, tid, "TID")):
        if value is None:
            continue
        query = select(Terminal.id).where(column == value)
        if exclude_id is not None:
            query = query.where(Terminal.id != exclude_id)
        if session.scalar(query) is not None:
            raise Conflict(f"a terminal with {label} {value} already exists")


def _insert_terminal(session: Session, principal: Principal, data: BaseModel) -> Terminal:
    values = data.model_dump(exclude={"merchant_legal_id"})
    terminal = Terminal(**values)
    session.add(terminal)
    with _unique("terminal"):
        session.flush()
    audit.record(session, principal, "terminal", terminal.id, "create", after=_snapshot(terminal))
    return terminal


def create_terminal(db: Database, principal: Principal, data: TerminalIn) -> TerminalOut:
    """Register a terminal (agents and admins)."""
    require_role(principal, *EDITORS)
    with db.transaction() as session:
        if session.get(Merchant, data.merchant_id) is None:
            raise Invalid("merchant_id", f"no merchant {data.merchant_id}")
        _check_identity_free(session, data.serial_number, data.tid)
        terminal = _insert_terminal(session, principal, data)
        session.refresh(terminal)
        return _terminal_out(terminal)


def update_terminal(db: Database, principal: Principal, terminal_id: int, patch: TerminalPatch) -> TerminalOut:
    """Change a terminal's record (agents and admins); status changes go through the lifecycle."""
    require_role(principal, *EDITORS)
    with db.transaction() as session:
        terminal = load_terminal(session, principal, terminal_id)
        changes = patch.model_dump(exclude_unset=True)
        nullable = {"purchase_date", "warranty_end"}
        for key, value in changes.items():
            if value is None and key not in nullable:
                raise Invalid(key, "may not be null")
        if "merchant_id" in changes and session.get(Merchant, changes["merchant_id"]) is None:
            raise Invalid("merchant_id", f"no merchant {changes['merchant_id']}")
        _check_identity_free(session, changes.get("serial_number"), changes.get("tid"), exclude_id=terminal.id)
        purchase = changes.get("purchase_date", terminal.purchase_date)
        warranty = changes.get("warranty_end", terminal.warranty_end)
        if purchase and warranty and warranty < purchase:
            raise Invalid("warranty_end", "must not be before purchase_date")
        before = _snapshot(terminal)
        for key, value in changes.items():
            setattr(terminal, key, value)
        with _unique("terminal"):
            session.flush()
        audit.record(session, principal, "terminal", terminal.id, "update", before=before, after=_snapshot(terminal))
        session.refresh(terminal)
        return _terminal_out(terminal)


def import_terminals(db: Database, principal: Principal, content: bytes) -> int:
    """Import terminals from CSV: every row or none; errors name their line and field."""
    require_role(principal, *EDITORS)
    parsed = parse_csv(content, TerminalCsvRow)
    errors = list(parsed.errors)
    seen: dict[tuple[str, str], int] = {}
    for line, row in parsed.rows:
        for field in ("serial_number", "tid"):
            key = (field, getattr(row, field))
            if key in seen:
                errors.append((line, field, f"duplicate of line {seen[key]}"))
            seen.setdefault(key, line)
    with db.transaction() as session:
        serials = {r.serial_number for _, r in parsed.rows}
        tids = {r.tid for _, r in parsed.rows}
        taken_serials = set(session.scalars(select(Terminal.serial_number).where(Terminal.serial_number.in_(serials))))
        taken_tids = set(session.scalars(select(Terminal.tid).where(Terminal.tid.in_(tids))))
        legal_ids = {legal_id: mid for legal_id, mid in session.execute(select(Merchant.legal_id, Merchant.id))}
        merchant_ids = set(legal_ids.values())
        for line, row in parsed.rows:
            if row.serial_number in taken_serials:
                errors.append((line, "serial_number", "a terminal with this serial number already exists"))
            if row.tid in taken_tids:
                errors.append((line, "tid", "a terminal with this TID already exists"))
            if row.merchant_id is None and row.merchant_legal_id is not None:
                row.merchant_id = legal_ids.get(row.merchant_legal_id)
                if row.merchant_id is None:
                    errors.append((line, "merchant_legal_id", f"no merchant with legal id {row.merchant_legal_id}"))
            elif row.merchant_id is None:
                errors.append((line, "merchant_id", "give merchant_id or merchant_legal_id"))
            elif row.merchant_id not in merchant_ids:
                errors.append((line, "merchant_id", f"no merchant {row.merchant_id}"))
        if errors:
            raise Invalid.many(sorted(errors, key=lambda e: e[0] or 0))
        if not parsed.rows:
            raise Invalid("file", "no rows to import")
        for _, row in parsed.rows:
            _insert_terminal(session, principal, row)
        return len(parsed.rows)
