"""Tables of onboarding: merchant applications and the materials they upload."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from posops.core.db import Base, JSONType, UTCDateTime, utcnow
from posops.onboarding.workflow import ApplicationStatus


class OnboardingApplication(Base):
    """An application for POS terminals (POS 申请), from submission to the terminals going live."""

    __tablename__ = "onboarding_applications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default=ApplicationStatus.DRAFT, index=True)
    applicant_type: Mapped[str] = mapped_column(String(16))
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"), default=None, index=True)
    """The applying merchant (a merchant user's own), or the one created or bound at go-live."""
    applicant_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    name: Mapped[str] = mapped_column(String(128))
    legal_id: Mapped[str] = mapped_column(String(32))
    contact_name: Mapped[str] = mapped_column(String(64), default="")
    contact_phone: Mapped[str] = mapped_column(String(32), default="")
    region: Mapped[str] = mapped_column(String(64), default="")
    address: Mapped[str] = mapped_column(String(255), default="")
    terminal_model: Mapped[str] = mapped_column(String(64), default="")
    terminal_count: Mapped[int] = mapped_column(Integer, default=1)
    note: Mapped[str] = mapped_column(Text, default="")
    rejection_reason: Mapped[str | None] = mapped_column(Text, default=None)
    contract_ref: Mapped[str | None] = mapped_column(String(64), default=None)
    fee_plan: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    devices: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType, default=None)
    """The terminals installed for this application, created and bound to the merchant at go-live."""
    installation_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    training_done: Mapped[bool] = mapped_column(Boolean, default=False)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    live_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)



class ApplicationMaterial(Base):
    """Where one checklist item of an application stands, and the file that is its current version."""

    __tablename__ = "application_materials"
    __table_args__ = (UniqueConstraint("application_id", "material", name="uq_application_materials_material"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("onboarding_applications.id"), index=True)
    material: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), default="missing")
    document_id: Mapped[int | None] = mapped_column(ForeignKey("stored_documents.id"), default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    reviewed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
