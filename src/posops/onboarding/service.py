"""Use cases for onboarding applications (POS 申请): file, upload materials, review, contract, install, go live.

The steps and their conditions are decided by ``onboarding``; here each step saves its own data,
asks the rules whether the step may be taken with that data, claims the application with a
conditional UPDATE on its status and writes the audit entry, all in one transaction. Going live
creates (or finds) the merchant, records its fee plan and registers and activates the terminals.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from sqlalchemy import select, true, update
from sqlalchemy.orm import Session

from posops.core import audit
from posops.core import documents as storage
from posops.core.audit import AuditEntity
from posops.core.auth import Principal, Role, require_role, scoped
from posops.core.db import Database, compare_and_set, utcnow
from posops.core.documents import DocumentOut
from posops.core.errors import Conflict, Invalid, NotFound, Problem, RuleBroken
from posops.core.labels import Label, catalog_sentence
from posops.core.models import StoredDocument
from posops.core.paging import Page, check_page, paginate
from posops.core.scoping import load_visible
from posops.onboarding.models import ApplicationMaterial, OnboardingApplication
from posops.onboarding.schemas import (
    ApplicationIn,
    ApplicationOut,
    ApplicationPatch,
    ContractIn,
    GoLiveIn,
    InstallIn,
    MaterialOut,
    TrainIn,
)
from posops.onboarding.workflow import (
    APPLICANT_LABELS,
    MATERIAL_LABELS,
    REQUIRED_MATERIALS,
    ApplicantType,
    ApplicationFacts,
    ApplicationStatus,
    Material,
    MaterialAction,
    MaterialState,
    OnboardingAction,
    allowed_material_actions,
    allowed_onboarding_actions,
    has_unified_licence,
    legal_id_problem,
    material_step,
    required_materials,
    requirements,
    step,
)
from posops.terminals.lifecycle import TerminalStatus
from posops.terminals.models import Merchant, Terminal
from posops.terminals.schemas import ConditionOut, MerchantIn, TerminalIn
from posops.terminals.service import (
    activate_locked,
    check_identity_free,
    insert_merchant,
    insert_terminal,
    store_fee_plan,
)

READERS = (Role.MERCHANT, Role.AGENT, Role.RISK, Role.ADMIN)
OWNER = AuditEntity.ONBOARDING_APPLICATION

NEXT_STEP: dict[ApplicationStatus, OnboardingAction] = {
    ApplicationStatus.DRAFT: OnboardingAction.SUBMIT,
    ApplicationStatus.SUBMITTED: OnboardingAction.START_REVIEW,
    ApplicationStatus.UNDER_REVIEW: OnboardingAction.APPROVE,
    ApplicationStatus.REJECTED: OnboardingAction.RESUBMIT,
    ApplicationStatus.APPROVED: OnboardingAction.SIGN_CONTRACT,
    ApplicationStatus.CONTRACTED: OnboardingAction.INSTALL,
    ApplicationStatus.INSTALLING: OnboardingAction.TRAIN,
    ApplicationStatus.TRAINING: OnboardingAction.GO_LIVE,
}
"""The step that moves an application forward from each status (live has none)."""


def _status(application: OnboardingApplication) -> ApplicationStatus:
    return ApplicationStatus(application.status)


def _load(session: Session, principal: Principal, application_id: int, *,
          lock: bool = False) -> OnboardingApplication:
    require_role(principal, *READERS)
    return load_visible(session, principal, OnboardingApplication, application_id, "application", lock=lock)


def _materials(session: Session, application_id: int) -> dict[str, ApplicationMaterial]:
    rows = session.scalars(select(ApplicationMaterial).where(ApplicationMaterial.application_id == application_id))
    return {row.material: row for row in rows}


def _unified(application: OnboardingApplication) -> bool:
    return has_unified_licence(application.applicant_type, application.legal_id)


def _facts(application: OnboardingApplication, materials: dict[str, ApplicationMaterial]) -> ApplicationFacts:
    devices = application.devices or []
    return ApplicationFacts(
        ApplicantType(application.applicant_type),
        materials={code: MaterialState(row.state) for code, row in materials.items()},
        unified_licence=_unified(application), terminal_model=application.terminal_model,
        contract_ref=application.contract_ref, fee_plan_recorded=application.fee_plan is not None,
        terminal_serial=devices[0]["serial_number"] if devices else None,
        installation_verified=application.installation_verified, training_done=application.training_done)


def _out(session: Session, principal: Principal, application: OnboardingApplication) -> ApplicationOut:
    materials = _materials(session, application.id)
    kind = ApplicantType(application.applicant_type)
    needed = required_materials(kind, unified_licence=_unified(application))
    checklist = []
    for material in REQUIRED_MATERIALS[kind]:
        row = materials.get(material)
        document = session.get(StoredDocument, row.document_id) if row and row.document_id else None
        checklist.append(MaterialOut(
            material=material, required=material in needed, state=row.state if row else MaterialState.MISSING,
            note=row.note if row else None, reviewed_by=row.reviewed_by if row else None,
            reviewed_at=row.reviewed_at if row else None,
            document=DocumentOut.model_validate(document) if document else None))
    status, role = _status(application), principal.role.value
    following = NEXT_STEP.get(status)
    missing = requirements(following, _facts(application, materials)) if following else []
    registered = session.execute(select(Terminal.id, Terminal.serial_number)
                                 .where(Terminal.application_id == application.id).order_by(Terminal.id)).all()
    terminal_ids = [row.id for row in registered]
    values = {c.key: getattr(application, c.key) for c in OnboardingApplication.__table__.columns}
    return ApplicationOut(
        **values, unified_licence=_unified(application), materials=checklist, terminal_ids=terminal_ids,
        terminal_serials=[row.serial_number for row in registered],
        allowed_actions=[a.value for a in allowed_onboarding_actions(status, role)],
        material_actions=[a.value for a in allowed_material_actions(status, role)],
        next_missing=[ConditionOut(**c._asdict()) for c in missing])


def _advance(session: Session, principal: Principal, application: OnboardingApplication, action: OnboardingAction,
             *, reason: str | None = None, after: dict[str, Any] | None = None, **stamps: Any) -> None:
    """Take one step: the rules decide with the step's data already set, then the status moves if unchanged."""
    was = application.status
    try:
        target = step(_status(application), action, principal.role.value,
                      _facts(application, _materials(session, application.id)), rejection_reason=reason)
    except RuleBroken as exc:
        raise Invalid("reason", exc.said) from None
    compare_and_set(session, update(OnboardingApplication)
                    .where(OnboardingApplication.id == application.id, OnboardingApplication.status == was)
                    .values(status=target.value, updated_at=utcnow(), **stamps),
                    key="onboarding.error.changed_meanwhile", id=application.id)
    session.refresh(application)
    audit.record(session, principal, OWNER, application.id, action.value, before={"status": was},
                 after={"status": application.status, **(after or {})}, reason=reason)


