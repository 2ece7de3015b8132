"""Pydantic shapes telemetry returns to callers: ingestion results, terminal state, incidents, dead letters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from posops.telemetry.analytics import IncidentStatus


class Rejected(BaseModel):
    """One message that was dead-lettered, by its position in the request."""

    index: int
    sn: str | None = None
    reason: str


class IngestResult(BaseModel):
    """What became of a batch of heartbeats."""

    received: int
    stored: int = Field(description="new heartbeats written")
    duplicates: int = Field(description="heartbeats already stored under the same (sn, seq): changed nothing")
    rejected: list[Rejected] = Field(default_factory=list, description="dead-lettered, with the reason")


class TerminalTokenOut(BaseModel):
    """A terminal's bearer token, shown once when issued."""

    terminal_id: int
    serial_number: str
    token: str
    prefix: str


class IncidentRef(BaseModel):
    """An incident in a list: its group and how bad it is."""

    id: int
    dimension: str = Field(description="area (region, carrier), cohort (model, app version) or campaign "
                                        "(campaign id, version: an upgrade campaign its health gate halted)")
    group_first: str
    group_second: str
    campaign_id: int | None = Field(None, description="dimension campaign: the halted upgrade campaign "
                                                      "(/api/v1/upgrades/campaigns/{id})")
    status: IncidentStatus
    opened_at: datetime
    closed_at: datetime | None
    baseline: float
    terminals: int
    failing: int
    share: float
    peak_share: float
    affected: int = Field(description="terminals seen failing while it was open (a merchant: its own)")


class Sample(BaseModel):
    """The incident group's counts at one scan."""

    at: datetime
    terminals: int
    failing: int
    share: float


class AffectedTerminal(BaseModel):
    """A terminal seen failing during an incident."""

    terminal_id: int
    serial_number: str
    merchant_id: int
    merchant_name: str
    region: str
    carrier: str
    model: str
    since: datetime


class IncidentDetail(IncidentRef):
    """An incident with its timeline and the terminals it affected."""

    samples: list[Sample]
    affected_terminals: list[AffectedTerminal]


class TerminalTelemetry(BaseModel):
    """A terminal's latest heartbeat, whether it is online, and what the diagnosis engine reads from it."""

    terminal_id: int
    serial_number: str
    online: bool | None = Field(description="None when the terminal never reported")
    last_seen_at: datetime | None = None
    seq: int | None = None
    ts: datetime | None = None
    failing: bool = False
    failure_reasons: list[str] = Field(default_factory=list)
    heartbeat: dict[str, Any] | None = None
    evidence: dict[str, str] = Field(default_factory=dict)
    incidents: list[IncidentRef] = Field(default_factory=list, description="open incidents of its groups")


class Point(BaseModel):
    """One point of a time series."""

    at: datetime
    value: float


class TerminalHistory(BaseModel):
    """Series for a terminal's charts over the last hours."""

    terminal_id: int
    since: datetime
    until: datetime
    battery_pct: list[Point]
    signal_dbm: list[Point]
    read_error_rate: list[Point] = Field(description="failed reads / reads, per interval")


class DeadLetterOut(BaseModel):
    """A message that was not stored, and why."""

    id: int
    received_at: datetime
    source: str
    topic: str | None
    sn: str | None
    reason: str
    payload: str


class DeadLetters(BaseModel):
    """Dead letters: the total, counts by reason, and the newest ones."""

    total: int
    by_reason: dict[str, int]
    items: list[DeadLetterOut]


class ScanOut(BaseModel):
    """What one outage scan did."""

    at: datetime
    groups: int
    opened: list[IncidentRef]
    closed: list[IncidentRef]
    open: int
