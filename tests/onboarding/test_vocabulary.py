"""An application's status and applicant type are one vocabulary each: workflow, schemas and model agree."""

from __future__ import annotations

from typing import Any

from posops.core.i18n import translate
from posops.onboarding.models import OnboardingApplication
from posops.onboarding.schemas import ApplicationIn, ApplicationOut
from posops.onboarding.workflow import (
    STATUS_LABELS,
    ApplicantType,
    ApplicationStatus,
    OnboardingAction,
    allowed_onboarding_actions,
)


def _enum(schema: dict[str, Any], field: str) -> set[str]:
    ref = schema["properties"][field]["$ref"].rsplit("/", 1)[-1]
    return set(schema["$defs"][ref]["enum"])


def test_schemas_accept_exactly_the_enum_values() -> None:
    assert _enum(ApplicationIn.model_json_schema(), "applicant_type") == {*ApplicantType}
    out = ApplicationOut.model_json_schema()
    assert _enum(out, "status") == {*ApplicationStatus}
    assert _enum(out, "applicant_type") == {*ApplicantType}


def test_a_new_application_is_a_draft_that_only_submission_leaves() -> None:
    assert OnboardingApplication.__table__.columns["status"].default.arg is ApplicationStatus.DRAFT
    roles = ("merchant", "agent", "risk", "admin")
    from_draft = {a for role in roles for a in allowed_onboarding_actions(ApplicationStatus.DRAFT, role)}
    assert from_draft == {OnboardingAction.SUBMIT}


def test_every_status_has_its_catalogue_label() -> None:
    for status in ApplicationStatus:
        assert STATUS_LABELS[status].zh == translate(f"terminals.application.{status}", "zh-CN")

