"""Console pages for reactivation (复机) requests: the review queue, a request with what is still missing, its forms."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import TypeAdapter

from posops.core.auth import Principal
from posops.core.deps import DbDep, PageNumber, SettingsDep
from posops.core.documents import UploadDep
from posops.core.export import Column, csv_response, every_page
from posops.core.forms import Refusal, dates, lines, validated, validated_as, yuan_to_fen
from posops.core.i18n import translate
from posops.core.inputs import FormText, Id, Word
from posops.core.web import (
    CONSOLE_PER_PAGE,
    PageUser,
    TerminalSection,
    check_csrf,
    page_lang,
    render,
    run_form,
    template_vocabulary,
)
from posops.reactivation import service as requests
from posops.reactivation.conditions import REQUESTERS, EvidenceKind, RequestStatus
from posops.reactivation.schemas import Evidence, ReactivationRequestIn
from posops.terminals import service
from posops.terminals.lifecycle import TerminalStatus
from posops.terminals.schemas import FeePlanIn, RejectIn
from posops.terminals.service import EDITORS

router = APIRouter(include_in_schema=False)
template_vocabulary(RequestStatus, EvidenceKind, TerminalStatus)
Field = Annotated[FormText, Form()]
_EVIDENCE = TypeAdapter(Evidence)


def _list_filters(user: Principal, status: str, mine: str) -> tuple[str | None, bool]:
    """The list's status filter and whether it is the caller's review queue, from the page's query."""
    for_me = mine == "1" if mine else not user.is_merchant
    return (status if status in {s.value for s in RequestStatus} else None), for_me


@router.get("/reactivation-requests", response_class=HTMLResponse)
def request_list(request: Request, db: DbDep, user: PageUser, status: Word = "", mine: Word = "",
                 page: PageNumber = 1) -> HTMLResponse:
    """The review queue for agents and risk (requests they may decide), or a merchant's own requests."""
    chosen, for_me = _list_filters(user, status, mine)
    result = requests.list_requests(db, user, status=chosen, for_me=for_me, page=page, per_page=CONSOLE_PER_PAGE)
    return render(request, "reactivation/requests.html", {
        "result": result, "status": chosen or "", "for_me": for_me, "statuses": [s.value for s in RequestStatus]})


@router.get("/reactivation-requests.csv")
def request_export(request: Request, db: DbDep, user: PageUser, status: Word = "", mine: Word = "") -> Response:
    """The list's filtered requests, every page, as CSV (see posops.core.export)."""
    chosen, for_me = _list_filters(user, status, mine)
    rows = every_page(lambda number, size: requests.list_requests(db, user, status=chosen, for_me=for_me,
                                                                  page=number, per_page=size))
    lang = page_lang(request)
    return csv_response(rows, [
        Column("export.number", lambda r: r.id),
        Column("field.tid", lambda r: r.terminal_tid, verbatim=True),
        Column("field.serial_number", lambda r: r.terminal_serial, verbatim=True),
        Column("field.merchant", lambda r: r.merchant_name),
        Column("terminals.lifecycle.reason", lambda r: translate(f"reason.{r.reason}", lang)),
        Column("field.status", lambda r: translate(f"terminals.request.{r.status}", lang)),
        Column("terminals.requests.missing", lambda r: len(r.unmet)),
        Column("field.updated_at", lambda r: r.updated_at),
    ], lang=lang, name="reactivation-requests")


@router.get("/reactivation-requests/{request_id}", response_class=HTMLResponse)
def request_detail(request: Request, request_id: Id, db: DbDep, user: PageUser) -> HTMLResponse:
    """One request: what is recorded, what is still missing, and the forms open to the caller."""
    return _page(request, db, user, request_id)


def _page(request: Request, db: DbDep, user: Principal, request_id: Id,
          refused: Refusal | None = None) -> HTMLResponse:
    item = requests.get_request(db, user, request_id)
    return render(request, "reactivation/request.html",
                  {"item": item, "refusal": refused, "can_set_fee_plan": user.role in EDITORS},
                  refused.status if refused else 200)


def _act(request: Request, db: DbDep, user: Principal, request_id: Id, csrf_token: str, action: Any) -> Response:
    """Run a request's form: back to its page, or its page with the refusal."""
    return run_form(request, csrf_token, action, lambda _: f"/reactivation-requests/{request_id}",
                    lambda refused: _page(request, db, user, request_id, refused))


def _evidence_fields(kind: Word, amount: str, voucher: str, paid_on: str, legal_id: str, note: str, due_dates: str,
                     documents: str, version: str) -> dict[str, Any]:
    """The evidence form's fields for one kind, as the API would receive them."""
    values: dict[str, Any] = {"kind": kind}
    if kind == "payment":
        values |= {"amount_fen": yuan_to_fen(amount, "amount"), "voucher": voucher, "paid_on": paid_on}
    elif kind == "unpaid_bills":
        values["due_dates"] = dates(due_dates, "due_dates") or []
    elif kind == "identity":
        values["legal_id"] = legal_id
    elif kind == "resolved_confirmed":
        values["note"] = note
    elif kind == "required_version":
        values["version"] = version
    elif kind == "documents_requested":
        values["documents"] = lines(documents)
    return values


