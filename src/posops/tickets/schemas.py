"""Pydantic shapes of repair tickets, technicians' work, maintenance records, loaners and reliability figures."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field, model_validator

from posops.core.documents import DocumentOut
from posops.core.errors import RuleBroken
from posops.core.inputs import code, multi_line, one_line
from posops.core.schemas import InputModel
from posops.terminals.schemas import Note, SerialNumber
from posops.tickets.lifecycle import Channel, Outcome, TicketStatus, WaitingFor
from posops.tickets.loans import LoanStatus
from posops.tickets.reliability import GroupBy
from posops.tickets.sla import Priority

Description = Annotated[str, multi_line(2000, min_length=1)]
MAX_LOAN_DAYS = 180
"""How long a loaner may be held for one ticket."""
CauseId = Annotated[str, code(64, r"^[a-z]+\.[a-z_]+$")]
SymptomId = Annotated[str, code(32, r"^[a-z_]{2,32}$")]
Username = Annotated[str, one_line(64, min_length=1)]
PartName = Annotated[str, one_line(64, min_length=1)]
Region = Annotated[str, one_line(64)]
MAX_PARTS = 20


class TicketIn(InputModel):
    """Report a fault for repair (填写维修申请); model, serial number and warranty come from the record."""

    terminal_id: int = Field(gt=0, le=2**31 - 1)
    description: Description
    symptom: SymptomId | None = None
    channel: Channel = Channel.ONSITE
    priority: Priority = Priority.NORMAL


class ReplacementIn(InputModel):
    """The device that replaces an unrepairable one (换机): it takes over the TID."""

    serial_number: SerialNumber
    model: Annotated[str, one_line(64, min_length=1)]
    vendor: Annotated[str, one_line(64)] = ""


class TransitionIn(InputModel):
    """Move a ticket to another state; ``waiting_for`` with ``waiting``, ``scheduled_for`` with ``scheduled``."""

    to: TicketStatus
    note: Note = ""
    waiting_for: WaitingFor | None = None
    scheduled_for: datetime | None = None
    technician: Username | None = None
    """With ``to: assigned``: who; left out, posops picks a technician of the region with the fewest open tickets."""
    replacement: ReplacementIn | None = None
    """With ``to: replaced``: the new device."""

    @model_validator(mode="after")
    def _needs_its_details(self) -> TransitionIn:
        if self.to is TicketStatus.WAITING and self.waiting_for is None:
            raise RuleBroken("tickets.error.waiting_for_needed")
        if self.to is TicketStatus.SCHEDULED and self.scheduled_for is None:
            raise RuleBroken("tickets.error.scheduled_for_needed")
        if self.to is TicketStatus.REPLACED and self.replacement is None:
            raise RuleBroken("tickets.error.replacement_needed")
        if self.scheduled_for is not None and self.scheduled_for.tzinfo is None:
            raise RuleBroken("tickets.error.scheduled_for_zone")
        return self


class AssignIn(InputModel):
    """Assign (or re-assign) a ticket; without ``technician`` posops picks by region and load."""

    technician: Username | None = None
    note: Note = ""


class PriorityIn(InputModel):
    """Change a ticket's priority: its SLA is re-bound, keeping the time already spent waiting."""

    priority: Priority
    note: Note = ""


class PartIn(InputModel):
    """A part used in a repair, with its cost."""

    name: PartName
    quantity: int = Field(1, ge=1, le=100)
    unit_cost_fen: int = Field(0, ge=0, le=10_000_000)


class WorkIn(InputModel):
    """What a technician did: time spent, the cause found (confirming or correcting the diagnosis), parts, outcome."""

    minutes: int = Field(0, ge=0, le=24 * 60)
    confirmed_cause: CauseId | None = None
    parts: list[PartIn] = Field(default_factory=list, max_length=MAX_PARTS)
    outcome: Outcome | None = None
    note: Note = ""


class AcceptIn(InputModel):
    """The merchant's acceptance (验收) of a repair, or its refusal with what is still wrong."""

    accepted: bool = True
    note: Note = ""

    @model_validator(mode="after")
    def _refusal_says_why(self) -> AcceptIn:
        if not self.accepted and not self.note:
            raise RuleBroken("tickets.error.refusal_note_needed")
        return self


class LoanerIn(InputModel):
    """Put a terminal of the provider's own pool account into the loaner pool."""

    terminal_id: int = Field(gt=0, le=2**31 - 1)
    region: Region = ""
    note: Note = ""


