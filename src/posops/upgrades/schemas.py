"""Pydantic shapes of the upgrades API: packages, compatibility, minimums, campaigns, the terminal's side."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field, model_validator

from posops.core.errors import RuleBroken
from posops.core.inputs import ClockTime, Id, Word, code, multi_line, one_line
from posops.core.schemas import InputModel
from posops.terminals.schemas import Tag
from posops.upgrades.gate import Signal, Verdict
from posops.upgrades.steps import FailureCode, Step, TargetState
from posops.upgrades.waves import check_waves

Version = Annotated[str, one_line(32, min_length=1)]
"""A version as terminals report it (``3.2.1``, ``V1.2.3``, ``PayDroid 8.1``); the service checks it reads as one."""
ModelName = Annotated[str, one_line(64, min_length=1)]
Sha256 = Annotated[str, code(64, r"^[0-9a-fA-F]{64}$", min_length=64)]
ReleaseNotes = Annotated[str, multi_line(4000)]
Detail = Annotated[str, one_line(255)]
ReportId = Annotated[str, code(64, r"^[0-9A-Za-z_\-.:]{1,64}$", min_length=1)]
MAX_SOAK_MINUTES = 7 * 24 * 60
MAX_WAVES = 10
MAX_SIZE_BYTES = 2**40


class PackageKind(StrEnum):
    """What a package installs."""

    APP = "app"
    FIRMWARE = "firmware"


class CampaignStatus(StrEnum):
    """Where a campaign stands."""

    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    """Approved, waiting for its start time."""
    RUNNING = "running"
    PAUSED = "paused"
    HALTED = "halted"
    """Stopped by the health gate (or by hand): a regression; offers a rollback."""
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


LIVE_STATUSES = (CampaignStatus.APPROVED, CampaignStatus.RUNNING, CampaignStatus.PAUSED)
ENDED_STATUSES = (CampaignStatus.HALTED, CampaignStatus.COMPLETED, CampaignStatus.CANCELLED, CampaignStatus.EXPIRED)


class PackageIn(InputModel):
    """A package's facts, sent with its file: the file must hash to ``sha256`` and be ``size_bytes`` long."""

    kind: PackageKind
    model: ModelName
    version: Version
    sha256: Sha256
    size_bytes: int = Field(ge=1, le=MAX_SIZE_BYTES)
    notes_zh: ReleaseNotes = ""
    notes_en: ReleaseNotes = ""


class PackageOut(BaseModel):
    """A registered package."""

    id: int
    kind: PackageKind
    model: str
    version: str
    sha256: str
    size_bytes: int
    notes_zh: str
    notes_en: str
    has_file: bool
    created_by: str
    created_at: datetime


class CompatibilityIn(InputModel):
    """One cell of the compatibility matrix: this app version on this model with this firmware."""

    model: ModelName
    firmware: Version
    app: Version
    compatible: bool
    note: Annotated[str, one_line(255)] = ""


class CompatibilityOut(BaseModel):
    """One cell of the compatibility matrix."""

    model: str
    firmware: str
    app: str
    compatible: bool
    note: str


class MinimumIn(InputModel):
    """The lowest version the acquirer accepts on a model."""

    model: ModelName
    kind: PackageKind
    version: Version
    acquirer: Word = ""


class MinimumOut(BaseModel):
    """The lowest version the acquirer accepts on a model."""

    model: str
    kind: PackageKind
    version: str
    acquirer: str
    updated_at: datetime


class TargetFilter(InputModel):
    """Which terminals of the package's model a campaign is for; every field given must match (tags: all of them)."""

    regions: list[Annotated[str, one_line(64, min_length=1)]] = Field(default_factory=list, max_length=50)
    merchant_ids: list[Id] = Field(default_factory=list, max_length=200)
    current_versions: list[Version] = Field(default_factory=list, max_length=20)
    tags: list[Tag] = Field(default_factory=list, max_length=10)


class WaveIn(InputModel):
    """One wave: the cumulative share of targets it reaches, and its minimum soak before the next opens."""

    percent: int = Field(ge=1, le=100)
    soak_minutes: int = Field(default=240, ge=0, le=MAX_SOAK_MINUTES)


def default_waves() -> list[WaveIn]:
    """1 % canary, then 10 %, 50 %, 100 %, four hours' soak each."""
    return [WaveIn(percent=p) for p in (1, 10, 50, 100)]


