"""Tables of the platform itself: users, API tokens, login attempts, the audit log, stored documents, job runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, event, text
from sqlalchemy.orm import Mapped, mapped_column

from posops.core.db import Base, JSONType, UTCDateTime, utcnow


class User(Base):
    """A person who signs in: merchant staff, support agent, risk analyst, technician or admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"), default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    """Stored in each console session at login; bumped on a password change, disable or re-enable to end them all."""
    login_cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    """When an admin last unlocked the user: failed logins before it no longer count."""


class ApiToken(Base):
    """A bearer token for automation; only its SHA-256 hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(64), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    """Refused from this instant on; None (tokens issued before expiry existed) never expires."""


class EndedSession(Base):
    """A console session its user signed out of: its signed cookie is refused from then on, wherever it was copied."""

    __tablename__ = "ended_sessions"

    sid: Mapped[str] = mapped_column(String(32), primary_key=True)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class LoginAttempt(Base):
    """One console login attempt, kept to throttle guessing across server processes (see ``core.throttle``)."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_username_at", "username", "at"),
                      Index("ix_login_attempts_address_at", "address", "at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditEvent(Base):
    """An append-only record of one state change: who, when, what, before and after, why."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_entity", "entity_type", "entity_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    actor: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(16))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _audit_is_append_only(_mapper: Any, _connection: Any, target: AuditEvent) -> None:
    raise PermissionError(f"audit event {target.id} cannot be changed or deleted")


class StoredDocument(Base):
    """An uploaded file (scan or photo) kept on disk under the var folder; never deleted or replaced."""

    __tablename__ = "stored_documents"
    __table_args__ = (Index("ix_stored_documents_owner", "owner_type", "owner_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_type: Mapped[str] = mapped_column(String(32))
    owner_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(128))
    """A material code for an application; the requested document's name for a reactivation request."""
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(255))
    """Relative to POSOPS_VAR_DIR."""
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScheduledRun(Base):
    """One run of a periodic job for one time slot, claimed by the worker that does it.

    The unique ``(job, slot)`` makes the claim: of N workers inserting the same row, one
    succeeds. A claim whose worker died is taken over after its lease (see ``posops.core.scheduler``).
    """

    __tablename__ = "scheduled_runs"
    __table_args__ = (UniqueConstraint("job", "slot", name="uq_scheduled_runs_job_slot"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(32))
    slot: Mapped[str] = mapped_column(String(32))
    """The period this run covers, e.g. ``2025-03-01`` for a daily job."""
    claimed_by: Mapped[str] = mapped_column(String(128))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    result: Mapped[str | None] = mapped_column(String(255), default=None)