# filing ---------------------------------------------------------------------------------------


def create_application(db: Database, principal: Principal, data: ApplicationIn) -> ApplicationOut:
    """File a draft application: a merchant for itself, or an agent for a walk-in applicant."""
    require_role(principal, Role.MERCHANT, Role.AGENT)
    with db.transaction() as session:
        values = data.model_dump(exclude={"name", "legal_id"})
        if principal.is_merchant:
            merchant = session.get(Merchant, principal.merchant_id)
            if merchant is None:
                raise NotFound(key="error.not_found.merchant")
            if data.legal_id and data.legal_id != merchant.legal_id.upper():
                raise Invalid("legal_id", key="onboarding.error.legal_id_on_record")
            name, legal_id, merchant_id = data.name or merchant.name, merchant.legal_id, merchant.id
            for key in ("contact_name", "contact_phone", "region"):
                values[key] = values[key] or getattr(merchant, key)
        else:
            if not data.name:
                raise Invalid("name", key="onboarding.error.name_required")
            if not data.legal_id:
                raise Invalid("legal_id", key="onboarding.error.legal_id_required")
            problem = legal_id_problem(data.applicant_type, data.legal_id)
            if problem is not None:
                raise Invalid("legal_id", problem)
            name, legal_id, merchant_id = data.name, data.legal_id, None
        missing = [key for key in ("contact_name", "contact_phone") if not values[key]]
        if missing:  # a provider calls the applicant back: an application nobody can be reached for is refused
            raise Invalid.many([Problem(key, catalog_sentence("error.invalid.required")) for key in missing])
        application = OnboardingApplication(status=ApplicationStatus.DRAFT, name=name, legal_id=legal_id,
                                            merchant_id=merchant_id, applicant_user_id=principal.user_id, **values)
        session.add(application)
        session.flush()
        audit.record(session, principal, OWNER, application.id, "create",
                     after={"status": ApplicationStatus.DRAFT, "applicant_type": data.applicant_type, "name": name,
                            "terminal_model": data.terminal_model, "terminal_count": data.terminal_count})
        return _out(session, principal, application)


