"""Tables of repairs: tickets, technicians' work, maintenance records, loaners and their reservations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from posops.core.db import Base, JSONType, UTCDateTime, utcnow
from posops.tickets.lifecycle import Channel, TicketStatus
from posops.tickets.sla import Priority


class Ticket(Base):
    """A repair of one terminal, from the report (or an escalated diagnosis) to the merchant's acceptance."""

    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_status_resolve_by", "status", "resolve_by"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"), index=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    diagnosis_id: Mapped[str | None] = mapped_column(String(32), default=None, unique=True)
    """The escalated diagnosis session the ticket was opened from (one ticket per session)."""
    status: Mapped[str] = mapped_column(String(16), default=TicketStatus.NEW, index=True)
    waiting_for: Mapped[str | None] = mapped_column(String(16), default=None)
    priority: Mapped[str] = mapped_column(String(8), default=Priority.NORMAL)
    channel: Mapped[str] = mapped_column(String(16), default=Channel.ONSITE)
    symptom: Mapped[str | None] = mapped_column(String(32), default=None)
    suspected_cause: Mapped[str | None] = mapped_column(String(64), default=None)
    description: Mapped[str] = mapped_column(Text, default="")
    prefill: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    """What the diagnosis knew: ranked causes, steps tried, the terminal's evidence."""
    materials: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    """What the articles ask a merchant for, taken from the record: model, serial number, recent traffic."""
    in_warranty: Mapped[bool | None] = mapped_column(Boolean, default=None)
    """Decided from the terminal's warranty_end on the day the ticket was opened (None: unknown)."""
    region: Mapped[str] = mapped_column(String(64), default="", index=True)
    opened_by: Mapped[str] = mapped_column(String(64))
    opened_by_role: Mapped[str] = mapped_column(String(16))
    assignee_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None, index=True)
    assignee: Mapped[str | None] = mapped_column(String(64), default=None)
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    sla_started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sla_paused_minutes: Mapped[int] = mapped_column(Integer, default=0)
    """Business minutes spent waiting so far; kept when the priority (and so the SLA) changes."""
    sla_paused_since: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    respond_by: Mapped[datetime] = mapped_column(UTCDateTime)
    resolve_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """None while the clock is paused: the deadline moves with the pause."""
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    repaired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    respond_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    resolve_breached: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    acceptance_proof: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    """The sign-in or transaction after the repair that shows the terminal works again."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class WorkEntry(Base):
    """What a technician did on a ticket: time spent, parts used, the cause found, the outcome."""

    __tablename__ = "ticket_work"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    technician: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    minutes: Mapped[int] = mapped_column(Integer, default=0)
    confirmed_cause: Mapped[str | None] = mapped_column(String(64), default=None)
    """The cause the technician found; differs from the ticket's suspected cause when the diagnosis was wrong."""
    parts: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    """Each: name, quantity, unit_cost_fen."""
    outcome: Mapped[str | None] = mapped_column(String(16), default=None)
    note: Mapped[str] = mapped_column(Text, default="")


class MaintenanceRecord(Base):
    """One finished repair of a terminal (维修记录): who, when, what, parts, cost and the outcome."""

    __tablename__ = "maintenance_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), default=None, unique=True)
    technician: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    corrective: Mapped[bool] = mapped_column(Boolean, default=True)
    cause: Mapped[str | None] = mapped_column(String(64), default=None)
    work: Mapped[str] = mapped_column(Text, default="")
    parts: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    minutes: Mapped[int] = mapped_column(Integer, default=0)
    cost_fen: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str] = mapped_column(String(16))


class TechnicianProfile(Base):
    """Where a technician works: assignment picks one covering the terminal's region, with the fewest open tickets."""

    __tablename__ = "technician_profiles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, autoincrement=False)
    regions: Mapped[list[str]] = mapped_column(JSONType, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Loaner(Base):
    """A spare terminal (备用机) of the provider's pool, lent to a merchant while its own is repaired."""

    __tablename__ = "loaners"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"), unique=True)
    pool_merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    """The provider's own account that holds the device between loans."""
    home_mid: Mapped[str] = mapped_column(String(15))
    """The device's MID under the pool account, restored when it comes back."""
    region: Mapped[str] = mapped_column(String(64), default="", index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoanerReservation(Base):
    """A loaner held for one ticket from ``begins_on`` to ``ends_on``; reservations of a loaner never overlap."""

    __tablename__ = "loaner_reservations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    loaner_id: Mapped[int] = mapped_column(ForeignKey("loaners.id"), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    begins_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="reserved", index=True)
    reserved_by: Mapped[str] = mapped_column(String(64))
    handed_over_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
