"""Tables of merchants, their POS terminals, fee plans, suspensions and notices to merchants."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from posops.core.db import Base, JSONType, UTCDateTime, utcnow
from posops.terminals.lifecycle import TerminalStatus
from posops.terminals.schemas import NetworkType

LIVE = "status != 'decommissioned'"


class Merchant(Base):
    """A shop or business that takes card payments on the provider's terminals."""

    __tablename__ = "merchants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    legal_id: Mapped[str] = mapped_column(String(32), unique=True)
    contact_name: Mapped[str] = mapped_column(String(64), default="")
    contact_phone: Mapped[str] = mapped_column(String(32), default="")
    region: Mapped[str] = mapped_column(String(64), default="", index=True)
    time_zone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai", server_default="Asia/Shanghai")
    """The shop's IANA time zone: maintenance windows and opening hours are its local time."""
    opens_at: Mapped[str] = mapped_column(String(5), default="08:00", server_default="08:00")
    closes_at: Mapped[str] = mapped_column(String(5), default="22:00", server_default="22:00")
    """Opening hours, HH:MM local; no upgrade installs while the shop is open."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    terminals: Mapped[list[Terminal]] = relationship(back_populates="merchant")


class Terminal(Base):
    """One POS terminal: its identity at the acquirer host, hardware, software and status."""

    __tablename__ = "terminals"
    __table_args__ = (
        Index("uq_terminals_tid_live", "tid", unique=True, sqlite_where=text(LIVE), postgresql_where=text(LIVE)),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    serial_number: Mapped[str] = mapped_column(String(32), unique=True)
    model: Mapped[str] = mapped_column(String(64), index=True)
    vendor: Mapped[str] = mapped_column(String(64), default="")
    tid: Mapped[str] = mapped_column(String(8), index=True)
    """Unique among terminals in service: a replacement device (换机) takes over a decommissioned one's TID."""
    mid: Mapped[str] = mapped_column(String(15), index=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    firmware_version: Mapped[str] = mapped_column(String(32), default="")
    app_version: Mapped[str] = mapped_column(String(32), default="")
    network_type: Mapped[str] = mapped_column(String(16), default=NetworkType.CELLULAR_4G)
    carrier: Mapped[str] = mapped_column(String(32), default="")
    region: Mapped[str] = mapped_column(String(64), default="", index=True)
    purchase_date: Mapped[date | None] = mapped_column(Date, default=None)
    warranty_end: Mapped[date | None] = mapped_column(Date, default=None)
    status: Mapped[str] = mapped_column(String(16), default=TerminalStatus.ACTIVE, index=True)
    status_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_transaction_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None, index=True)
    """Set by ISO 8583 log imports and telemetry; the dormancy scan reads it."""
    must_sign_in: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Reactivated and not signed in (签到) since: it must sign in before it transacts."""
    application_id: Mapped[int | None] = mapped_column(ForeignKey("onboarding_applications.id"), default=None)
    """The onboarding application that brought this terminal into service, if any."""
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list, server_default=text("'[]'"))
    """Free labels the provider groups terminals by (``pilot``, ``chain-a``): upgrade campaigns target them."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    merchant: Mapped[Merchant] = relationship(back_populates="terminals")


class FeePlan(Base):
    """A merchant's contracted fees, from which arrears and late-payment penalties are computed."""

    __tablename__ = "fee_plans"

    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), primary_key=True)
    monthly_fee_fen: Mapped[int] = mapped_column(Integer)
    monthly_data_fee_fen: Mapped[int] = mapped_column(Integer, default=0)
    daily_penalty_bp: Mapped[int] = mapped_column(Integer)
    grace_days: Mapped[int] = mapped_column(Integer)
    penalty_cap_fen: Mapped[int | None] = mapped_column(Integer, default=None)
    contract_ref: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Suspension(Base):
    """One period a terminal spent suspended for one reason, with what the suspender asked for."""

    __tablename__ = "suspensions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"), index=True)
    reason: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    unpaid_due_dates: Mapped[list[str] | None] = mapped_column(JSONType, default=None)
    """arrears: due dates (ISO) of the unpaid monthly bills."""
    documents_requested: Mapped[list[str]] = mapped_column(JSONType, default=list)
    required_version: Mapped[str | None] = mapped_column(String(32), default=None)
    suspended_by: Mapped[str] = mapped_column(String(64))
    suspended_by_role: Mapped[str] = mapped_column(String(16))
    suspended_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    ended_by: Mapped[str | None] = mapped_column(String(64), default=None)
    end_action: Mapped[str | None] = mapped_column(String(16), default=None)
    """reactivate, change_reason or decommission."""


class MerchantNotice(Base):
    """A message to a merchant about one of its terminals (suspended, reactivated, request rejected)."""

    __tablename__ = "merchant_notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    terminal_id: Mapped[int | None] = mapped_column(ForeignKey("terminals.id"), default=None, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    title_zh: Mapped[str] = mapped_column(String(128))
    body_zh: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(String(128))
    body_en: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
