"""Console pages for onboarding applications (POS 申请): apply, follow the checklist, review and take it live."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from posops.core.auth import Principal, Role, require_role
from posops.core.deps import DbDep, PageNumber, SettingsDep
from posops.core.documents import UploadsDep
from posops.core.errors import Invalid, PosopsError
from posops.core.export import Column, csv_response, every_page
from posops.core.forms import Refusal, refusal, validated, yuan_to_fen
from posops.core.i18n import translate
from posops.core.inputs import FormText, Id, Word
from posops.core.web import CONSOLE_PER_PAGE, PageUser, check_csrf, page_lang, render, run_form, template_vocabulary
from posops.onboarding import service as applications
from posops.onboarding.schemas import ApplicationIn, ContractIn, GoLiveIn, InstallIn, TrainIn
from posops.onboarding.workflow import ApplicationStatus, MaterialAction, OnboardingAction
from posops.terminals import service as terminals
from posops.terminals.schemas import RejectIn

router = APIRouter(include_in_schema=False)
template_vocabulary(ApplicationStatus)
Field = Annotated[FormText, Form()]
MODELS = ("PAX A920", "Newland N910", "Landi A8", "Sunmi P2", "Verifone X990")


@router.get("/onboarding", response_class=HTMLResponse)
def application_list(request: Request, db: DbDep, user: PageUser, status: Word = "",
                     page: PageNumber = 1) -> HTMLResponse:
    """A merchant's applications, or the provider's queue filtered by status."""
    chosen = _status_filter(status)
    result = applications.list_applications(db, user, status=chosen, page=page, per_page=CONSOLE_PER_PAGE)
    return render(request, "onboarding/applications.html", {
        "result": result, "status": chosen or "",
        "can_apply": user.role in (Role.MERCHANT, Role.AGENT)})


def _status_filter(status: str) -> str | None:
    """The list's status filter from the page's query (anything but a status: every application)."""
    return status if status in set(ApplicationStatus) else None


@router.get("/onboarding.csv")
def application_export(request: Request, db: DbDep, user: PageUser, status: Word = "") -> Response:
    """The list's filtered applications, every page, as CSV (see posops.core.export)."""
    chosen = _status_filter(status)
    rows = every_page(lambda number, size: applications.list_applications(db, user, status=chosen, page=number,
                                                                          per_page=size))
    lang = page_lang(request)
    return csv_response(rows, [
        Column("export.number", lambda a: a.id),
        Column("terminals.onboarding.applicant", lambda a: a.name),
        Column("terminals.onboarding.applicant_type", lambda a: translate(f"terminals.applicant.{a.applicant_type}",
                                                                          lang)),
        Column("field.model", lambda a: a.terminal_model),
        Column("terminals.onboarding.count", lambda a: a.terminal_count),
        Column("field.status", lambda a: translate(f"terminals.application.{a.status}", lang)),
        Column("terminals.onboarding.next_missing", lambda a: len(a.next_missing)),
        Column("field.updated_at", lambda a: a.updated_at),
    ], lang=lang, name="onboarding-applications")


def _shop(db: DbDep, user: Principal) -> str | None:
    """The merchant a merchant user applies for (the form shows it instead of asking)."""
    if not user.is_merchant or user.merchant_id is None:
        return None
    return terminals.get_merchant(db, user, user.merchant_id).name


@router.get("/onboarding/new", response_class=HTMLResponse)
def new_application(request: Request, db: DbDep, user: PageUser) -> HTMLResponse:
    """The application form."""
    require_role(user, Role.MERCHANT, Role.AGENT)
    return render(request, "onboarding/application_new.html", {"models": MODELS, "form": {}, "shop": _shop(db, user)})


@router.post("/onboarding/new")
def create_application(request: Request, db: DbDep, user: PageUser, csrf_token: Field = "",
                       applicant_type: Field = "", name: Field = "", legal_id: Field = "", contact_name: Field = "",
                       contact_phone: Field = "", region: Field = "", address: Field = "",
                       terminal_model: Field = "", terminal_count: Field = "1", note: Field = "") -> Response:
    """File the application, then continue on its page to upload the materials."""
    check_csrf(request, csrf_token)
    form = {"applicant_type": applicant_type, "name": name or None, "legal_id": legal_id or None,
            "contact_name": contact_name, "contact_phone": contact_phone, "region": region, "address": address,
            "terminal_model": terminal_model, "terminal_count": terminal_count or "1", "note": note}
    try:
        created = applications.create_application(db, user, validated(ApplicationIn, form))
    except PosopsError as exc:
        refused = refusal(exc, page_lang(request))
        return render(request, "onboarding/application_new.html",
                      {"models": MODELS, "form": form, "refusal": refused, "shop": _shop(db, user)}, refused.status)
    return RedirectResponse(f"/onboarding/{created.id}", status_code=303)


