"""JSON routes for merchants, terminals and the terminal lifecycle under /api/v1."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import UploadFile

from posops.core.deps import CurrentPrincipal, DbDep, PageNumber, PerPage, SettingsDep
from posops.core.errors import Invalid
from posops.core.inputs import Id, Search
from posops.core.paging import Page
from posops.terminals import service
from posops.terminals.schemas import (
    DecommissionIn,
    FeePlanIn,
    FeePlanOut,
    LifecycleNoteIn,
    LifecycleOut,
    MerchantIn,
    MerchantOut,
    MerchantPatch,
    NoticeOut,
    ReasonChangeIn,
    ScreenNoticeOut,
    SuspendIn,
    TerminalFilters,
    TerminalIn,
    TerminalOut,
    TerminalPatch,
    TimelineEventOut,
)

router = APIRouter(prefix="/api/v1", tags=["merchants and terminals"])


async def _csv_body(request: Request, settings: SettingsDep) -> bytes:
    """Read an import file sent as multipart (field `file`) or as a raw text/csv body, off the route's thread."""
    limit = settings.max_upload_bytes
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise Invalid("file", key="terminals.error.csv_field")
        content = await upload.read(limit + 1)
    else:
        content = await request.body()
    if len(content) > limit:
        raise Invalid("file", key="terminals.error.csv_too_large", mib=limit // (1024 * 1024))
    return content


CsvBody = Annotated[bytes, Depends(_csv_body)]


@router.get("/merchants")
def list_merchants(db: DbDep, principal: CurrentPrincipal, q: Search | None = None, region: Search | None = None,
                   page: PageNumber = 1, per_page: PerPage = 50) -> Page[MerchantOut]:
    """List merchants (a merchant user sees only its own)."""
    return service.list_merchants(db, principal, q=q, region=region, page=page, per_page=per_page)


@router.post("/merchants", status_code=201)
def create_merchant(body: MerchantIn, db: DbDep, principal: CurrentPrincipal) -> MerchantOut:
    """Create a merchant."""
    return service.create_merchant(db, principal, body)


@router.post("/merchants/import", status_code=201)
def import_merchants(db: DbDep, principal: CurrentPrincipal, content: CsvBody,
                     settings: SettingsDep) -> dict[str, int]:
    """Import merchants from CSV (columns: name, legal_id, contact_name, contact_phone, region)."""
    return {"imported": service.import_merchants(db, principal, content, max_rows=settings.import_max_rows)}


@router.get("/merchants/{merchant_id}")
def get_merchant(merchant_id: Id, db: DbDep, principal: CurrentPrincipal) -> MerchantOut:
    """Read a merchant."""
    return service.get_merchant(db, principal, merchant_id)


@router.patch("/merchants/{merchant_id}")
def update_merchant(merchant_id: Id, body: MerchantPatch, db: DbDep, principal: CurrentPrincipal) -> MerchantOut:
    """Change a merchant."""
    return service.update_merchant(db, principal, merchant_id, body)


@router.get("/terminals")
def list_terminals(db: DbDep, principal: CurrentPrincipal, filters: Annotated[TerminalFilters, Depends()],
                   page: PageNumber = 1, per_page: PerPage = 50) -> Page[TerminalOut]:
    """List terminals, filtered by merchant, status, model, region or text on serial/TID."""
    return service.list_terminals(db, principal, filters, page=page, per_page=per_page)


@router.post("/terminals", status_code=201)
def create_terminal(body: TerminalIn, db: DbDep, principal: CurrentPrincipal) -> TerminalOut:
    """Register a terminal."""
    return service.create_terminal(db, principal, body)


@router.post("/terminals/import", status_code=201)
def import_terminals(db: DbDep, principal: CurrentPrincipal, content: CsvBody,
                     settings: SettingsDep) -> dict[str, int]:
    """Import terminals from CSV (at most POSOPS_IMPORT_MAX_ROWS rows); merchants by merchant_id or legal id."""
    return {"imported": service.import_terminals(db, principal, content, max_rows=settings.import_max_rows)}


@router.get("/terminals/{terminal_id}")
def get_terminal(terminal_id: Id, db: DbDep, principal: CurrentPrincipal) -> TerminalOut:
    """Read a terminal."""
    return service.get_terminal(db, principal, terminal_id)


@router.patch("/terminals/{terminal_id}")
def update_terminal(terminal_id: Id, body: TerminalPatch, db: DbDep, principal: CurrentPrincipal) -> TerminalOut:
    """Change a terminal's record."""
    return service.update_terminal(db, principal, terminal_id, body)


# lifecycle ------------------------------------------------------------------------------------


@router.get("/terminals/{terminal_id}/lifecycle", tags=["lifecycle"])
def get_lifecycle(terminal_id: Id, db: DbDep, principal: CurrentPrincipal) -> LifecycleOut:
    """A terminal's state, current suspension, screen notice, and the actions and reasons open to the caller."""
    return service.get_lifecycle(db, principal, terminal_id)


@router.post("/terminals/{terminal_id}/suspend", tags=["lifecycle"])
def suspend_terminal(terminal_id: Id, body: SuspendIn, db: DbDep, principal: CurrentPrincipal) -> LifecycleOut:
    """Suspend (停机) an active terminal with a reason and note; its merchant is notified."""
    return service.suspend_terminal(db, principal, terminal_id, body)


@router.post("/terminals/{terminal_id}/suspension-reason", tags=["lifecycle"])
def change_suspension_reason(terminal_id: Id, body: ReasonChangeIn, db: DbDep,
                             principal: CurrentPrincipal) -> LifecycleOut:
    """Re-label a suspended terminal's reason (for example, escalate it to security)."""
    return service.change_suspension_reason(db, principal, terminal_id, body)


@router.post("/terminals/{terminal_id}/activate", tags=["lifecycle"])
def activate_terminal(terminal_id: Id, body: LifecycleNoteIn, db: DbDep, principal: CurrentPrincipal) -> LifecycleOut:
    """Put an onboarding terminal into service."""
    return service.activate_terminal(db, principal, terminal_id, body.note)


@router.post("/terminals/{terminal_id}/decommission", tags=["lifecycle"])
def decommission_terminal(terminal_id: Id, body: DecommissionIn, db: DbDep,
                          principal: CurrentPrincipal) -> LifecycleOut:
    """Take a terminal out of service for good: `note` (why) and `confirm_serial_number` are required."""
    return service.decommission_terminal(db, principal, terminal_id, body)


@router.get("/terminals/{terminal_id}/timeline", tags=["lifecycle"])
def terminal_timeline(terminal_id: Id, db: DbDep, principal: CurrentPrincipal) -> list[TimelineEventOut]:
    """Every audited change of the terminal, its onboarding and its reactivation requests, oldest first."""
    return service.timeline(db, principal, terminal_id)


@router.get("/terminals/{terminal_id}/screen-notice", tags=["lifecycle"])
def terminal_screen_notice(terminal_id: Id, db: DbDep, principal: CurrentPrincipal) -> ScreenNoticeOut | None:
    """What the terminal's screen shows (null when nothing): why it stopped, or that it must sign in."""
    return service.screen_notice_for(db, principal, terminal_id)


@router.get("/notices", tags=["lifecycle"])
def list_notices(db: DbDep, principal: CurrentPrincipal, terminal_id: Id | None = None,
                 limit: PerPage = 50) -> list[NoticeOut]:
    """The newest notices sent to merchants (a merchant sees its own)."""
    return service.list_notices(db, principal, terminal_id=terminal_id, limit=limit)


@router.get("/merchants/{merchant_id}/fee-plan", tags=["lifecycle"])
def get_fee_plan(merchant_id: Id, db: DbDep, principal: CurrentPrincipal) -> FeePlanOut:
    """A merchant's contracted fees (arrears and penalties are computed from them)."""
    return service.get_fee_plan(db, principal, merchant_id)


@router.put("/merchants/{merchant_id}/fee-plan", tags=["lifecycle"])
def set_fee_plan(merchant_id: Id, body: FeePlanIn, db: DbDep, principal: CurrentPrincipal) -> FeePlanOut:
    """Record a merchant's contracted fees."""
    return service.set_fee_plan(db, principal, merchant_id, body)
