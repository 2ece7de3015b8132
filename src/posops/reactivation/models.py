"""Tables of reactivation (复机): the requests and the evidence recorded on them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from posops.core.db import Base, JSONType, UTCDateTime, utcnow
from posops.reactivation.conditions import RequestStatus


class ReactivationRequest(Base):
    """A request to reactivate (复机) a suspended terminal, with every fact recorded towards its conditions."""

    __tablename__ = "reactivation_requests"
    __table_args__ = (
        Index("uq_reactivation_requests_open", "terminal_id", unique=True,
              sqlite_where=text("status = 'submitted'"), postgresql_where=text("status = 'submitted'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"), index=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    suspension_id: Mapped[int | None] = mapped_column(ForeignKey("suspensions.id"), default=None)
    reason: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=RequestStatus.SUBMITTED, index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    unpaid_due_dates: Mapped[list[str] | None] = mapped_column(JSONType, default=None)
    payments: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    """Each: amount_fen, voucher, paid_on (ISO date), recorded_by, recorded_by_user_id (newer rows), recorded_at."""
    documents_requested: Mapped[list[str]] = mapped_column(JSONType, default=list)
    repair_ticket_id: Mapped[str | None] = mapped_column(String(32), default=None)
    repair_accepted_by_merchant: Mapped[bool] = mapped_column(Boolean, default=False)
    repair_confirmed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    """No longer written: a device fault is lifted by an accepted repair ticket (kept for old requests)."""
    required_version: Mapped[str | None] = mapped_column(String(32), default=None)
    identity_reconfirmed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    resolved_confirmed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    rejection_reason: Mapped[str | None] = mapped_column(Text, default=None)
    decided_by: Mapped[str | None] = mapped_column(String(64), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    submissions: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
