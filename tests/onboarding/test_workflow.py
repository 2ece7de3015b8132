"""Onboarding: the application's flow, who takes each step, the materials checklist and upload rules."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from posops.core.documents import UPLOAD_RULES, check_upload
from posops.core.transitions import ConditionsNotMet, IllegalTransition, NotAllowed
from posops.onboarding.workflow import (
    MATERIAL_LABELS,
    REQUIRED_MATERIALS,
    ApplicantType,
    ApplicationFacts,
    ApplicationStatus,
    Material,
    MaterialState,
    OnboardingAction,
    allowed_material_actions,
    allowed_onboarding_actions,
    has_unified_licence,
    legal_id_problem,
    material_step,
    missing_materials,
    optional_materials,
    required_materials,
    requirements,
    step,
)

PDF = b"%PDF-1.7\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00"


def all_in(applicant: ApplicantType, state: MaterialState) -> dict[str, MaterialState]:
    return {m: state for m in REQUIRED_MATERIALS[applicant]}


def ready(applicant: ApplicantType = ApplicantType.INDIVIDUAL) -> ApplicationFacts:
    return ApplicationFacts(
        applicant, materials=all_in(applicant, MaterialState.PROVIDED), terminal_model="P2"
    )


# ---------------------------------------------------------------- checklist


def test_business_checklist_follows_the_article_and_the_brief() -> None:
    assert set(REQUIRED_MATERIALS[ApplicantType.BUSINESS]) == {
        Material.APPLICATION_FORM,
        Material.BUSINESS_LICENCE,
        Material.TAX_REGISTRATION,
        Material.LEGAL_REP_ID,
        Material.PREMISES_PROOF,
        Material.BANK_ACCOUNT,
    }
    assert set(REQUIRED_MATERIALS[ApplicantType.INDIVIDUAL]) == {
        Material.APPLICATION_FORM,
        Material.ID_CARD,
        Material.BANK_ACCOUNT,
    }


def test_every_material_has_both_labels() -> None:
    for material in Material:
        label = MATERIAL_LABELS[material]
        assert label.zh and label.en and label.zh != label.en


def test_missing_materials_names_each_gap_in_both_languages() -> None:
    materials = {
        Material.APPLICATION_FORM: MaterialState.VERIFIED,
        Material.BUSINESS_LICENCE: MaterialState.PROVIDED,
        Material.TAX_REGISTRATION: MaterialState.REJECTED,
    }
    unmet = missing_materials("business", materials)
    assert [(c.code, c.subject) for c in unmet] == [
        ("material_rejected", "tax_registration"),
        ("material_missing", "legal_rep_id"),
        ("material_missing", "premises_proof"),
        ("material_missing", "bank_account"),
    ]
    assert "税务登记证" in unmet[0].zh and "tax registration" in unmet[0].en
    verified = missing_materials("business", materials, verified=True)
    assert ("material_unverified", "business_licence") in [(c.code, c.subject) for c in verified]
    assert len(verified) == 5


def test_nothing_missing_when_all_verified() -> None:
    for applicant in ApplicantType:
        assert missing_materials(applicant, all_in(applicant, MaterialState.VERIFIED), verified=True) == []


# ---------------------------------------------------------------- the flow


def test_the_whole_flow_to_go_live() -> None:
    facts = ready(ApplicantType.BUSINESS)
    status = step(ApplicationStatus.DRAFT, "submit", "merchant", facts)
    assert status is ApplicationStatus.SUBMITTED
    status = step(status, "start_review", "agent", facts)
    assert status is ApplicationStatus.UNDER_REVIEW
    facts = replace(facts, materials=all_in(ApplicantType.BUSINESS, MaterialState.VERIFIED))
    status = step(status, "approve", "agent", facts)
    facts = replace(facts, contract_ref="HT-2024-0001", fee_plan_recorded=True)
    status = step(status, "sign_contract", "agent", facts)
    assert status is ApplicationStatus.CONTRACTED
    facts = replace(facts, terminal_serial="SN0001")
    status = step(status, "install", "agent", facts)
    assert status is ApplicationStatus.INSTALLING
    facts = replace(facts, installation_verified=True)
    status = step(status, "train", "agent", facts)
    assert status is ApplicationStatus.TRAINING
    facts = replace(facts, training_done=True)
    assert step(status, "go_live", "agent", facts) is ApplicationStatus.LIVE


def test_submission_needs_a_model_and_every_material_uploaded() -> None:
    bare = ApplicationFacts(ApplicantType.INDIVIDUAL)
    with pytest.raises(ConditionsNotMet) as caught:
        step(ApplicationStatus.DRAFT, "submit", "merchant", bare)
    assert [c.code for c in caught.value.unmet] == ["terminal_model_missing"] + ["material_missing"] * 3
    assert "身份证" in caught.value.zh and "ID card" in caught.value.en


def test_approval_requires_every_item_verified() -> None:
    facts = ready()
    with pytest.raises(ConditionsNotMet) as caught:
        step("under_review", "approve", "agent", facts)
    assert {c.code for c in caught.value.unmet} == {"material_unverified"}
    assert caught.value.allowed == ("reject",)
    one_short = dict(all_in(ApplicantType.INDIVIDUAL, MaterialState.VERIFIED))
    one_short[Material.BANK_ACCOUNT] = MaterialState.PROVIDED
    with pytest.raises(ConditionsNotMet) as caught:
        step("under_review", "approve", "agent", replace(facts, materials=one_short))
    assert [c.subject for c in caught.value.unmet] == ["bank_account"]


def test_rejection_needs_a_reason_and_can_be_resubmitted() -> None:
    with pytest.raises(ValueError):
        step("under_review", "reject", "agent", ready(), rejection_reason=" ")
    assert (
        step("under_review", "reject", "agent", ready(), rejection_reason="身份证已过期")
        is ApplicationStatus.REJECTED
    )
    assert step("rejected", "resubmit", "merchant", ready()) is ApplicationStatus.SUBMITTED


def test_resubmission_refused_while_a_material_is_sent_back() -> None:
    materials = dict(all_in(ApplicantType.INDIVIDUAL, MaterialState.VERIFIED))
    materials[Material.ID_CARD] = MaterialState.REJECTED
    with pytest.raises(ConditionsNotMet) as caught:
        step("rejected", "resubmit", "merchant", replace(ready(), materials=materials))
    assert [(c.code, c.subject) for c in caught.value.unmet] == [("material_rejected", "id_card")]


@pytest.mark.parametrize(
    ("action", "status", "missing"),
    [
        ("sign_contract", "approved", {"contract_ref_missing", "fee_plan_missing"}),
        ("install", "contracted", {"terminal_serial_missing"}),
        ("train", "installing", {"installation_not_verified"}),
        ("go_live", "training", {"training_not_done"}),
    ],
)
def test_later_steps_need_their_records(action: str, status: str, missing: set[str]) -> None:
    assert {c.code for c in requirements(action, ready())} == missing
    with pytest.raises(ConditionsNotMet):
        step(status, action, "agent", ready())


@pytest.mark.parametrize(
    ("status", "action"),
    [
        ("submitted", "submit"),
        ("submitted", "approve"),
        ("approved", "install"),
        ("live", "go_live"),
        ("rejected", "start_review"),
    ],
)
def test_out_of_order_steps_are_illegal(status: str, action: str) -> None:
    with pytest.raises(IllegalTransition) as caught:
        step(status, action, "agent", ready(), rejection_reason="x")
    assert not isinstance(caught.value, ConditionsNotMet)


def test_roles_per_step() -> None:
    with pytest.raises(NotAllowed) as caught:
        step(ApplicationStatus.DRAFT, "submit", "risk", ready())
    assert caught.value.allowed == ()
    with pytest.raises(NotAllowed) as caught:
        step("submitted", "start_review", "merchant", ready())
    assert "商户" in caught.value.zh
    with pytest.raises(NotAllowed):
        step("under_review", "approve", "risk", ready())
    with pytest.raises(NotAllowed):
        step("rejected", "resubmit", "technician", ready())


def test_an_agent_files_for_a_walk_in_applicant() -> None:
    assert step(ApplicationStatus.DRAFT, "submit", "agent", ready()) is ApplicationStatus.SUBMITTED
    assert step("rejected", "resubmit", "agent", ready()) is ApplicationStatus.SUBMITTED
    assert material_step(ApplicationStatus.DRAFT, "missing", "provide", "agent") is MaterialState.PROVIDED
    assert allowed_onboarding_actions(ApplicationStatus.DRAFT, "agent") == [OnboardingAction.SUBMIT]
    assert allowed_onboarding_actions(ApplicationStatus.DRAFT, "technician") == []


def test_allowed_onboarding_actions_per_role() -> None:
    assert allowed_onboarding_actions(ApplicationStatus.DRAFT, "merchant") == [OnboardingAction.SUBMIT]
    assert allowed_onboarding_actions("under_review", "agent") == [
        OnboardingAction.APPROVE,
        OnboardingAction.REJECT,
    ]
    assert allowed_onboarding_actions("under_review", "merchant") == []
    assert allowed_onboarding_actions("training", "agent") == [OnboardingAction.GO_LIVE]
    assert allowed_onboarding_actions("live", "agent") == []


def test_illegal_step_message_lists_what_the_role_may_do() -> None:
    with pytest.raises(IllegalTransition) as caught:
        step("under_review", "sign_contract", "agent", ready())
    assert caught.value.allowed == ("approve", "reject")
    assert "审核通过" in caught.value.zh and "approve" in caught.value.en


# ---------------------------------------------------------------- materials


def test_material_lifecycle() -> None:
    assert material_step(ApplicationStatus.DRAFT, "missing", "provide", "merchant") is MaterialState.PROVIDED
    assert material_step("under_review", "provided", "verify", "agent") is MaterialState.VERIFIED
    assert (
        material_step("under_review", "provided", "reject", "agent", note="照片模糊")
        is MaterialState.REJECTED
    )
    assert material_step("rejected", "rejected", "provide", "merchant") is MaterialState.PROVIDED


def test_material_refusals() -> None:
    with pytest.raises(NotAllowed):
        material_step("under_review", "provided", "verify", "merchant")
    with pytest.raises(IllegalTransition):
        material_step("submitted", "provided", "verify", "agent")
    with pytest.raises(IllegalTransition):
        material_step("approved", "verified", "provide", "merchant")
    with pytest.raises(IllegalTransition):
        material_step("under_review", "missing", "verify", "agent")
    with pytest.raises(ValueError):
        material_step("under_review", "provided", "reject", "agent")
    assert allowed_material_actions("approved", "merchant") == []


# ---------------------------------------------------------------- uploads


@pytest.mark.parametrize(
    ("name", "kind", "head"),
    [
        ("licence.pdf", "application/pdf", PDF),
        ("id.JPG", "image/jpeg", JPEG),
        ("a.jpeg", "image/jpeg; q=1", JPEG),
        ("bank.png", "image/png", PNG),
    ],
)
def test_accepted_uploads(name: str, kind: str, head: bytes) -> None:
    assert check_upload(name, kind, 200_000, head) is None


@pytest.mark.parametrize(
    ("name", "kind", "size", "head", "code"),
    [
        ("a.pdf", "application/pdf", 0, PDF, "upload_empty"),
        ("a.pdf", "application/pdf", UPLOAD_RULES.max_bytes + 1, PDF, "upload_too_large"),
        (
            "a.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            10,
            None,
            "upload_type_not_allowed",
        ),
        ("a.gif", "image/gif", 10, None, "upload_type_not_allowed"),
        ("a.png", "application/pdf", 10, PDF, "upload_extension_mismatch"),
        ("pdf", "application/pdf", 10, PDF, "upload_extension_mismatch"),
        ("a.pdf", "application/pdf", 10, b"MZ\x90\x00", "upload_content_mismatch"),
        ("a.png", "image/png", 10, JPEG, "upload_content_mismatch"),
    ],
)
def test_refused_uploads_say_why(name: str, kind: str, size: int, head: bytes | None, code: str) -> None:
    problem = check_upload(name, kind, size, head)
    assert problem is not None
    assert problem.code == code
    assert problem.zh and problem.en


def test_upload_at_exactly_the_limit_is_accepted() -> None:
    assert check_upload("a.pdf", "application/pdf", UPLOAD_RULES.max_bytes, PDF) is None


def test_upload_path_components_are_ignored() -> None:
    assert check_upload("C:\\scans\\licence.pdf", "application/pdf", 10, PDF) is None
    assert check_upload("../../licence.pdf", "application/pdf", 10, PDF) is None


# ---------------------------------------------------------------- 三证合一 and the applicant's id


def test_a_unified_licence_makes_tax_registration_optional() -> None:
    assert Material.TAX_REGISTRATION not in required_materials("business", unified_licence=True)
    assert optional_materials("business", unified_licence=True) == (Material.TAX_REGISTRATION,)
    assert Material.TAX_REGISTRATION in required_materials("business", unified_licence=False)
    assert required_materials("individual", unified_licence=True) == REQUIRED_MATERIALS[ApplicantType.INDIVIDUAL]
    verified = all_in(ApplicantType.BUSINESS, MaterialState.VERIFIED)
    del verified[Material.TAX_REGISTRATION]
    facts = ApplicationFacts(ApplicantType.BUSINESS, materials=verified, terminal_model="A920")
    assert [c.subject for c in requirements("approve", facts)] == ["tax_registration"]
    assert requirements("approve", replace(facts, unified_licence=True)) == []


@pytest.mark.parametrize(
    ("applicant", "legal_id"),
    [
        ("business", "91350100M000100Y43"),
        ("business", "91350100m000100y43"),
        ("business", "310115000123456"),
        ("individual", "11010519491231002X"),
    ],
)
def test_valid_legal_ids(applicant: str, legal_id: str) -> None:
    assert legal_id_problem(applicant, legal_id) is None


@pytest.mark.parametrize(
    ("applicant", "legal_id", "words"),
    [
        ("business", "91350100M000100Y44", "should be 3"),
        ("business", "91350100M000100I43", "unified social credit code"),
        ("business", "12345", "unified social credit code"),
        ("individual", "110105194912310021", "should be X"),
        ("individual", "110105194913310021", "birth date"),
        ("individual", "91350100M000100Y43", "resident id"),
    ],
)
def test_invalid_legal_ids_say_why(applicant: str, legal_id: str, words: str) -> None:
    problem = legal_id_problem(applicant, legal_id)
    assert problem is not None and words in problem.en
    assert re.search(r"[\u4e00-\u9fff]", problem.zh) and problem.zh.endswith("。"), "said in Chinese too"


def test_unified_licence_is_read_from_the_code() -> None:
    assert has_unified_licence("business", "91350100M000100Y43")
    assert not has_unified_licence("business", "310115000123456")
    assert not has_unified_licence("individual", "11010519491231002X")