@router.post("/reactivation-requests/{request_id}/evidence")
def record_evidence(request: Request, request_id: Id, db: DbDep, user: PageUser, csrf_token: Field = "",
                    kind: Field = "", amount: Field = "", voucher: Field = "", paid_on: Field = "",
                    legal_id: Field = "", note: Field = "", due_dates: Field = "", documents: Field = "",
                    version: Field = "") -> Response:
    """Record a payment, an identity check, a confirmation or what is asked for, from the request page."""
    def action() -> object:
        values = _evidence_fields(kind, amount, voucher, paid_on, legal_id, note, due_dates, documents, version)
        return requests.record_evidence(db, user, request_id, validated_as(_EVIDENCE, values))
    return _act(request, db, user, request_id, csrf_token, action)


@router.post("/reactivation-requests/{request_id}/documents")
def upload_document(request: Request, request_id: Id, db: DbDep, user: PageUser, settings: SettingsDep,
                    upload: UploadDep, csrf_token: Field = "", name: Field = "") -> Response:
    """Upload a document the request needs, from the request page."""
    return _act(request, db, user, request_id, csrf_token, lambda: requests.upload_document(
        db, user, settings.var_dir, request_id, name, upload.filename, upload.content_type, upload.content))


@router.post("/reactivation-requests/{request_id}/approve")
def approve(request: Request, request_id: Id, db: DbDep, user: PageUser, csrf_token: Field = "") -> Response:
    """Approve from the request page (refused with what is missing when conditions are not met)."""
    return _act(request, db, user, request_id, csrf_token, lambda: requests.approve_request(db, user, request_id))


@router.post("/reactivation-requests/{request_id}/reject")
def reject(request: Request, request_id: Id, db: DbDep, user: PageUser, csrf_token: Field = "",
           reason: Field = "") -> Response:
    """Reject from the request page, with a reason."""
    return _act(request, db, user, request_id, csrf_token, lambda: requests.reject_request(
        db, user, request_id, validated(RejectIn, {"reason": reason}).reason))


@router.post("/reactivation-requests/{request_id}/resubmit")
def resubmit(request: Request, request_id: Id, db: DbDep, user: PageUser, csrf_token: Field = "",
             note: Field = "") -> Response:
    """Resubmit a rejected request from its page."""
    def action() -> object:
        return requests.resubmit_request(db, user, request_id, validated(ReactivationRequestIn, {"note": note}))
    return _act(request, db, user, request_id, csrf_token, action)


@router.post("/reactivation-requests/{request_id}/fee-plan")
def record_fee_plan(request: Request, request_id: Id, db: DbDep, user: PageUser, csrf_token: Field = "",
                    monthly_fee: Field = "", monthly_data_fee: Field = "0", daily_penalty_bp: Field = "",
                    grace_days: Field = "", contract_ref: Field = "") -> Response:
    """Record the merchant's fee plan from a request that needs it to compute the arrears (agents, admins)."""
    def action() -> object:
        merchant_id = requests.get_request(db, user, request_id).merchant_id
        data = validated(FeePlanIn, {
            "monthly_fee_fen": yuan_to_fen(monthly_fee, "monthly_fee"),
            "monthly_data_fee_fen": yuan_to_fen(monthly_data_fee, "monthly_data_fee")
            if monthly_data_fee.strip() not in ("", "0") else 0,
            "daily_penalty_bp": daily_penalty_bp, "grace_days": grace_days, "contract_ref": contract_ref})
        return service.set_fee_plan(db, user, merchant_id, data)
    return _act(request, db, user, request_id, csrf_token, action)


@router.post("/terminals/{terminal_id}/reactivation-requests")
def request_reactivation(request: Request, terminal_id: Id, db: DbDep, user: PageUser, csrf_token: Field = "",
                         note: Field = "") -> Response:
    """Ask for reactivation from the terminal's page, then follow the request on its own page."""
    check_csrf(request, csrf_token)
    data = validated(ReactivationRequestIn, {"note": note})
    created = requests.submit_request(db, user, terminal_id, data)
    return RedirectResponse(f"/reactivation-requests/{created.id}", status_code=303)


def reactivation_section(db: DbDep, user: Principal, terminal_id: Id) -> dict[str, Any]:
    """What the terminal page's reactivation card shows: the open request, or whether the caller may ask."""
    open_request = requests.open_request_for(db, user, terminal_id)
    suspended = service.get_terminal(db, user, terminal_id).status == TerminalStatus.SUSPENDED
    return {"open_request": open_request,
            "can_request": suspended and open_request is None and user.role.value in REQUESTERS}


TERMINAL_SECTION = TerminalSection("reactivation/terminal_section.html", reactivation_section)
"""The terminal page's reactivation card."""
