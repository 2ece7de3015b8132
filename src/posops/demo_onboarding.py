"""The demo's onboarding applications (POS 申请), one in each state of review, through the onboarding service.

The demo merchant drafts one for its second shop; the desk files the others for walk-in
applicants and takes them as far as their state: submitted with every material uploaded,
under review with some verified, approved with all verified, and rejected after a material was
sent back. Materials are uploaded with the service's own upload function (small generated
PDFs and a JPEG). The legal ids are made valid with the workflow's own check characters.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from posops.core.auth import Principal
from posops.core.db import Database
from posops.demo_cast import People
from posops.demo_documents import JPEG, pdf
from posops.onboarding import service as onboarding
from posops.onboarding.schemas import ApplicationIn
from posops.onboarding.workflow import (
    REQUIRED_MATERIALS,
    ApplicantType,
    ApplicationStatus,
    Material,
    MaterialAction,
    OnboardingAction,
    required_materials,
    resident_id_check,
    unified_credit_code_check,
)

PHOTOGRAPHED = frozenset({Material.ID_CARD, Material.LEGAL_REP_ID, Material.PREMISES_PROOF})
"""Materials an applicant photographs with a phone (JPEG); the others are scanned (PDF)."""


@dataclass(frozen=True)
class Applicant:
    """A walk-in applicant the desk files for, and how far its application gets."""

    kind: ApplicantType
    name: str
    legal_id17: str
    """The legal id without its check character (computed by the workflow's own rule)."""
    contact: tuple[str, str]
    region: str
    address: str
    model: str
    target: ApplicationStatus


WALK_INS = (
    Applicant(ApplicantType.BUSINESS, "苏州观前街烘焙坊", "91320508MA1N8K2P3", ("周倩", "13912340001"), "苏州",
              "苏州市姑苏区观前街 88 号", "Sunmi P2", ApplicationStatus.SUBMITTED),
    Applicant(ApplicantType.INDIVIDUAL, "李记早餐铺", "32050819860312123", ("李建国", "13912340002"), "苏州",
              "苏州市姑苏区十全街 12 号", "PAX A920", ApplicationStatus.UNDER_REVIEW),
    Applicant(ApplicantType.BUSINESS, "南京新街口眼镜店", "91320102MA1P4W6R7", ("孙磊", "13912340003"), "南京",
              "南京市秦淮区中山南路 101 号", "Newland N910", ApplicationStatus.APPROVED),
    Applicant(ApplicantType.BUSINESS, "无锡崇安水果行", "91320202MA1Q7T2H9", ("钱芳", "13912340004"), "无锡",
              "无锡市梁溪区中山路 56 号", "Landi A8", ApplicationStatus.REJECTED),
)


def legal_id(applicant: Applicant) -> str:
    """The applicant's full legal id: 统一社会信用代码 or 身份证号 with its check character."""
    check = unified_credit_code_check if applicant.kind is ApplicantType.BUSINESS else resident_id_check
    return applicant.legal_id17 + check(applicant.legal_id17)


def load_applications(db: Database, people: People, var_dir: Path) -> dict[str, int]:
    """File the demo's applications and take each to its state; returns how many are in each status."""
    statuses = Counter([_draft(db, people.merchant, var_dir)])
    statuses.update(_walk_in(db, people.agent, var_dir, applicant) for applicant in WALK_INS)
    return dict(statuses)


def _upload(db: Database, who: Principal, var_dir: Path, application_id: int, material: Material) -> None:
    if material in PHOTOGRAPHED:
        name, kind, content = f"{material}.jpg", "image/jpeg", JPEG
    else:
        name, kind = f"{material}.pdf", "application/pdf"
        content = pdf(f"{material.replace('_', ' ')}, application {application_id}")
    onboarding.upload_material(db, who, var_dir, application_id, material, name, kind, content)


def _draft(db: Database, merchant: Principal, var_dir: Path) -> str:
    """The demo merchant's application for its second shop, the application form uploaded so far."""
    application = onboarding.create_application(db, merchant, ApplicationIn(
        applicant_type=ApplicantType.BUSINESS, address="上海市静安区南京西路 1266 号（二号店）",
        terminal_model="Sunmi P2", terminal_count=2, note="二号店开业，需要两台收款机。"))
    _upload(db, merchant, var_dir, application.id, Material.APPLICATION_FORM)
    return application.status


def _walk_in(db: Database, agent: Principal, var_dir: Path, applicant: Applicant) -> str:
    """File for a walk-in applicant with every required material, then review as far as its target state."""
    application = onboarding.create_application(db, agent, ApplicationIn(
        applicant_type=applicant.kind, name=applicant.name, legal_id=legal_id(applicant),
        contact_name=applicant.contact[0], contact_phone=applicant.contact[1], region=applicant.region,
        address=applicant.address, terminal_model=applicant.model))
    needed = required_materials(applicant.kind, unified_licence=application.unified_licence)
    for material in REQUIRED_MATERIALS[applicant.kind]:
        if material in needed:
            _upload(db, agent, var_dir, application.id, material)
    out = onboarding.take_step(db, agent, application.id, OnboardingAction.SUBMIT)
    if applicant.target is ApplicationStatus.SUBMITTED:
        return out.status
    out = onboarding.take_step(db, agent, application.id, OnboardingAction.START_REVIEW)
    if applicant.target is ApplicationStatus.UNDER_REVIEW:
        onboarding.review_material(db, agent, application.id, Material.APPLICATION_FORM, MaterialAction.VERIFY)
        return out.status
    if applicant.target is ApplicationStatus.REJECTED:
        onboarding.review_material(db, agent, application.id, Material.PREMISES_PROOF, MaterialAction.REJECT,
                                   "经营场所照片模糊，看不清门牌号，请重新拍摄上传。")
        return onboarding.take_step(db, agent, application.id, OnboardingAction.REJECT,
                                    reason="经营场所证明无法核实经营地址，请补充清晰照片后重新提交。").status
    for material in needed:
        onboarding.review_material(db, agent, application.id, material, MaterialAction.VERIFY)
    return onboarding.take_step(db, agent, application.id, OnboardingAction.APPROVE).status
