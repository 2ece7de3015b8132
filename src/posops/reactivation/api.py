"""JSON routes for reactivation (复机) requests under /api/v1."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import FileResponse

from posops.core.deps import CurrentPrincipal, DbDep, PageNumber, PerPage, SettingsDep
from posops.core.documents import DocumentOut, UploadDep, download
from posops.core.inputs import Id, Word
from posops.core.paging import Page
from posops.reactivation import service as requests
from posops.reactivation.schemas import Evidence, ReactivationRequestIn, ReactivationRequestOut
from posops.terminals.schemas import RejectIn

router = APIRouter(prefix="/api/v1", tags=["reactivation"])


@router.post("/terminals/{terminal_id}/reactivation-requests", status_code=201)
def submit_request(terminal_id: Id, body: ReactivationRequestIn, db: DbDep,
                   principal: CurrentPrincipal) -> ReactivationRequestOut:
    """Ask for a suspended terminal to be reactivated; the answer lists what is still missing."""
    return requests.submit_request(db, principal, terminal_id, body)


@router.get("/reactivation-requests")
def list_requests(db: DbDep, principal: CurrentPrincipal, status: Word | None = None, terminal_id: Id | None = None,
                  for_me: bool = False, page: PageNumber = 1,
                  per_page: PerPage = 50) -> Page[ReactivationRequestOut]:
    """List requests, newest first; `for_me=true` is the caller's review queue."""
    return requests.list_requests(db, principal, status=status, terminal_id=terminal_id, for_me=for_me, page=page,
                                  per_page=per_page)


@router.get("/reactivation-requests/{request_id}")
def get_request(request_id: Id, db: DbDep, principal: CurrentPrincipal) -> ReactivationRequestOut:
    """A request with what is recorded, what is missing and what the caller may do."""
    return requests.get_request(db, principal, request_id)


@router.post("/reactivation-requests/{request_id}/evidence")
def record_evidence(request_id: Id, body: Evidence, db: DbDep, principal: CurrentPrincipal) -> ReactivationRequestOut:
    """Record a fact towards the conditions: payment, unpaid_bills, identity, required_version, …"""
    return requests.record_evidence(db, principal, request_id, body)


@router.post("/reactivation-requests/{request_id}/documents", status_code=201)
def upload_document(request_id: Id, name: Annotated[Word, Form()], upload: UploadDep, db: DbDep,
                    principal: CurrentPrincipal, settings: SettingsDep) -> DocumentOut:
    """Upload a document the request needs (multipart: `name` of the document asked for, `file`)."""
    return requests.upload_document(db, principal, settings.var_dir, request_id, name, upload.filename,
                                    upload.content_type, upload.content)


@router.get("/reactivation-requests/{request_id}/documents/{document_id}", response_class=FileResponse)
def get_document(request_id: Id, document_id: Id, db: DbDep, principal: CurrentPrincipal,
                 settings: SettingsDep) -> FileResponse:
    """Download one of the request's documents."""
    return download(*requests.document_file(db, principal, settings.var_dir, request_id, document_id))


@router.post("/reactivation-requests/{request_id}/approve")
def approve_request(request_id: Id, db: DbDep, principal: CurrentPrincipal) -> ReactivationRequestOut:
    """Approve a request whose conditions are met; 409 listing what is missing otherwise."""
    return requests.approve_request(db, principal, request_id)


@router.post("/reactivation-requests/{request_id}/reject")
def reject_request(request_id: Id, body: RejectIn, db: DbDep, principal: CurrentPrincipal) -> ReactivationRequestOut:
    """Reject a request with a reason the merchant can act on."""
    return requests.reject_request(db, principal, request_id, body.reason)


@router.post("/reactivation-requests/{request_id}/resubmit")
def resubmit_request(request_id: Id, body: ReactivationRequestIn, db: DbDep,
                     principal: CurrentPrincipal) -> ReactivationRequestOut:
    """Send a rejected request back for review."""
    return requests.resubmit_request(db, principal, request_id, body)