@router.get("/onboarding/{application_id}", response_class=HTMLResponse)
def application_detail(request: Request, application_id: Id, db: DbDep, user: PageUser) -> HTMLResponse:
    """An application: its progress, checklist, what is still missing and the forms open to the caller."""
    return _page(request, db, user, application_id)


@router.get("/onboarding/{application_id}/application-form", response_class=HTMLResponse)
def application_form(request: Request, application_id: Id, db: DbDep, user: PageUser) -> HTMLResponse:
    """The application form (申请表) filled in from the application, to print, sign and upload."""
    item = applications.get_application(db, user, application_id)
    return render(request, "onboarding/application_form.html", {"item": item})


def _page(request: Request, db: DbDep, user: Principal, application_id: Id,
          refused: Refusal | None = None) -> HTMLResponse:
    item = applications.get_application(db, user, application_id)
    flow = [s for s in ApplicationStatus if s is not ApplicationStatus.REJECTED]
    return render(request, "onboarding/application.html", {"item": item, "flow": flow, "refusal": refused},
                  refused.status if refused else 200)


def _act(request: Request, db: DbDep, user: Principal, application_id: Id, csrf_token: str,
         action: Any) -> Response:
    """Run an application's form: back to its page, or its page with the refusal."""
    return run_form(request, csrf_token, action, lambda _: f"/onboarding/{application_id}",
                    lambda refused: _page(request, db, user, application_id, refused))


@router.post("/onboarding/{application_id}/materials")
def upload_materials(request: Request, application_id: Id, db: DbDep, user: PageUser, settings: SettingsDep,
                     uploads: UploadsDep, csrf_token: Field = "") -> Response:
    """Upload every material chosen on the checklist at once (one field per material)."""
    return _act(request, db, user, application_id, csrf_token, lambda: applications.upload_materials(
        db, user, settings.var_dir, application_id, uploads))


@router.post("/onboarding/{application_id}/materials/{material}/{review}")
def review_material(request: Request, application_id: Id, material: Word, review: Word, db: DbDep, user: PageUser,
                    csrf_token: Field = "", note: Field = "") -> Response:
    """Verify a material or send it back with a note."""
    def action() -> object:
        if review not in (MaterialAction.VERIFY, MaterialAction.REJECT):
            raise Invalid("review", key="onboarding.error.review")
        return applications.review_material(db, user, application_id, material, MaterialAction(review),
                                            note.strip() or None)
    return _act(request, db, user, application_id, csrf_token, action)


@router.post("/onboarding/{application_id}/steps/{step}")
def take_step(request: Request, application_id: Id, step: Word, db: DbDep, user: PageUser, csrf_token: Field = "",
              reason: Field = "", contract_ref: Field = "", monthly_fee: Field = "", monthly_data_fee: Field = "0",
              daily_penalty_bp: Field = "", grace_days: Field = "", serial_number: Field = "", model: Field = "",
              vendor: Field = "", tid: Field = "", mid: Field = "", app_version: Field = "",
              confirmed: Field = "", note: Field = "") -> Response:
    """Take the application's next step from its page (each step reads the fields it needs)."""
    def action() -> object:
        if step not in {a.value for a in OnboardingAction}:
            raise Invalid("step", key="onboarding.error.step")
        act = OnboardingAction(step)
        if act is OnboardingAction.REJECT:
            return applications.take_step(db, user, application_id, act,
                                          reason=validated(RejectIn, {"reason": reason}).reason)
        if act is OnboardingAction.SIGN_CONTRACT:
            fee_plan = {"monthly_fee_fen": yuan_to_fen(monthly_fee, "monthly_fee"),
                        "monthly_data_fee_fen": yuan_to_fen(monthly_data_fee, "monthly_data_fee")
                        if monthly_data_fee.strip() not in ("", "0") else 0,
                        "daily_penalty_bp": daily_penalty_bp, "grace_days": grace_days}
            return applications.sign_contract(db, user, application_id, validated(
                ContractIn, {"contract_ref": contract_ref, "fee_plan": fee_plan}))
        if act is OnboardingAction.INSTALL:
            device = {"serial_number": serial_number, "model": model, "vendor": vendor, "tid": tid, "mid": mid,
                      "app_version": app_version}
            return applications.record_installation(db, user, application_id,
                                                    validated(InstallIn, {"devices": [device]}))
        if act is OnboardingAction.TRAIN:
            return applications.record_training(db, user, application_id, validated(
                TrainIn, {"installation_verified": confirmed == "1", "note": note}))
        if act is OnboardingAction.GO_LIVE:
            return applications.go_live(db, user, application_id,
                                        validated(GoLiveIn, {"training_done": confirmed == "1", "note": note}))
        return applications.take_step(db, user, application_id, act)
    return _act(request, db, user, application_id, csrf_token, action)
