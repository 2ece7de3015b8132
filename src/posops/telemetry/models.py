"""Tables of fleet telemetry: heartbeat history, latest snapshots, dead letters, incidents, baselines."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from posops.core.db import Base, UTCDateTime, utcnow
from posops.telemetry.analytics import IncidentStatus


class HeartbeatRecord(Base):
    """One heartbeat as received, kept for the retention period (POSOPS_TELEMETRY_RETENTION_DAYS).

    ``(sn, seq)`` is the key, so a redelivered heartbeat is not stored twice. A few values are
    copied out of the payload for the terminal page's charts.
    """

    __tablename__ = "terminal_heartbeats"
    __table_args__ = (Index("ix_terminal_heartbeats_terminal_received", "terminal_id", "received_at"),)

    sn: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    """The terminal's sequence number (epoch milliseconds in practice): needs 64 bits."""
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    """The terminal's own clock."""
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    """When posops stored it: charts and pruning go by this clock, not the terminal's."""
    battery_pct: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    signal_dbm: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    reads: Mapped[int | None] = mapped_column(BigInteger, default=None)
    read_errors: Mapped[int | None] = mapped_column(BigInteger, default=None)
    """Swipe, chip and contactless errors together (counters since the terminal started counting)."""
    failing: Mapped[bool] = mapped_column(Boolean, default=False)
    payload: Mapped[str] = mapped_column(Text)
    """The heartbeat as JSON, unknown fields included."""


class TelemetrySnapshot(Base):
    """A terminal's latest heartbeat (highest seq) and when posops last heard from it."""

    __tablename__ = "telemetry_snapshots"

    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"), primary_key=True, autoincrement=False)
    sn: Mapped[str] = mapped_column(String(32))
    seq: Mapped[int] = mapped_column(BigInteger)
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """Receipt time of the latest heartbeat: online/offline is decided from it."""
    app_version: Mapped[str | None] = mapped_column(String(64), default=None)
    """The app version the terminal reports running (the registry's may lag behind an update)."""
    failing: Mapped[bool] = mapped_column(Boolean, default=False)
    failure_reasons: Mapped[str] = mapped_column(String(255), default="")
    """Comma-separated reasons from ``analytics.failure_reasons``."""
    payload: Mapped[str] = mapped_column(Text)


class DeadLetter(Base):
    """A message that could not be stored as a heartbeat, and why; the same message is kept once."""

    __tablename__ = "telemetry_dead_letters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    """SHA-256 of source, topic and payload: a redelivery of the same message adds nothing."""
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    source: Mapped[str] = mapped_column(String(8))
    """mqtt or http."""
    topic: Mapped[str | None] = mapped_column(String(255), default=None)
    sn: Mapped[str | None] = mapped_column(String(64), default=None)
    reason: Mapped[str] = mapped_column(String(500))
    payload: Mapped[str] = mapped_column(Text)
    """The first characters of the payload, undecodable bytes escaped."""


class TerminalToken(Base):
    """A bearer token a terminal posts its own heartbeats with; only its SHA-256 hash is stored."""

    __tablename__ = "telemetry_terminal_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class Incident(Base):
    """Many terminals of one group failing at once: a carrier outage in a region, or a bad release."""

    __tablename__ = "telemetry_incidents"
    __table_args__ = (
        Index("uq_telemetry_incidents_open_group", "dimension", "group_first", "group_second", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dimension: Mapped[str] = mapped_column(String(8))
    """area (region, carrier) or cohort (model, app version)."""
    group_first: Mapped[str] = mapped_column(String(64))
    group_second: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(8), default=IncidentStatus.OPEN, index=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    calm_since: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    baseline: Mapped[float] = mapped_column(Float)
    """The group's usual failing share when the incident opened."""
    terminals: Mapped[int] = mapped_column(Integer)
    failing: Mapped[int] = mapped_column(Integer)
    peak_share: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IncidentTerminal(Base):
    """A terminal seen failing while an incident was open: its merchant is told it is not their device."""

    __tablename__ = "telemetry_incident_terminals"

    incident_id: Mapped[int] = mapped_column(ForeignKey("telemetry_incidents.id"), primary_key=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"), primary_key=True, index=True)
    since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IncidentSample(Base):
    """The group's counts at one scan while the incident was open: the points of its timeline."""

    __tablename__ = "telemetry_incident_samples"

    incident_id: Mapped[int] = mapped_column(ForeignKey("telemetry_incidents.id"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    terminals: Mapped[int] = mapped_column(Integer)
    failing: Mapped[int] = mapped_column(Integer)


class GroupBaseline(Base):
    """A group's usual failing share, moved by every scan while no incident is open."""

    __tablename__ = "telemetry_baselines"

    dimension: Mapped[str] = mapped_column(String(8), primary_key=True)
    group_first: Mapped[str] = mapped_column(String(64), primary_key=True)
    group_second: Mapped[str] = mapped_column(String(64), primary_key=True)
    share: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
