"""Pydantic shapes of the diagnosis API (a contract: the benchmark harness speaks it)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from posops.core.schemas import InputModel
from posops.diagnosis.vocabulary import SessionStatus, StepKind


class DiagnosisCreate(InputModel):
    """A fault in the person's own words, with what is already known."""

    text: str = Field("", max_length=2000, description="the complaint, in Chinese or English")
    symptom: str | None = Field(None, max_length=32, description="a taxonomy symptom id, when already known")
    terminal_id: str | None = Field(None, max_length=32, description="serial number, TID or id of the terminal")
    evidence: dict[str, str] = Field(default_factory=dict, description="check id -> outcome already known")


class StepAnswer(InputModel):
    """The answer to the step posops proposed (or to any other step the person did)."""

    step: str = Field(min_length=1, max_length=64)
    outcome: str = Field(min_length=1, max_length=32)


class NextStep(BaseModel):
    """The check or repair action that lowers the expected cost of getting the terminal working."""

    kind: StepKind
    id: str
    title: str
    guidance: str
    outcomes: list[str]
    outcome_labels: dict[str, str] = Field(default_factory=dict, description="words for each outcome")
    cost: float | None = None
    fix_probability: float | None = Field(None, description="for an action: the chance it fixes the fault")


class RankedCause(BaseModel):
    """A cause with its posterior probability."""

    cause: str
    probability: float
    name: str = ""


class DiagnosisOut(BaseModel):
    """The state of a diagnosis after the latest answer."""

    id: str
    status: SessionStatus
    symptom: str
    ranking: list[RankedCause]
    next_step: NextStep | None
    explanation: str
    terminal_id: int | None = None


class StepRecord(BaseModel):
    """One answered step of a session."""

    model_config = ConfigDict(from_attributes=True)

    seq: int
    kind: str
    step: str
    outcome: str
    answered_by: str
    at: datetime
    title: str = ""
    outcome_label: str = ""


class DiagnosisDetail(DiagnosisOut):
    """A session with every step, as GET returns it."""

    text: str
    created_by: str
    created_at: datetime
    closed_at: datetime | None
    evidence: dict[str, str]
    fleet_evidence: dict[str, str]
    resolved_action: str | None
    steps: list[StepRecord]


class DiagnosisSummary(BaseModel):
    """A line of a terminal's diagnosis history."""

    id: str
    status: SessionStatus
    symptom: str
    text: str
    created_by: str
    created_at: datetime
    resolved_action: str | None
    steps: int