class ReservationIn(InputModel):
    """Hold a loaner for a ticket from ``begins_on`` to ``ends_on`` (inclusive); posops picks one if none is named."""

    ticket_id: int = Field(gt=0, le=2**31 - 1)
    begins_on: date
    ends_on: date
    loaner_id: int | None = Field(None, gt=0, le=2**31 - 1)

    @model_validator(mode="after")
    def _ordered(self) -> ReservationIn:
        if self.ends_on < self.begins_on:
            raise RuleBroken("tickets.error.loan_ends_first")
        if (self.ends_on - self.begins_on).days > MAX_LOAN_DAYS:
            raise RuleBroken("tickets.error.loan_too_long", days=MAX_LOAN_DAYS)
        return self


class SlaOut(BaseModel):
    """A ticket's SLA: deadlines (UTC), whether each was missed, and the time spent paused."""

    priority: Priority
    respond_by: datetime
    resolve_by: datetime | None
    """None while the ticket is waiting: the deadline moves with the pause."""
    responded_at: datetime | None
    repaired_at: datetime | None
    respond_breached: bool
    resolve_breached: bool
    paused: bool
    paused_minutes: int


class PartOut(BaseModel):
    """A part used, with the line's cost."""

    name: str
    quantity: int
    unit_cost_fen: int
    cost_fen: int


class WorkOut(BaseModel):
    """One entry of a ticket's work log."""

    id: int
    technician: str
    at: datetime
    minutes: int
    confirmed_cause: str | None
    parts: list[PartOut]
    outcome: Outcome | None
    note: str


class ReservationOut(BaseModel):
    """A loaner held for a ticket."""

    id: int
    loaner_id: int
    ticket_id: int
    loaner_serial_number: str
    loaner_tid: str
    begins_on: date
    ends_on: date
    status: LoanStatus
    reserved_by: str
    handed_over_at: datetime | None
    returned_at: datetime | None


class ProofOut(BaseModel):
    """What shows the terminal works after the repair: a sign-in or a transaction, where posops saw it."""

    kind: str
    at: datetime
    source: str


class TicketOut(BaseModel):
    """A ticket as its reader may see it, with what that reader may do next."""

    id: int
    terminal_id: int
    serial_number: str
    tid: str
    model: str
    merchant_id: int
    merchant_name: str
    diagnosis_id: str | None
    status: TicketStatus
    waiting_for: WaitingFor | None
    priority: Priority
    channel: Channel
    symptom: str | None
    suspected_cause: str | None
    description: str
    prefill: dict[str, Any]
    materials: dict[str, Any]
    in_warranty: bool | None
    region: str
    opened_by: str
    assignee: str | None
    scheduled_for: datetime | None
    sla: SlaOut
    allowed: list[TicketStatus]
    work: list[WorkOut]
    reservations: list[ReservationOut]
    documents: list[DocumentOut]
    proof: ProofOut | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class DueWithin(StrEnum):
    """When an open ticket that has not breached its SLA meets its next deadline (response, else repair)."""

    TODAY = "today"
    """Before today ends in the console's time zone (one that just passed and is not yet flagged included)."""
    LATER = "later"
    """After today, or no deadline running (the clock paused, or repaired and waiting for acceptance)."""


class TicketFilters(BaseModel):
    """Filters of the ticket list."""

    terminal_id: int | None = Field(None, gt=0, le=2**31 - 1)
    status: TicketStatus | None = None
    assignee: Username | None = None
    breached: bool | None = None
    open: bool | None = None
    due: DueWithin | None = Field(None, description="open tickets not breached whose next deadline falls before "
                                                    "today ends (today) or not (later)")


class MaintenanceOut(BaseModel):
    """One maintenance record (维修记录) of a terminal."""

    id: int
    terminal_id: int
    ticket_id: int | None
    technician: str
    requested_at: datetime
    finished_at: datetime
    corrective: bool
    cause: str | None
    work: str
    parts: list[PartOut]
    minutes: int
    cost_fen: int
    outcome: Outcome


class LoanerOut(BaseModel):
    """A loaner of the pool, where it is now."""

    id: int
    terminal_id: int
    serial_number: str
    tid: str
    model: str
    region: str
    note: str
    on_loan_to: int | None
    """The merchant holding it now, when it is out."""
    reservations: list[ReservationOut]


class TechnicianIn(InputModel):
    """Where a technician works (the regions assignment matches) and whether they take new tickets."""

    regions: list[Annotated[str, one_line(64, min_length=1)]] = Field(
        default_factory=list, max_length=50)
    active: bool = True


class TechnicianOut(BaseModel):
    """A technician with their regions and open workload."""

    username: str
    display_name: str
    regions: list[str]
    active: bool
    open_tickets: int


class ReliabilityOut(BaseModel):
    """MTTR and MTBF of one group of terminals, with the definitions they follow."""

    group_by: GroupBy
    window_start: datetime
    window_end: datetime
    definitions: dict[str, str]
    groups: list[dict[str, Any]]
