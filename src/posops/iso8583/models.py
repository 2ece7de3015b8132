"""Tables of imported traffic analyses and of what each one showed about a known terminal.

The raw log or capture is never stored (it may hold full PANs): only the analysis — figures,
response codes, storms and the diagnosis evidence they imply — which holds no card data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from posops.core.db import Base, JSONType, UTCDateTime, utcnow


class TrafficAnalysis(Base):
    """One imported frame log or capture: where it came from, who imported it, the fleet-wide figures."""

    __tablename__ = "traffic_analyses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_name: Mapped[str] = mapped_column(String(255))
    """The file's name as given (digit runs that could be a card number masked)."""
    analysed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    analysed_by: Mapped[str] = mapped_column(String(64))
    analysed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    frames: Mapped[int] = mapped_column(Integer)
    malformed: Mapped[int] = mapped_column(Integer)
    traffic_started: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    traffic_ended: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    matched_terminals: Mapped[int] = mapped_column(Integer)
    unknown_tids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    summary: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    """Fleet-wide part of the report: totals, malformed-line samples, fleet storms, settings."""


class TerminalTrafficRecord(Base):
    """What one analysis showed about one registered terminal: its traffic summary and evidence."""

    __tablename__ = "terminal_traffic"
    __table_args__ = (Index("ix_terminal_traffic_latest", "terminal_id", "last_seen", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    analysis_id: Mapped[int] = mapped_column(ForeignKey("traffic_analyses.id"), index=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    tid: Mapped[str] = mapped_column(String(8))
    analysed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    """Time of the terminal's last frame, at most the import time (a terminal clock running ahead cannot make
    its traffic look newest for ever). The newest traffic is the terminal's latest, not the newest import."""
    last_outcome_code: Mapped[str | None] = mapped_column(String(16), default=None)
    last_approved_transaction_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    summary: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    """``TerminalTraffic.to_dict()``: counts, failures by code, sign-ins, storms (masked: no card data)."""
    evidence: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    """Diagnosis check id → outcome (``response_code``, ``key_check``, ``host_status``)."""
