"""Pydantic shapes of reactivation (复机) requests and the evidence recorded on them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from posops.core.documents import DocumentOut
from posops.core.inputs import one_line
from posops.core.labels import read_said
from posops.core.schemas import InputModel
from posops.terminals.schemas import ConditionOut, DocumentNames, DueDates, Note, RequiredNote, Version, Voucher


class ReactivationRequestIn(InputModel):
    """Ask for a suspended terminal to be reactivated (复机申请)."""

    note: Note = ""


class PaymentEvidence(InputModel):
    """arrears: a payment of the amount owed, with the voucher (缴费凭证) reference."""

    kind: Literal["payment"]
    amount_fen: int = Field(gt=0, le=1_000_000_000)
    voucher: Voucher
    paid_on: date


class UnpaidBillsEvidence(InputModel):
    """arrears: the due dates of the unpaid monthly bills (an agent, from the billing records)."""

    kind: Literal["unpaid_bills"]
    due_dates: DueDates


class IdentityEvidence(InputModel):
    """dormant: the merchant re-confirms identity with its licence or id number."""

    kind: Literal["identity"]
    legal_id: Annotated[str, one_line(32, min_length=6)]


class RequiredVersionEvidence(InputModel):
    """system_update: the software version the terminal must report."""

    kind: Literal["required_version"]
    version: Version


class DocumentsRequestedEvidence(InputModel):
    """risk_limit, security, policy: the documents the merchant must provide."""

    kind: Literal["documents_requested"]
    documents: DocumentNames


class ResolvedConfirmedEvidence(InputModel):
    """other: an agent confirms the cause of the suspension is gone."""

    kind: Literal["resolved_confirmed"]
    note: RequiredNote


Evidence = Annotated[
    PaymentEvidence | UnpaidBillsEvidence | IdentityEvidence | RequiredVersionEvidence
    | DocumentsRequestedEvidence | ResolvedConfirmedEvidence,
    Field(discriminator="kind"),
]


class PaymentOut(BaseModel):
    """A recorded payment."""

    amount_fen: int
    voucher: str
    paid_on: date
    recorded_by: str
    recorded_at: datetime


class ArrearsLineOut(BaseModel):
    """One unpaid monthly bill with its penalty."""

    due_on: date
    days_overdue: int
    principal_fen: int
    penalty_fen: int


class ArrearsOut(BaseModel):
    """What the merchant owes, computed from its fee plan and the unpaid bills."""

    as_of: date
    lines: list[ArrearsLineOut]
    principal_fen: int
    penalty_fen: int
    penalty_capped: bool
    total_fen: int
    paid_fen: int
    remaining_fen: int


class ReactivationRequestOut(BaseModel):
    """A reactivation request with what is recorded, what is still missing and what the caller may do."""

    id: int
    terminal_id: int
    terminal_tid: str
    terminal_serial: str
    terminal_status: str
    terminal_reason: str | None
    merchant_id: int
    merchant_name: str
    reason: str
    status: str
    note: Annotated[str, AfterValidator(read_said)]
    requested_by: str
    created_at: datetime
    updated_at: datetime
    submissions: int
    rejection_reason: str | None
    decided_by: str | None
    decided_at: datetime | None
    unpaid_due_dates: list[date] | None
    payments: list[PaymentOut]
    arrears: ArrearsOut | None
    documents_requested: list[str]
    documents: list[DocumentOut]
    repair_ticket_id: str | None
    required_version: str | None
    reported_version: str | None
    identity_reconfirmed_by: str | None
    resolved_confirmed_by: str | None
    unmet: list[ConditionOut]
    approvers: list[str]
    allowed_actions: list[str]
    evidence_kinds: list[str]
    needs_second_person: bool = False
    """Maker–checker: approval needs someone who did not file the request, record its evidence or upload its
    documents (for a risk reason, nor impose the suspension)."""
    approval_refused: dict[str, str] | None = None
    """When the caller's role may approve but they prepared the request: why not ({"zh-CN", "en"})."""