def update_application(db: Database, principal: Principal, application_id: int,
                       patch: ApplicationPatch) -> ApplicationOut:
    """Correct an application before it is submitted or after it was rejected."""
    require_role(principal, Role.MERCHANT, Role.AGENT)
    with db.transaction() as session:
        application = _load(session, principal, application_id, lock=True)
        if application.status not in (ApplicationStatus.DRAFT, ApplicationStatus.REJECTED):
            raise Conflict(key="onboarding.error.not_correctable")
        changes = patch.model_dump(exclude_unset=True)
        for name, value in changes.items():
            if value is None:
                raise Invalid(name, key="error.invalid.not_null")
        before = {k: getattr(application, k) for k in changes}
        for key, value in changes.items():
            setattr(application, key, value)
        session.flush()
        audit.record(session, principal, OWNER, application.id, "update", before=before, after=changes)
        return _out(session, principal, application)


def get_application(db: Database, principal: Principal, application_id: int) -> ApplicationOut:
    """Read an application with its checklist and what the next step still needs."""
    with db.transaction() as session:
        return _out(session, principal, _load(session, principal, application_id))


def list_applications(db: Database, principal: Principal, *, status: str | None = None, page: int = 1,
                      per_page: int = 50) -> Page[ApplicationOut]:
    """List applications, newest first (a merchant sees its own); filter by status for a review queue."""
    require_role(principal, *READERS)
    check_page(page, per_page)
    if status is not None and status not in set(ApplicationStatus):
        raise Invalid("status", key="onboarding.error.status")
    query = select(OnboardingApplication).order_by(OnboardingApplication.id.desc())
    query = scoped(query, principal, OnboardingApplication.merchant_id)
    if status:
        query = query.where(OnboardingApplication.status == status)
    with db.transaction() as session:
        rows, total = paginate(session, query, page, per_page)
        return Page[ApplicationOut](items=[_out(session, principal, a) for a in rows], total=total, page=page,
                                    per_page=per_page)


# materials ------------------------------------------------------------------------------------


def _material(application: OnboardingApplication, code: str) -> Material:
    kind = ApplicantType(application.applicant_type)
    if code not in {m.value for m in REQUIRED_MATERIALS[kind]}:
        allowed = Label("、".join(MATERIAL_LABELS[m].zh for m in REQUIRED_MATERIALS[kind]),
                        ", ".join(REQUIRED_MATERIALS[kind]))
        raise Invalid("material", key="onboarding.error.material_not_on_checklist",
                      kind=Label(APPLICANT_LABELS[kind].zh, kind.value), allowed=allowed)
    return Material(code)


def upload_material(db: Database, principal: Principal, var_dir: Path, application_id: int, material: str,
                    filename: str, content_type: str, content: bytes) -> ApplicationOut:
    """Upload (or upload again) one material: PDF, JPEG or PNG, at most 10 MiB."""
    return upload_materials(db, principal, var_dir, application_id,
                            {material: storage.Upload(filename, content_type, content)})