class CampaignIn(InputModel):
    """A campaign to build: package, targets, waves, window, options; it starts only once a second person approves."""

    name: Annotated[str, one_line(128, min_length=1)]
    package_id: Id
    filter: TargetFilter = Field(default_factory=TargetFilter)
    waves: list[WaveIn] = Field(default_factory=default_waves, min_length=1, max_length=MAX_WAVES)
    window_start: ClockTime | None = "01:00"
    window_end: ClockTime | None = "05:00"
    """The maintenance window in each merchant's own time zone; installs never happen while the shop is open."""
    wifi_only: bool = False
    force: bool = False
    starts_at: datetime | None = None
    expires_at: datetime | None = None

    @model_validator(mode="after")
    def _consistent(self) -> CampaignIn:
        problems = check_waves([w.percent for w in self.waves])
        if problems:
            raise RuleBroken(f"upgrades.error.{problems[0]}")
        if (self.window_start is None) != (self.window_end is None):
            raise RuleBroken("upgrades.error.window_half")
        for moment in (self.starts_at, self.expires_at):
            if moment is not None and moment.tzinfo is None:
                raise RuleBroken("upgrades.error.time_zone_needed")
        if self.starts_at and self.expires_at and self.expires_at <= self.starts_at:
            raise RuleBroken("upgrades.error.expires_before_start")
        return self


class WavePreview(BaseModel):
    """A wave as planned: how many terminals it adds, by model, and a few of their serial numbers."""

    index: int
    percent: int
    soak_minutes: int
    terminals: int
    by_model: dict[str, int]
    sample: list[str]


class PreviewOut(BaseModel):
    """What a campaign would do: its targets per wave, and the terminals left out and why."""

    package: PackageOut
    matched: int
    targets: int
    excluded: dict[str, int]
    """Reason → count: already_on_version, wrong_model, incompatible, not_active."""
    waves: list[WavePreview]


class SignalOut(BaseModel):
    """One health signal of a wave: upgraded terminals against the control cohort."""

    signal: Signal
    treated_rate: float
    control_rate: float
    p_value: float
    regressed: bool


class WaveOut(BaseModel):
    """A wave of a campaign: its counts and the gate's latest judgement."""

    index: int
    percent: int
    soak_minutes: int
    targeted: int
    states: dict[str, int]
    opened: bool
    verdict: Verdict | None
    checked_at: datetime | None
    signals: list[SignalOut]
    history: list[dict[str, Any]]
    """The gate's checks in time order: at, installed, failed, worst treated and control rates."""


class CampaignOut(BaseModel):
    """A campaign with its waves, the gate's judgements and the actions the caller may take."""

    id: int
    name: str
    status: CampaignStatus
    package: PackageOut
    filter: dict[str, Any]
    window_start: str | None
    window_end: str | None
    wifi_only: bool
    force: bool
    starts_at: datetime | None
    expires_at: datetime | None
    current_wave: int
    wave_opened_at: datetime | None
    targets: int
    waves: list[WaveOut]
    halted_on: str | None
    halt_detail: dict[str, Any] | None
    incident_id: int | None
    rollback_of: int | None
    rollback_campaign_id: int | None
    created_by: str
    approved_by: str | None
    approved_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    actions: list[str]


class CampaignLine(BaseModel):
    """A campaign in a list."""

    id: int
    name: str
    status: CampaignStatus
    package_id: int
    model: str
    version: str
    targets: int
    installed: int
    failed: int
    current_wave: int
    waves: int
    created_by: str
    created_at: datetime


class HaltIn(InputModel):
    """Halt or cancel a campaign by hand, with why."""

    reason: Annotated[str, multi_line(500, min_length=1)]


class NextOut(BaseModel):
    """What a terminal is to install now, or why not yet (``install`` false with ``not_before`` or ``reason``)."""

    install: bool
    campaign_id: int | None = None
    kind: PackageKind | None = None
    version: str | None = None
    sha256: str | None = None
    size_bytes: int | None = None
    download_path: str | None = None
    force: bool = False
    wifi_only: bool = False
    expires_at: datetime | None = None
    not_before: datetime | None = None
    reason: str | None = None


class ReportIn(InputModel):
    """One step a terminal took; ``report_id`` is the terminal's own id, so sending it twice is harmless."""

    report_id: ReportId
    campaign_id: Id
    step: Step
    code: FailureCode | None = None
    detail: Detail = ""
    at: datetime

    @model_validator(mode="after")
    def _code_with_failure(self) -> ReportIn:
        if self.step is Step.FAILED and self.code is None:
            raise RuleBroken("upgrades.error.code_needed")
        if self.step is not Step.FAILED and self.code is not None:
            raise RuleBroken("upgrades.error.code_without_failure")
        if self.at.tzinfo is None:
            raise RuleBroken("upgrades.error.time_zone_needed")
        return self


class ReportsIn(InputModel):
    """Reports of one terminal, oldest first."""

    reports: list[ReportIn] = Field(min_length=1, max_length=50)


class ReportResult(BaseModel):
    """What became of one report."""

    report_id: str
    duplicate: bool
    state: TargetState
    retry: bool
    """The failure was transient: the terminal is offered the package again."""


class ReportsOut(BaseModel):
    """What became of each report."""

    results: list[ReportResult]
