"""JSON routes for onboarding applications (POS 申请) under /api/v1."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from posops.core.deps import CurrentPrincipal, DbDep, PageNumber, PerPage, SettingsDep
from posops.core.documents import UploadDep, download
from posops.core.inputs import Id, Word
from posops.core.paging import Page
from posops.onboarding import service as applications
from posops.onboarding.schemas import (
    ApplicationIn,
    ApplicationOut,
    ApplicationPatch,
    ContractIn,
    GoLiveIn,
    InstallIn,
    TrainIn,
)
from posops.onboarding.workflow import MaterialAction, OnboardingAction
from posops.terminals.schemas import RejectIn

router = APIRouter(prefix="/api/v1/onboarding/applications", tags=["onboarding"])


@router.post("", status_code=201)
def create_application(body: ApplicationIn, db: DbDep, principal: CurrentPrincipal) -> ApplicationOut:
    """File a draft application (a merchant for itself, an agent for a walk-in applicant)."""
    return applications.create_application(db, principal, body)


@router.get("")
def list_applications(db: DbDep, principal: CurrentPrincipal, status: Word | None = None,
                      page: PageNumber = 1,
                      per_page: PerPage = 50) -> Page[ApplicationOut]:
    """List applications, newest first; filter by status for a review queue."""
    return applications.list_applications(db, principal, status=status, page=page, per_page=per_page)


@router.get("/{application_id}")
def get_application(application_id: Id, db: DbDep, principal: CurrentPrincipal) -> ApplicationOut:
    """An application with its checklist, what the next step needs and what the caller may do."""
    return applications.get_application(db, principal, application_id)


@router.patch("/{application_id}")
def update_application(application_id: Id, body: ApplicationPatch, db: DbDep,
                       principal: CurrentPrincipal) -> ApplicationOut:
    """Correct an application before submission or after a rejection."""
    return applications.update_application(db, principal, application_id, body)


@router.put("/{application_id}/materials/{material}")
def upload_material(application_id: Id, material: Word, upload: UploadDep, db: DbDep, principal: CurrentPrincipal,
                    settings: SettingsDep) -> ApplicationOut:
    """Upload one material of the checklist (multipart field `file`: PDF, JPEG or PNG, at most 10 MiB)."""
    return applications.upload_material(db, principal, settings.var_dir, application_id, material,
                                        upload.filename, upload.content_type, upload.content)


@router.get("/{application_id}/materials/{material}/file", response_class=FileResponse)
def get_material_file(application_id: Id, material: Word, db: DbDep, principal: CurrentPrincipal,
                      settings: SettingsDep) -> FileResponse:
    """Download the current file of one material."""
    return download(*applications.material_file(db, principal, settings.var_dir, application_id, material))


@router.post("/{application_id}/materials/{material}/verify")
def verify_material(application_id: Id, material: Word, db: DbDep, principal: CurrentPrincipal) -> ApplicationOut:
    """Mark an uploaded material as checked against the original."""
    return applications.review_material(db, principal, application_id, material, MaterialAction.VERIFY)


@router.post("/{application_id}/materials/{material}/reject")
def reject_material(application_id: Id, material: Word, body: RejectIn, db: DbDep,
                    principal: CurrentPrincipal) -> ApplicationOut:
    """Send a material back with what is wrong with it."""
    return applications.review_material(db, principal, application_id, material, MaterialAction.REJECT, body.reason)


@router.post("/{application_id}/submit")
def submit_application(application_id: Id, db: DbDep, principal: CurrentPrincipal) -> ApplicationOut:
    """Submit: a terminal model chosen and every required material uploaded."""
    return applications.take_step(db, principal, application_id, OnboardingAction.SUBMIT)


@router.post("/{application_id}/start-review")
def start_review(application_id: Id, db: DbDep, principal: CurrentPrincipal) -> ApplicationOut:
    """Start reviewing the materials (审核资料)."""
    return applications.take_step(db, principal, application_id, OnboardingAction.START_REVIEW)


@router.post("/{application_id}/approve")
def approve_application(application_id: Id, db: DbDep, principal: CurrentPrincipal) -> ApplicationOut:
    """Approve: every required material verified."""
    return applications.take_step(db, principal, application_id, OnboardingAction.APPROVE)


@router.post("/{application_id}/reject")
def reject_application(application_id: Id, body: RejectIn, db: DbDep, principal: CurrentPrincipal) -> ApplicationOut:
    """Reject with a reason the applicant can act on; the applicant may correct and resubmit."""
    return applications.take_step(db, principal, application_id, OnboardingAction.REJECT, reason=body.reason)


@router.post("/{application_id}/resubmit")
def resubmit_application(application_id: Id, db: DbDep, principal: CurrentPrincipal) -> ApplicationOut:
    """Resubmit a rejected application."""
    return applications.take_step(db, principal, application_id, OnboardingAction.RESUBMIT)


@router.post("/{application_id}/contract")
def sign_contract(application_id: Id, body: ContractIn, db: DbDep, principal: CurrentPrincipal) -> ApplicationOut:
    """Record the signed contract and its fee plan (签订合同)."""
    return applications.sign_contract(db, principal, application_id, body)


@router.post("/{application_id}/installation")
def record_installation(application_id: Id, body: InstallIn, db: DbDep,
                        principal: CurrentPrincipal) -> ApplicationOut:
    """Record the installed terminals (安装调试)."""
    return applications.record_installation(db, principal, application_id, body)


@router.post("/{application_id}/training")
def record_training(application_id: Id, body: TrainIn, db: DbDep, principal: CurrentPrincipal) -> ApplicationOut:
    """Record the training (培训使用); the installation must have been verified."""
    return applications.record_training(db, principal, application_id, body)


@router.post("/{application_id}/go-live")
def go_live(application_id: Id, body: GoLiveIn, db: DbDep, principal: CurrentPrincipal) -> ApplicationOut:
    """Go live (正式使用): the merchant is created or found and the terminals registered and activated."""
    return applications.go_live(db, principal, application_id, body)
