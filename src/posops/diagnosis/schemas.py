"""Pydantic shapes of the diagnosis API (a contract: the benchmark harness speaks it)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from posops.core.card_data import mask_card_numbers
from posops.core.inputs import multi_line, one_line
from posops.core.schemas import InputModel
from posops.diagnosis.vocabulary import HandoverReason, SessionStatus, StepBy, StepKind
from posops.terminals.lifecycle import SuspensionReason

MAX_EVIDENCE = 100
"""The most checks a new diagnosis may say it already knows."""


class DiagnosisCreate(InputModel):
    """A fault in the person's own words, with what is already known."""

    text: Annotated[str, multi_line(2000, min_length=1), AfterValidator(mask_card_numbers)] = Field(
        description="the complaint, in Chinese or English; a card number in it is kept masked (first six, last four)")
    symptom: Annotated[str, one_line(32)] | None = Field(None, description="a taxonomy symptom id, when already known")
    terminal_id: Annotated[str, one_line(32)] | None = Field(None, description="serial number, TID or id of the "
                                                                                  "terminal")
    evidence: dict[Annotated[str, one_line(64)], Annotated[str, one_line(32)]] = Field(
        default_factory=dict, max_length=MAX_EVIDENCE, description="check id -> outcome already known")


class HandoverIn(InputModel):
    """Stop the diagnosis and hand it to the service desk, with a note for the desk if wanted."""

    note: Annotated[str, multi_line(500, strip=False), AfterValidator(mask_card_numbers)] = ""


class StepAnswer(InputModel):
    """The answer to the step posops proposed (or to any other step the person did)."""

    step: Annotated[str, one_line(64, min_length=1, strip=False)]
    outcome: Annotated[str, one_line(32, min_length=1, strip=False)]


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
    by: StepBy = Field(StepBy.MERCHANT, description="who can take the step: merchant, support (the desk), technician")


class RankedCause(BaseModel):
    """A cause with its posterior probability."""

    cause: str
    probability: float
    name: str = ""


class SymptomChoice(BaseModel):
    """A symptom offered to the person to pick, with how likely the engine thinks it is."""

    symptom: str
    name: str
    probability: float


class SymptomPick(InputModel):
    """The symptom the person picked from the ones offered (or any other taxonomy symptom)."""

    symptom: Annotated[str, one_line(32, min_length=1, strip=False)]


class SuspensionOut(BaseModel):
    """The terminal is suspended by the provider: why, and what reactivation needs."""

    reason: SuspensionReason
    reason_name: str
    needs: str
    reactivation_url: str = Field(description="the terminal's page, where reactivation is requested or followed")


class UpgradeCauseOut(BaseModel):
    """The terminal runs a version whose upgrade campaign its health gate halted: the known cause, and its repair."""

    campaign_id: int
    version: str
    from_version: str = Field(description="the version it ran before, which the rollback puts back")
    halted_on: str = Field(description="the health signal the gate halted on")
    rollback_campaign_id: int | None = Field(None, description="the rollback campaign, once started")
    note: str = Field(description="what happened and what to do, in the page's language")


class DiagnosisOut(BaseModel):
    """The state of a diagnosis after the latest answer."""

    id: str
    status: SessionStatus
    symptom: str
    ranking: list[RankedCause]
    next_step: NextStep | None
    explanation: str
    terminal_id: int | None = None
    suspension: SuspensionOut | None = Field(None, description="set when posops holds the terminal suspended")
    upgrade: UpgradeCauseOut | None = Field(None, description="set when the terminal runs a release its campaign's "
                                                              "health gate halted: the diagnosis starts from it")
    meanwhile: list[str] = Field(default_factory=list,
                                 description="how the shop keeps taking payments while the terminal is down")
    waiting_for_desk: bool = Field(False, description="a merchant-led session whose next step is the desk's")
    handover_proposed: bool = Field(False, description="enough steps were tried: contacting support is suggested")
    handover_reason: HandoverReason | None = None
    ticket_id: int | None = Field(None, description="the repair ticket an escalated session opened")
    symptom_question: list[SymptomChoice] = Field(
        default_factory=list, description="when picking the symptom is worth a tap: the symptoms to offer")


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

    terminal_serial_number: str | None = None
    terminal_tid: str | None = None
    text: str
    created_by: str
    created_at: datetime
    closed_at: datetime | None
    evidence: dict[str, str]
    fleet_evidence: dict[str, str]
    resolved_action: str | None
    steps: list[StepRecord]


class DiagnosisSummary(BaseModel):
    """A line of a terminal's diagnosis history or of the desk's queue."""

    id: str
    status: SessionStatus
    symptom: str
    text: str
    terminal_id: int | None = None
    terminal_serial: str | None = None
    created_by: str
    created_at: datetime
    resolved_action: str | None
    waiting_for_desk: bool = False
    handover_reason: HandoverReason | None = None
    steps: int


class DeskQueue(BaseModel):
    """The desk's queue of diagnoses: sessions waiting for a desk step, recent hand-overs, and counts by status."""

    waiting: list[DiagnosisSummary]
    handed_over: list[DiagnosisSummary]
    counts: dict[SessionStatus, int]
