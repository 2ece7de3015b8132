"""Pydantic shapes of onboarding applications, their materials, contract, devices, installation and training."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from posops.core.documents import DocumentOut
from posops.core.errors import RuleBroken, field_label
from posops.core.inputs import ONE_LINE, one_line
from posops.core.labels import Label
from posops.core.schemas import InputModel
from posops.onboarding.workflow import ApplicantType, ApplicationStatus
from posops.terminals.schemas import (
    MID,
    TID,
    ConditionOut,
    FeePlanIn,
    Name,
    NetworkType,
    Note,
    Phone,
    SerialNumber,
    Text,
)

MAX_DEVICES = 50


class ApplicationIn(InputModel):
    """A new onboarding application; a merchant user's own merchant fills in name and legal id when left out."""

    applicant_type: ApplicantType
    name: Name | None = None
    legal_id: Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, max_length=32,
                                               pattern=ONE_LINE)] | None = Field(
        None, description="统一社会信用代码 or 15-digit 注册号 (business), 身份证号 (individual)")
    contact_name: Text = ""
    contact_phone: Phone = ""
    region: Text = ""
    address: Annotated[str, one_line(255)] = ""
    terminal_model: Name
    terminal_count: int = Field(1, ge=1, le=MAX_DEVICES)
    note: Note = ""


class ApplicationPatch(InputModel):
    """Corrections to an application before it is (re)submitted; fields left out stay as they are."""

    contact_name: Text | None = None
    contact_phone: Phone | None = None
    region: Text | None = None
    address: Annotated[str, one_line(255)] | None = None
    terminal_model: Name | None = None
    terminal_count: int | None = Field(None, ge=1, le=MAX_DEVICES)
    note: Note | None = None


class ContractIn(InputModel):
    """The signed contract (签订合同): its reference and the fee plan it fixes."""

    contract_ref: Annotated[str, one_line(64, min_length=1)]
    fee_plan: FeePlanIn


class DeviceIn(InputModel):
    """A terminal installed for an application; it is registered and activated at go-live."""

    serial_number: SerialNumber
    model: Name
    vendor: Text = ""
    tid: TID
    mid: MID
    firmware_version: Text = ""
    app_version: Text = ""
    network_type: NetworkType = NetworkType.CELLULAR_4G
    carrier: Text = ""


def _distinct_devices(devices: list[DeviceIn]) -> list[DeviceIn]:
    for field in ("serial_number", "tid"):
        values = [getattr(d, field) for d in devices]
        if len(set(values)) != len(values):
            raise RuleBroken("onboarding.error.device_twice", field=Label(field_label(field).zh, field))
    return devices


class InstallIn(InputModel):
    """The installed terminals (安装调试)."""

    devices: Annotated[list[DeviceIn], Field(min_length=1, max_length=MAX_DEVICES), AfterValidator(_distinct_devices)]


class TrainIn(InputModel):
    """Record the training; the installation must have passed its sign-in and test transaction."""

    installation_verified: bool
    note: Note = ""


class GoLiveIn(InputModel):
    """Put the application's terminals into service once the merchant is trained."""

    training_done: bool
    note: Note = ""


class MaterialOut(BaseModel):
    """One checklist item of an application."""

    material: str
    required: bool
    state: str
    note: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    document: DocumentOut | None


class ApplicationOut(BaseModel):
    """An onboarding application with its checklist, what is missing for the next step and what the caller may do."""

    id: int
    status: ApplicationStatus
    applicant_type: ApplicantType
    merchant_id: int | None
    name: str
    legal_id: str
    unified_licence: bool
    contact_name: str
    contact_phone: str
    region: str
    address: str
    terminal_model: str
    terminal_count: int
    note: str
    rejection_reason: str | None
    contract_ref: str | None
    fee_plan: dict[str, Any] | None
    devices: list[dict[str, Any]] | None
    installation_verified: bool
    training_done: bool
    submitted_at: datetime | None
    live_at: datetime | None
    created_at: datetime
    updated_at: datetime
    materials: list[MaterialOut]
    terminal_ids: list[int]
    terminal_serials: list[str]
    """The registered terminals' serial numbers, in the order of ``terminal_ids``."""
    allowed_actions: list[str]
    material_actions: list[str]
    next_missing: list[ConditionOut] = Field(description="what the next step still needs")
