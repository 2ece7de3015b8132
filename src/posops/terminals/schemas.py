"""Pydantic shapes of merchants, terminals and their lifecycle at the edges (API, CSV import, CLI).

The field types here (names, notes, TID, MID, versions) are shared by the onboarding and reactivation shapes.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from posops.core.audit import AuditEntity
from posops.core.errors import RuleBroken, excerpt
from posops.core.inputs import ClockTime, Id, Line, Name, Note, RequiredNote, code, one_line
from posops.core.schemas import InputModel, StoredNote
from posops.core.versions import parse_version
from posops.terminals.lifecycle import SuspensionReason, TerminalStatus


class NetworkType(StrEnum):
    """How a terminal reaches the acquirer."""

    CELLULAR_4G = "4g"
    WIFI = "wifi"
    ETHERNET = "ethernet"


Text = Line
SerialNumber = Annotated[str, code(32, r"^[A-Za-z0-9][A-Za-z0-9-]{3,31}$")]
TID = Annotated[str, code(8, r"^[A-Za-z0-9]{8}$")]
MID = Annotated[str, code(15, r"^[A-Za-z0-9]{15}$")]
LegalId = Annotated[str, code(32, r"^[A-Za-z0-9]{6,32}$")]
Tag = Annotated[str, code(32, r"^[0-9A-Za-z_\-.\u4e00-\u9fff]{1,32}$", min_length=1)]
"""A label terminals are grouped by (``pilot``, ``连锁A``): letters, digits, ``_-.``, Chinese; campaigns target them."""
Tags = Annotated[list[Tag], Field(max_length=20)]


def _time_zone(value: str) -> str:
    if value not in available_timezones():
        raise ValueError("not an IANA time zone, e.g. Asia/Shanghai")
    return value


TimeZone = Annotated[str, one_line(64, min_length=1), AfterValidator(_time_zone)]


def _phone(value: str) -> str:
    if value and not re.fullmatch(r"\+?[0-9 -]{5,20}", value):
        raise RuleBroken("terminals.error.phone")
    return value


Phone = Annotated[str, one_line(32), AfterValidator(_phone)]


class MerchantIn(InputModel):
    """A merchant to create."""

    name: Name
    legal_id: LegalId = Field(description="business licence number (统一社会信用代码) or the individual's id number")
    contact_name: Text = ""
    contact_phone: Phone = ""
    region: Text = ""


class MerchantPatch(InputModel):
    """Changes to a merchant; fields left out stay as they are."""

    name: Name | None = None
    legal_id: LegalId | None = None
    contact_name: Text | None = None
    contact_phone: Phone | None = None
    region: Text | None = None
    time_zone: TimeZone | None = None
    opens_at: ClockTime | None = None
    closes_at: ClockTime | None = None


class MerchantOut(InputModel):
    """A merchant as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    legal_id: str
    contact_name: str
    contact_phone: str
    region: str
    time_zone: str = "Asia/Shanghai"
    opens_at: str = "08:00"
    closes_at: str = "22:00"
    created_at: datetime
    updated_at: datetime


class _TerminalFields(BaseModel):
    """Checks shared by new terminals and changes to them."""

    @model_validator(mode="after")
    def _dates_in_order(self) -> _TerminalFields:
        purchase, warranty = getattr(self, "purchase_date", None), getattr(self, "warranty_end", None)
        if purchase and warranty and warranty < purchase:
            raise RuleBroken("terminals.error.warranty_end_before_purchase")
        return self


class TerminalIn(_TerminalFields):
    """A terminal to create."""

    serial_number: SerialNumber
    model: Name
    vendor: Text = ""
    tid: TID = Field(description="terminal id at the acquirer host (field 41), 8 characters")
    mid: MID = Field(description="merchant id at the acquirer host (field 42), 15 characters")
    merchant_id: Id
    firmware_version: Text = ""
    app_version: Text = ""
    network_type: NetworkType = NetworkType.CELLULAR_4G
    carrier: Text = ""
    region: Text = ""
    purchase_date: date | None = None
    warranty_end: date | None = None
    status: TerminalStatus = TerminalStatus.ACTIVE
    status_reason: SuspensionReason | None = None

    @model_validator(mode="after")
    def _reason_only_when_suspended(self) -> TerminalIn:
        if (self.status is TerminalStatus.SUSPENDED) != (self.status_reason is not None):
            raise RuleBroken("terminals.error.status_reason_only_suspended")
        return self


class TerminalPatch(_TerminalFields):
    """Changes to a terminal's record; its status changes through the lifecycle, not here."""

    model_config = ConfigDict(extra="forbid")

    serial_number: SerialNumber | None = None
    model: Name | None = None
    vendor: Text | None = None
    tid: TID | None = None
    mid: MID | None = None
    merchant_id: Id | None = None
    firmware_version: Text | None = None
    app_version: Text | None = None
    network_type: NetworkType | None = None
    carrier: Text | None = None
    region: Text | None = None
    purchase_date: date | None = None
    warranty_end: date | None = None
    tags: Tags | None = None


