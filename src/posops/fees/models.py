"""Tables of fees: rate cards, merchants' contracts, typed-in volumes, imported statements and the checks' flags."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from posops.core.db import Base, JSONType, UTCDateTime, utcnow


class FeeRateCard(Base):
    """A provider's offer for one product and merchant class, its parts as JSON, valid over a span of days."""

    __tablename__ = "fee_rate_cards"
    __table_args__ = (UniqueConstraint("provider", "product", "merchant_class", "valid_from"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(64))
    product: Mapped[str] = mapped_column(String(16))
    merchant_class: Mapped[str] = mapped_column(String(16))
    parts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    """``rates``, ``surcharges``, ``periodic_fees`` (lists) and ``deposit`` as ``RateCardIn`` gives them: rates
    as decimal strings of basis points, money as whole fen."""
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date, default=None)
    source: Mapped[str] = mapped_column(String(500))
    source_date: Mapped[date] = mapped_column(Date)
    is_example: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(64))
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class FeeContract(Base):
    """The card a merchant is on, the class it is priced in and the merchant category code it registered."""

    __tablename__ = "fee_contracts"

    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), primary_key=True)
    rate_card_id: Mapped[int] = mapped_column(ForeignKey("fee_rate_cards.id"), index=True)
    merchant_class: Mapped[str] = mapped_column(String(16))
    registered_mcc: Mapped[str] = mapped_column(String(4))
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class FeeVolume(Base):
    """One line of a merchant's typed-in month: payments of a channel and card type, and their total."""

    __tablename__ = "fee_volumes"

    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(8), primary_key=True)
    card_type: Mapped[str] = mapped_column(String(8), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FeeStatement(Base):
    """An uploaded statement of a merchant's payments and what each was charged (the file itself is not kept)."""

    __tablename__ = "fee_statements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    source_name: Mapped[str] = mapped_column(String(255))
    imported_by: Mapped[str] = mapped_column(String(64))
    imported_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_date: Mapped[date] = mapped_column(Date)
    last_date: Mapped[date] = mapped_column(Date)
    line_count: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    charged_fen: Mapped[int] = mapped_column(BigInteger)


class FeeStatementLine(Base):
    """One payment of a statement: its day, channel, card type, amount and the fee charged for it."""

    __tablename__ = "fee_statement_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("fee_statements.id"), index=True)
    line: Mapped[int] = mapped_column(Integer)
    """The line of the file it came from (the header is line 1)."""
    day: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(8))
    card_type: Mapped[str] = mapped_column(String(8))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    charged_fen: Mapped[int] = mapped_column(BigInteger)


class FeeFlag(Base):
    """What a check found; ``(kind, merchant_id, subject)`` is unique, so running a check again adds nothing."""

    __tablename__ = "fee_flags"
    __table_args__ = (UniqueConstraint("kind", "merchant_id", "subject"),
                      Index("ix_fee_flags_status_kind", "status", "kind"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    terminal_id: Mapped[int | None] = mapped_column(ForeignKey("terminals.id"), default=None)
    subject: Mapped[str] = mapped_column(String(64))
    """What the flag is about: ``line:<statement line id>`` or ``mcc:<terminal id>:<mcc>``."""
    statement_line_id: Mapped[int | None] = mapped_column(ForeignKey("fee_statement_lines.id"), default=None)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    """The catalogue sentence that says it (``key``) and its ``values``, so each reader sees their language."""
    amount_fen: Mapped[int | None] = mapped_column(BigInteger, default=None)
    status: Mapped[str] = mapped_column(String(8), default="open")
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))
    closed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    note: Mapped[str] = mapped_column(String(500), default="")
