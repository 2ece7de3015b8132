"""Diagnosis session status, step kind and step outcome are one vocabulary each: schemas, models, engine agree."""

from __future__ import annotations

from posops.diagnosis.engine import DiagnosisEngine
from posops.diagnosis.models import DiagnosisSession
from posops.diagnosis.schemas import DiagnosisOut, NextStep
from posops.diagnosis.vocabulary import REPAIR_OUTCOMES, SessionStatus, StepKind, StepOutcome


def _enum_of(schema: dict, field: str) -> set[str]:
    ref = schema["properties"][field]["$ref"].rsplit("/", 1)[-1]
    return set(schema["$defs"][ref]["enum"])


def test_schemas_accept_exactly_the_enum_values() -> None:
    assert _enum_of(DiagnosisOut.model_json_schema(), "status") == {*SessionStatus}
    assert _enum_of(NextStep.model_json_schema(), "kind") == {*StepKind}


def test_session_default_is_an_enum_member() -> None:
    assert DiagnosisSession.__table__.columns["status"].default.arg is SessionStatus.OPEN


def test_engine_steps_speak_the_vocabulary() -> None:
    engine = DiagnosisEngine()
    state = engine.start("打印出来是白纸,提示缺纸")
    step = engine.assess(state).next_step
    assert step is not None and step.kind is StepKind.ACTION
    assert step.outcomes == REPAIR_OUTCOMES
    fixed = engine.apply(state, step.id, StepOutcome.FIXED)
    assert fixed.status is SessionStatus.RESOLVED
    assert fixed.answers[-1].kind is StepKind.ACTION
    assert type(fixed.from_dict(fixed.to_dict()).status) is SessionStatus