class TerminalOut(InputModel):
    """A terminal as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    serial_number: str
    model: str
    vendor: str
    tid: str
    mid: str
    merchant_id: int
    merchant_name: str
    firmware_version: str
    app_version: str
    network_type: str
    carrier: str
    region: str
    purchase_date: date | None
    warranty_end: date | None
    status: str
    status_reason: str | None
    activated_at: datetime | None = None
    last_transaction_at: datetime | None = None
    must_sign_in: bool = False
    application_id: int | None = None
    tags: list[str] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime


class TerminalFilters(BaseModel):
    """What a terminal list may be narrowed by."""

    merchant_id: Id | None = None
    status: TerminalStatus | None = None
    model: Line | None = None
    region: Line | None = None
    q: Line | None = Field(None, description="text search on serial number or TID")


# lifecycle: fee plans, suspension, reactivation, onboarding ------------------------------------

DocumentName = Annotated[str, one_line(64, min_length=1)]
Voucher = Annotated[str, code(64, r"^[A-Za-z0-9][A-Za-z0-9_./-]{3,63}$")]
VersionText = Annotated[str, one_line(32, min_length=1)]
MAX_BILLS = 36
MAX_DOCUMENTS = 10


def _version(value: str) -> str:
    try:
        parse_version(value)
    except ValueError:
        raise RuleBroken("terminals.error.version", version=excerpt(value)) from None
    return value


Version = Annotated[VersionText, AfterValidator(_version)]


def _distinct_dates(values: list[date]) -> list[date]:
    if len(set(values)) != len(values):
        raise RuleBroken("terminals.error.due_date_twice")
    return sorted(values)


def _distinct_names(values: list[str]) -> list[str]:
    if len({v.casefold() for v in values}) != len(values):
        raise RuleBroken("terminals.error.document_twice")
    return values


DueDates = Annotated[list[date], Field(min_length=1, max_length=MAX_BILLS), AfterValidator(_distinct_dates)]
DocumentNames = Annotated[list[DocumentName], Field(max_length=MAX_DOCUMENTS), AfterValidator(_distinct_names)]


class FeePlanIn(BaseModel):
    """A merchant's contracted fees; money in fen (分), the penalty in basis points per day (5 = 万分之五)."""

    monthly_fee_fen: int = Field(ge=0, le=10_000_000)
    monthly_data_fee_fen: int = Field(0, ge=0, le=10_000_000)
    daily_penalty_bp: int = Field(ge=0, le=1_000)
    grace_days: int = Field(ge=0, le=365)
    penalty_cap_fen: int | None = Field(None, ge=0, le=100_000_000)
    contract_ref: Text = ""


class FeePlanOut(FeePlanIn):
    """A merchant's fee plan as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    merchant_id: int
    updated_at: datetime


class SuspendIn(InputModel):
    """Suspend an active terminal: why, a note, and what the reason needs to be lifted."""

    reason: SuspensionReason
    note: RequiredNote
    unpaid_due_dates: DueDates | None = Field(None, description="arrears: due dates of the unpaid monthly bills")
    documents_requested: DocumentNames = Field([], description="risk_limit, security, policy: documents to provide")
    required_version: Version | None = Field(None, description="system_update: the software version to reach")

    @model_validator(mode="after")
    def _details_fit_the_reason(self) -> SuspendIn:
        if self.unpaid_due_dates is not None and self.reason is not SuspensionReason.ARREARS:
            raise RuleBroken("terminals.error.unpaid_due_dates_only_arrears")
        if self.documents_requested and self.reason not in (SuspensionReason.RISK_LIMIT, SuspensionReason.SECURITY,
                                                              SuspensionReason.POLICY):
            raise RuleBroken("terminals.error.documents_only_risk")
        if self.required_version is not None and self.reason is not SuspensionReason.SYSTEM_UPDATE:
            raise RuleBroken("terminals.error.version_only_update")
        return self


class ReasonChangeIn(InputModel):
    """Re-label a suspension (for example, escalate it to security)."""

    reason: SuspensionReason
    note: RequiredNote


class LifecycleNoteIn(InputModel):
    """A note for activating a terminal."""

    note: Note = ""


class DecommissionIn(InputModel):
    """Take a terminal out of service for good (注销): why, and its serial number typed again as confirmation."""

    note: RequiredNote
    confirm_serial_number: Annotated[str, one_line(32, min_length=1)]


class SuspensionOut(InputModel):
    """One suspension of a terminal."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    terminal_id: int
    reason: str
    note: str
    unpaid_due_dates: list[date] | None
    documents_requested: list[str]
    required_version: str | None
    suspended_by: str
    suspended_by_role: str
    suspended_at: datetime
    ended_at: datetime | None
    ended_by: str | None
    end_action: str | None


class ScreenNoticeOut(BaseModel):
    """What the terminal's own screen shows, line by line, in both languages."""

    zh_cn: list[str] = Field(serialization_alias="zh-CN")
    en: list[str]


class NoticeOut(BaseModel):
    """A notice sent to a merchant."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    merchant_id: int
    terminal_id: int | None
    kind: str
    title_zh: str
    body_zh: str
    title_en: str
    body_en: str
    created_at: datetime


class LifecycleOut(BaseModel):
    """A terminal's lifecycle as the caller sees it: its state, what the caller may do, what it shows."""

    terminal_id: int
    status: str
    status_reason: str | None
    must_sign_in: bool
    allowed_actions: list[str]
    suspend_reasons: list[str] = Field(description="reasons the caller may suspend (or re-label) for")
    suspension: SuspensionOut | None
    screen_notice: ScreenNoticeOut | None
    open_request_id: int | None
    notices: list[NoticeOut]


class TimelineEventOut(BaseModel):
    """One audited change in a terminal's life: who, when, what, before -> after, why."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    actor_role: str
    entity_type: AuditEntity
    entity_id: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: StoredNote


class ConditionOut(BaseModel):
    """A condition that is not met yet, in both languages."""

    code: str
    zh: str
    en: str
    subject: str | None = None


class RejectIn(BaseModel):
    """Reject with a reason the applicant can act on."""

    reason: RequiredNote