def upload_materials(db: Database, principal: Principal, var_dir: Path, application_id: int,
                     uploads: Mapping[str, storage.Upload]) -> ApplicationOut:
    """Upload several materials at once (one page, one submit): all of them are kept, or none."""
    if not uploads:
        raise Invalid("file", key="onboarding.error.no_file")
    shown = {material: storage.accepted_name(u.filename, u.content_type, u.content) for material, u in uploads.items()}
    with ExitStack() as kept:
        saved = {}
        for material, upload in uploads.items():
            saved[material] = storage.save(var_dir, f"onboarding/{application_id}", upload.content,
                                           Path(shown[material]).suffix)
            kept.enter_context(storage.kept_only_if_committed(var_dir, saved[material]))
        with db.transaction() as session:
            application = _load(session, principal, application_id, lock=True)
            for material, upload in uploads.items():
                _provide(session, principal, application, material, shown[material], upload.content_type,
                         saved[material])
            return _out(session, principal, application)


def _provide(session: Session, principal: Principal, application: OnboardingApplication, material: str,
             shown: str, content_type: str, saved: storage.SavedFile) -> None:
    code = _material(application, material)
    row = _materials(session, application.id).get(code)
    before = row.state if row else MaterialState.MISSING.value
    state = material_step(_status(application), before, MaterialAction.PROVIDE, principal.role.value)
    document = storage.record(session, principal, OWNER, application.id, code, shown, content_type, saved)
    if row is None:
        row = ApplicationMaterial(application_id=application.id, material=code)
        session.add(row)
    row.state, row.document_id, row.note, row.reviewed_by, row.reviewed_at = state, document.id, None, None, None
    session.flush()
    audit.record(session, principal, OWNER, application.id, "material.provide",
                 before={"material": code, "state": before},
                 after={"material": code, "state": state.value, "document_id": document.id, "filename": shown,
                        "sha256": saved.sha256, "size_bytes": saved.size})


def review_material(db: Database, principal: Principal, application_id: int, material: str, action: MaterialAction,
                    note: str | None = None) -> ApplicationOut:
    """Verify a material, or send it back with a note saying what is wrong (agent, during review)."""
    with db.transaction() as session:
        application = _load(session, principal, application_id, lock=True)
        code = _material(application, material)
        row = _materials(session, application.id).get(code)
        before = row.state if row else MaterialState.MISSING.value
        try:
            state = material_step(_status(application), before, action, principal.role.value, note=note)
        except RuleBroken as exc:
            raise Invalid("note", exc.said) from None
        assert row is not None  # only an uploaded material can be verified or sent back
        row.state, row.note = state.value, (note or None)
        row.reviewed_by, row.reviewed_at = principal.username, utcnow()
        session.flush()
        audit.record(session, principal, OWNER, application.id, f"material.{action.value}",
                     before={"material": code, "state": before}, after={"material": code, "state": state.value},
                     reason=note or None)
        return _out(session, principal, application)


def material_file(db: Database, principal: Principal, var_dir: Path, application_id: int,
                  material: str) -> tuple[Path, DocumentOut]:
    """Locate the current file of one material for download."""
    with db.transaction() as session:
        application = _load(session, principal, application_id)
        row = _materials(session, application.id).get(_material(application, material))
        document = session.get(StoredDocument, row.document_id) if row and row.document_id else None
        if document is None:
            raise NotFound(key="onboarding.error.no_material_file")
        return storage.locate(var_dir, document.path), DocumentOut.model_validate(document)


# steps ----------------------------------------------------------------------------------------


def take_step(db: Database, principal: Principal, application_id: int, action: OnboardingAction,
              *, reason: str | None = None) -> ApplicationOut:
    """Take a step that needs no data of its own: submit, start_review, approve, reject (with reason), resubmit."""
    if action not in (OnboardingAction.SUBMIT, OnboardingAction.START_REVIEW, OnboardingAction.APPROVE,
                      OnboardingAction.REJECT, OnboardingAction.RESUBMIT):
        raise ValueError(f"{action} needs its own data; use its function")
    with db.transaction() as session:
        application = _load(session, principal, application_id, lock=True)
        stamps: dict[str, Any] = {}
        if action in (OnboardingAction.SUBMIT, OnboardingAction.RESUBMIT):
            stamps = {"submitted_at": utcnow(), "rejection_reason": None}
        if action is OnboardingAction.REJECT:
            stamps = {"rejection_reason": reason}
        _advance(session, principal, application, action, reason=reason, **stamps)
        return _out(session, principal, application)


