"""Pydantic shapes of merchants and terminals at the edges (API, CSV import, CLI)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

TERMINAL_STATUSES = ("onboarding", "active", "suspended", "decommissioned")
SUSPENSION_REASONS = ("arrears", "risk_limit", "device_fault", "system_update", "security", "dormant",
                      "policy", "other")
NETWORK_TYPES = ("4g", "wifi", "ethernet")

TerminalStatus = Literal["onboarding", "active", "suspended", "decommissioned"]
SuspensionReason = Literal["arrears", "risk_limit", "device_fault", "system_update", "security", "dormant",
                           "policy", "other"]
NetworkType = Literal["4g", "wifi", "ethernet"]

Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
SerialNumber = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{3,31}$")]
TID = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9]{8}$")]
MID = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9]{15}$")]
LegalId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9]{6,32}$")]


def _phone(value: str) -> str:
    if value and not re.fullmatch(r"\+?[0-9 -]{5,20}", value):
        raise ValueError("must be a phone number (digits, spaces, dashes, optional leading +)")
    return value


Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32), AfterValidator(_phone)]


class MerchantIn(BaseModel):
    """A merchant to create."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    legal_id: LegalId = Field(description="business licence number (统一社会信用代码) or the individual's id number")
    contact_name: Text = ""
    contact_phone: Phone = ""
    region: Text = ""


class MerchantPatch(BaseModel):
    """Changes to a merchant; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    legal_id: LegalId | None = None
    contact_name: Text | None = None
    contact_phone: Phone | None = None
    region: Text | None = None


class MerchantOut(BaseModel):
    """A merchant as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    legal_id: str
    contact_name: str
    contact_phone: str
    region: str
    created_at: datetime
    updated_at: datetime


class _TerminalFields(BaseModel):
    """Checks shared by new terminals and changes to them."""

    @model_validator(mode="after")
    def _dates_in_order(self) -> _TerminalFields:
        purchase, warranty = getattr(self, "purchase_date", None), getattr(self, "warranty_end", None)
        if purchase and warranty and warranty < purchase:
            raise ValueError("warranty_end must not be before purchase_date")
        return self


class TerminalIn(_TerminalFields):
    """A terminal to create."""

    model_config = ConfigDict(extra="forbid")

    serial_number: SerialNumber
    model: Name
    vendor: Text = ""
    tid: TID = Field(description="terminal id at the acquirer host (field 41), 8 characters")
    mid: MID = Field(description="merchant id at the acquirer host (field 42), 15 characters")
    merchant_id: int
    firmware_version: Text = ""
    app_version: Text = ""
    network_type: NetworkType = "4g"
    carrier: Text = ""
    region: Text = ""
    purchase_date: date | None = None
    warranty_end: date | None = None
    status: TerminalStatus = "active"
    status_reason: SuspensionReason | None = None

    @model_validator(mode="after")
    def _reason_only_when_suspended(self) -> TerminalIn:
        if (self.status == "suspended") != (self.status_reason is not None):
            raise ValueError("status_reason is required for a suspended terminal and only for one")
        return self


class TerminalPatch(_TerminalFields):
    """Changes to a terminal's record; its status changes through the lifecycle, not here."""

    model_config = ConfigDict(extra="forbid")

    serial_number: SerialNumber | None = None
    model: Name | None = None
    vendor: Text | None = None
    tid: TID | None = None
    mid: MID | None = None
    merchant_id: int | None = None
    firmware_version: Text | None = None
    app_version: Text | None = None
    network_type: NetworkType | None = None
    carrier: Text | None = None
    region: Text | None = None
    purchase_date: date | None = None
    warranty_end: date | None = None


class TerminalOut(BaseModel):
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
    created_at: datetime
    updated_at: datetime


class TerminalFilters(BaseModel):
    """What a terminal list may be narrowed by."""

    merchant_id: int | None = None
    status: TerminalStatus | None = None
    model: str | None = None
    region: str | None = None
    q: str | None = Field(None, description="text search on serial number or TID")


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    total: int
    page: int
    per_page: int
