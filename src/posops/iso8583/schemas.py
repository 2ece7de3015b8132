"""Pydantic shapes of the ISO 8583 API: frame decoding, traffic imports, a terminal's latest traffic."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from posops.core.inputs import MULTI_LINE, ONE_LINE
from posops.core.schemas import InputModel

MAX_FRAME_HEX = 2 * (2 + 0xFFFF) + 4096
"""The longest frame (2-byte length prefix + 65,535 bytes) as hex, with room for spaces and line breaks."""


class DecodeIn(InputModel):
    """One whole frame as hex, length prefix included; optionally the terminal master key to check sign-in keys."""

    hex: str = Field(min_length=1, max_length=MAX_FRAME_HEX, pattern=MULTI_LINE,
                     description="the frame as hex, 2-byte length prefix included; spaces allowed")
    master_key: str | None = Field(None, max_length=64, pattern=ONE_LINE,
                                   description="terminal master key (8, 16 or 24 bytes of hex): verifies the "
                                               "check values of a sign-in answer's working keys")


class DecodedFrame(BaseModel):
    """A decoded frame, masked: PAN as first six and last four, track data, PIN block and keys withheld."""

    tpdu: str
    header: str
    mti: str
    name: dict[str, str]
    fields: dict[str, str]
    field_names: dict[str, str]
    withheld: list[str]
    field_60: dict[str, str]
    response: dict[str, Any] | None
    working_keys: list[dict[str, Any]] | None
    key_verification: dict[str, Any] | None
    evidence: dict[str, str]
    causes: list[str]


class TerminalTrafficOut(BaseModel):
    """What one analysis showed about one terminal, and the diagnosis evidence it implies."""

    terminal_id: int
    tid: str
    serial_number: str | None = None
    analysis_id: int
    source_name: str
    analysed_at: datetime
    analysed_by: str
    first_seen: datetime
    last_seen: datetime
    last_approved_transaction_at: datetime | None
    evidence: dict[str, str]
    traffic: dict[str, Any] = Field(description="counts, failures by code, timeouts, reversals, sign-ins, storms")


class MatchedTerminal(BaseModel):
    """A registered terminal found in an import, and its ``last_transaction_at`` after it."""

    terminal_id: int
    tid: str
    serial_number: str
    last_transaction_at: datetime | None


class TrafficImportOut(BaseModel):
    """The result of importing a log or capture: fleet figures, terminals matched and TIDs not registered."""

    id: int
    source_name: str
    analysed_at: datetime
    analysed_by: str
    frames: int
    malformed: int
    errors: list[str]
    unmatched_answers: int
    started: datetime | None
    ended: datetime | None
    approved: int
    failures: dict[str, int]
    fleet_storms: list[dict[str, Any]]
    matched: list[MatchedTerminal]
    unknown_tids: list[str] = Field(description="terminal ids seen in the traffic that posops does not know; "
                                                "nothing is stored for them")
    terminals: list[TerminalTrafficOut]
