"""Pydantic shapes of the fleet pages and API: list filters and sort orders, terminals with presence, search hits."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from posops.core.inputs import one_line
from posops.fleet.presence import Presence
from posops.terminals.lifecycle import SuspensionReason, TerminalStatus
from posops.terminals.schemas import FeePlanOut, MerchantOut, ScreenNoticeOut

T = TypeVar("T")
MAX_QUERY = 64
"""The longest search text or filter value a list accepts."""
Needle = Annotated[str, one_line(MAX_QUERY, min_length=1)]
"""A search text or a text filter: trimmed, not empty, at most MAX_QUERY characters."""


class TerminalSort(StrEnum):
    """How the terminal list is ordered: a column, ascending, or descending with a leading ``-``."""

    SERIAL_NUMBER = "serial_number"
    SERIAL_NUMBER_DESC = "-serial_number"
    TID = "tid"
    TID_DESC = "-tid"
    MERCHANT = "merchant"
    MERCHANT_DESC = "-merchant"
    STATUS = "status"
    STATUS_DESC = "-status"
    LAST_SEEN = "last_seen"
    """Longest silent first; a terminal that never reported counts as the longest silent."""
    LAST_SEEN_DESC = "-last_seen"

    @property
    def column(self) -> str:
        """The column sorted on (``last_seen`` for both ``last_seen`` and ``-last_seen``)."""
        return self.value.removeprefix("-")

    @property
    def descending(self) -> bool:
        """True for the descending orders."""
        return self.value.startswith("-")

    @classmethod
    def of(cls, column: str, descending: bool = False) -> TerminalSort:
        """The order on ``column``, ascending or descending."""
        return cls(("-" if descending else "") + column)


SORT_COLUMNS = tuple(dict.fromkeys(s.column for s in TerminalSort))
"""The columns the terminal list can be sorted on, in the order of its table."""


class FleetFilters(BaseModel):
    """What the fleet's terminal list may be narrowed by, and its order (the console page, its CSV and the API)."""

    model_config = ConfigDict(extra="forbid")

    q: Needle | None = Field(None, description="substring of the serial number, TID, MID or merchant name")
    status: TerminalStatus | None = None
    model: Needle | None = Field(None, description="the device model, exactly")
    region: Needle | None = Field(None, description="substring of the terminal's region")
    reason: SuspensionReason | None = Field(None, description="the suspension reason")
    presence: Presence | None = Field(None, description="online, offline (reported, not lately) or never reported")
    merchant_id: int | None = Field(None, gt=0, le=2**31 - 1)
    sort: TerminalSort | None = Field(None, description="serial_number, tid, merchant, status or last_seen; "
                                                        "a leading - sorts descending")


class TerminalIdentity(BaseModel):
    """Who a terminal is, whose it is and its lifecycle state: what every fleet row and search hit shows."""

    id: int
    serial_number: str
    tid: str
    mid: str
    model: str
    merchant_id: int
    merchant_name: str
    status: TerminalStatus
    status_reason: SuspensionReason | None


class FleetTerminalOut(TerminalIdentity):
    """A terminal of the fleet list: who it is, whose, its lifecycle state and whether it is heard from."""

    region: str
    app_version: str
    presence: Presence
    last_seen_at: datetime | None = Field(description="receipt of its latest heartbeat; None when it never reported")


class MerchantFilters(BaseModel):
    """What the merchant list may be narrowed by."""

    model_config = ConfigDict(extra="forbid")

    name: Needle | None = Field(None, description="substring of the merchant's name")
    region: Needle | None = Field(None, description="substring of the merchant's region")
    phone: Needle | None = Field(None, description="digits of the contact phone (spaces, dashes and + ignored)")


class MerchantRow(BaseModel):
    """A merchant of the merchant list, with how many terminals it has and how many are suspended."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    legal_id: str
    contact_name: str
    contact_phone: str
    region: str
    terminals: int
    suspended: int


class SearchKey(StrEnum):
    """What a search text matched."""

    SERIAL_NUMBER = "serial_number"
    TID = "tid"
    MID = "mid"
    NAME = "name"
    PHONE = "phone"


class SearchText(BaseModel):
    """What to look for: a serial number, TID, MID, merchant name or phone, or a part of one."""

    q: Needle


class TerminalHit(TerminalIdentity):
    """A terminal found by search, and which of its identifiers matched."""

    matched: list[SearchKey]


class MerchantHit(BaseModel):
    """A merchant found by search, and whether its name or its phone matched."""

    id: int
    name: str
    region: str
    contact_name: str
    contact_phone: str
    terminals: int
    matched: list[SearchKey]


class Hits(BaseModel, Generic[T]):
    """One group of search results: the first hits and how many there are in all."""

    items: list[T]
    total: int


class SearchOut(BaseModel):
    """What a search text found, grouped: terminals by serial number, TID or MID; merchants by name or phone."""

    q: str
    terminals: Hits[TerminalHit]
    merchants: Hits[MerchantHit]
    exact_terminal_id: int | None = Field(
        None, description="the one terminal whose serial number or TID is the search text itself, if exactly one is")


class RequestLine(BaseModel):
    """A reactivation request on the merchant page."""

    id: int
    terminal_id: int
    terminal_tid: str
    reason: SuspensionReason
    status: str
    updated_at: datetime


class ApplicationLine(BaseModel):
    """An onboarding application on the merchant page."""

    id: int
    status: str
    terminal_model: str
    terminal_count: int
    updated_at: datetime


class ScreenLine(BaseModel):
    """A terminal of the merchant whose screen shows a notice, and the notice."""

    terminal_id: int
    serial_number: str
    tid: str
    notice: ScreenNoticeOut


class DiagnosisLine(BaseModel):
    """A diagnosis of the merchant's terminals on the merchant page."""

    id: str
    status: str
    symptom: str
    text: str
    terminal_id: int | None
    serial_number: str | None
    created_at: datetime


class TicketLine(BaseModel):
    """A repair ticket on the merchant page."""

    id: int
    terminal_id: int
    serial_number: str
    tid: str
    status: str
    priority: str
    created_at: datetime


class Section(BaseModel, Generic[T]):
    """One short list of the merchant page: the newest rows and how many there are in all."""

    items: list[T]
    total: int


class MerchantOverview(BaseModel):
    """Everything about one merchant on one page; a section the caller may not read is None."""

    merchant: MerchantOut
    fee_plan: FeePlanOut | None
    terminals: Section[FleetTerminalOut]
    status_counts: dict[TerminalStatus, int]
    presence_counts: dict[Presence, int]
    requests: Section[RequestLine] | None
    applications: Section[ApplicationLine] | None
    screen_notices: Section[ScreenLine]
    diagnoses: Section[DiagnosisLine]
    tickets: Section[TicketLine]