def sign_contract(db: Database, principal: Principal, application_id: int, data: ContractIn) -> ApplicationOut:
    """Record the signed contract and the fee plan it fixes (签订合同)."""
    with db.transaction() as session:
        application = _load(session, principal, application_id, lock=True)
        application.contract_ref, application.fee_plan = data.contract_ref, data.fee_plan.model_dump()
        _advance(session, principal, application, OnboardingAction.SIGN_CONTRACT,
                 after={"contract_ref": data.contract_ref, "fee_plan": application.fee_plan})
        return _out(session, principal, application)


def record_installation(db: Database, principal: Principal, application_id: int, data: InstallIn) -> ApplicationOut:
    """Record the installed terminals (安装调试); they are registered and activated at go-live."""
    with db.transaction() as session:
        application = _load(session, principal, application_id, lock=True)
        problems: list[Problem] = []
        for index, device in enumerate(data.devices):
            for field, value in (("serial_number", device.serial_number), ("tid", device.tid)):
                column = Terminal.serial_number if field == "serial_number" else Terminal.tid
                live = Terminal.status != TerminalStatus.DECOMMISSIONED if field == "tid" else true()
                if session.scalar(select(Terminal.id).where(column == value, live)) is not None:
                    problems.append(Problem(f"devices.{index}.{field}", catalog_sentence(
                        f"terminals.error.{field}_exists")))
        if problems:
            raise Invalid.many(problems)
        application.devices = [d.model_dump() for d in data.devices]
        _advance(session, principal, application, OnboardingAction.INSTALL,
                 after={"devices": [d.serial_number for d in data.devices]})
        return _out(session, principal, application)


def record_training(db: Database, principal: Principal, application_id: int, data: TrainIn) -> ApplicationOut:
    """Record the merchant's training; the installation must have passed sign-in and a test transaction."""
    with db.transaction() as session:
        application = _load(session, principal, application_id, lock=True)
        application.installation_verified = data.installation_verified
        _advance(session, principal, application, OnboardingAction.TRAIN,
                 after={"installation_verified": data.installation_verified, "note": data.note or None})
        return _out(session, principal, application)


def go_live(db: Database, principal: Principal, application_id: int, data: GoLiveIn) -> ApplicationOut:
    """Put the application's terminals into service: merchant found or created, fee plan, terminals activated."""
    with db.transaction() as session:
        application = _load(session, principal, application_id, lock=True)
        application.training_done = data.training_done
        _advance(session, principal, application, OnboardingAction.GO_LIVE, live_at=utcnow())
        merchant = _merchant_for(session, principal, application)
        application.merchant_id = merchant.id
        if application.fee_plan is not None:
            store_fee_plan(session, principal, merchant.id, dict(application.fee_plan))
        terminal_ids = []
        for device in application.devices or []:
            check_identity_free(session, device["serial_number"], device["tid"])
            terminal = insert_terminal(session, principal, TerminalIn.model_validate(
                {**device, "merchant_id": merchant.id, "region": application.region or merchant.region,
                 "status": TerminalStatus.ONBOARDING}), application_id=application.id)
            activate_locked(session, principal, terminal, f"onboarding application #{application.id}")
            terminal_ids.append(terminal.id)
        audit.record(session, principal, OWNER, application.id, "bind",
                     after={"merchant_id": merchant.id, "terminal_ids": terminal_ids}, reason=data.note or None)
        return _out(session, principal, application)


def _merchant_for(session: Session, principal: Principal, application: OnboardingApplication) -> Merchant:
    """The applying merchant, the merchant with the applicant's legal id, or a new one."""
    if application.merchant_id is not None:
        merchant = session.get(Merchant, application.merchant_id)
        assert merchant is not None
        return merchant
    existing = session.scalar(select(Merchant).where(Merchant.legal_id == application.legal_id))
    if existing is not None:
        return existing
    return insert_merchant(session, principal, MerchantIn(
        name=application.name, legal_id=application.legal_id, contact_name=application.contact_name,
        contact_phone=application.contact_phone, region=application.region))
