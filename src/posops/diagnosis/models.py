"""Tables of diagnosis sessions, their steps, and knowledge learned from resolved sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from posops.core.db import Base, JSONType, UTCDateTime, utcnow
from posops.diagnosis.vocabulary import SessionStatus


class DiagnosisSession(Base):
    """One troubleshooting conversation about a fault, from the complaint to the fix or hand-over."""

    __tablename__ = "diagnosis_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    terminal_id: Mapped[int | None] = mapped_column(ForeignKey("terminals.id"), index=True, default=None)
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"), index=True, default=None)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_by: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text, default="")
    symptom: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=SessionStatus.OPEN, index=True)
    initial_evidence: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    fleet_evidence: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    state: Mapped[dict[str, Any]] = mapped_column(JSONType)
    resolved_action: Mapped[str | None] = mapped_column(String(64), default=None)
    resolved_cause: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    merchant_led: Mapped[bool] = mapped_column(Boolean, default=False)
    """Started by the merchant's own staff: steps only the desk can take wait in the desk's queue."""
    waiting_for_desk: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    """The next step is the desk's (a merchant-led session), so the session sits in the desk's queue."""
    handover_reason: Mapped[str | None] = mapped_column(String(16), default=None)
    """Why an escalated session went to the desk (:class:`HandoverReason`)."""

    steps: Mapped[list[DiagnosisStep]] = relationship(order_by="DiagnosisStep.seq", back_populates="session")


class DiagnosisStep(Base):
    """One answered step of a session: a check's outcome or a repair action's result."""

    __tablename__ = "diagnosis_steps"
    __table_args__ = (UniqueConstraint("session_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("diagnosis_sessions.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(8))
    step: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(32))
    answered_by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    session: Mapped[DiagnosisSession] = relationship(back_populates="steps")


class KnowledgeOverlay(Base):
    """Priors and likelihoods refitted from resolved sessions; the newest one is in force."""

    __tablename__ = "knowledge_overlays"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))
    cases: Mapped[int] = mapped_column(Integer)
    overlay: Mapped[dict[str, Any]] = mapped_column(JSONType)
    report: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
