"""Tables of software upgrades: packages, compatibility, acquirer minimums, campaigns, their targets and reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from posops.core.db import Base, JSONType, UTCDateTime, utcnow
from posops.upgrades.steps import TargetState


class Package(Base):
    """One app or firmware version for one model: the file, its SHA-256 and size, release notes."""

    __tablename__ = "upgrade_packages"
    __table_args__ = (UniqueConstraint("kind", "model", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    """app or firmware."""
    model: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str] = mapped_column(String(64))
    """Published by the vendor; the uploaded file had to hash to it."""
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("stored_documents.id"), default=None)
    """The uploaded file; None for a package registered by checksum whose file lives on a vendor's store."""
    notes_zh: Mapped[str] = mapped_column(Text, default="")
    notes_en: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Compatibility(Base):
    """One cell of the compatibility matrix: does this app version run on this model with this firmware."""

    __tablename__ = "upgrade_compatibility"

    model: Mapped[str] = mapped_column(String(64), primary_key=True)
    firmware: Mapped[str] = mapped_column(String(32), primary_key=True)
    app: Mapped[str] = mapped_column(String(32), primary_key=True)
    compatible: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(255), default="")


class MinimumVersion(Base):
    """The lowest app or firmware version the acquirer accepts on a model (older ones must be upgraded)."""

    __tablename__ = "upgrade_minimums"

    model: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    version: Mapped[str] = mapped_column(String(32))
    acquirer: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Campaign(Base):
    """A staged rollout of one package to the terminals a filter selects, wave by wave, behind the health gate."""

    __tablename__ = "upgrade_campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    package_id: Mapped[int] = mapped_column(ForeignKey("upgrade_packages.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    filters: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    """What selected the targets: model, region, merchant_id, current_version, tags."""
    waves: Mapped[list[dict[str, int]]] = mapped_column(JSONType, default=list)
    """Each: percent (cumulative share of the targets) and soak_minutes."""
    window_start: Mapped[str | None] = mapped_column(String(5), default=None)
    window_end: Mapped[str | None] = mapped_column(String(5), default=None)
    """The maintenance window, HH:MM in each merchant's own time zone; None: any hour the shop is closed."""
    wifi_only: Mapped[bool] = mapped_column(Boolean, default=False)
    force: Mapped[bool] = mapped_column(Boolean, default=False)
    """Force installs without asking the cashier; soft lets the cashier postpone."""
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    current_wave: Mapped[int] = mapped_column(SmallInteger, default=0)
    wave_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    rollback_of: Mapped[int | None] = mapped_column(ForeignKey("upgrade_campaigns.id"), default=None)
    """The halted campaign this one rolls back (its targets are that campaign's installed terminals)."""
    halted_on: Mapped[str | None] = mapped_column(String(32), default=None)
    """The gate signal that halted the campaign (or ``manual``)."""
    halt_detail: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("telemetry_incidents.id"), default=None)
    created_by: Mapped[str] = mapped_column(String(64))
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    approved_by: Mapped[str | None] = mapped_column(String(64), default=None)
    approved_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Target(Base):
    """One terminal of a campaign: its wave, the version it ran before, where its install stands."""

    __tablename__ = "upgrade_targets"
    __table_args__ = (Index("ix_upgrade_targets_campaign_wave_state", "campaign_id", "wave", "state"),)

    campaign_id: Mapped[int] = mapped_column(ForeignKey("upgrade_campaigns.id"), primary_key=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"), primary_key=True, index=True)
    wave: Mapped[int] = mapped_column(SmallInteger)
    model: Mapped[str] = mapped_column(String(64))
    from_version: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), default=TargetState.PENDING)
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    last_code: Mapped[str | None] = mapped_column(String(32), default=None)
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    installed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Report(Base):
    """A step a terminal reported; ``(terminal_id, report_id)`` is unique, so a resent report adds nothing."""

    __tablename__ = "upgrade_reports"
    __table_args__ = (UniqueConstraint("terminal_id", "report_id"),
                      Index("ix_upgrade_reports_campaign_terminal", "campaign_id", "terminal_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("upgrade_campaigns.id"))
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    report_id: Mapped[str] = mapped_column(String(64))
    """The terminal's own id of the report (a UUID in practice)."""
    step: Mapped[str] = mapped_column(String(16))
    code: Mapped[str | None] = mapped_column(String(32), default=None)
    detail: Mapped[str] = mapped_column(String(255), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    """The terminal's clock."""
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WaveCheck(Base):
    """One judgement of the gate on a wave: counts, each signal treated against control, the verdict."""

    __tablename__ = "upgrade_wave_checks"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("upgrade_campaigns.id"), primary_key=True)
    wave: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    targeted: Mapped[int] = mapped_column(Integer)
    installed: Mapped[int] = mapped_column(Integer)
    failed: Mapped[int] = mapped_column(Integer)
    verdict: Mapped[str] = mapped_column(String(8))
    signals: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    """Each: signal, treated_rate, control_rate, p_value, regressed."""
