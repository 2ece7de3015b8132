"""JSON routes of repairs under /api/v1: tickets, work, acceptance, maintenance records, loaners, reliability."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import FileResponse

from posops.core.deps import CurrentPrincipal, DbDep, PageNumber, PerPage, SettingsDep
from posops.core.documents import DocumentOut, UploadDep, download
from posops.core.inputs import Id, Word
from posops.core.paging import Page
from posops.tickets import service as tickets
from posops.tickets.reliability import GroupBy
from posops.tickets.schemas import (
    AcceptIn,
    AssignIn,
    LoanerIn,
    LoanerOut,
    MaintenanceOut,
    PriorityIn,
    ReliabilityOut,
    ReservationIn,
    ReservationOut,
    TechnicianIn,
    TechnicianOut,
    TicketFilters,
    TicketIn,
    TicketOut,
    TransitionIn,
    WorkIn,
)

router = APIRouter(prefix="/api/v1", tags=["tickets"])


@router.post("/tickets", status_code=201)
def create_ticket(body: TicketIn, db: DbDep, principal: CurrentPrincipal) -> TicketOut:
    """Report a terminal for repair; the answer carries the SLA deadlines (respond_by, resolve_by)."""
    return tickets.create_ticket(db, principal, body)


@router.get("/tickets")
def list_tickets(db: DbDep, principal: CurrentPrincipal, filters: Annotated[TicketFilters, Depends()],
                 page: PageNumber = 1, per_page: PerPage = 50) -> Page[TicketOut]:
    """List tickets (merchants: their own; technicians: assigned to them), nearest resolution deadline first."""
    return tickets.list_tickets(db, principal, filters, page=page, per_page=per_page)


@router.get("/tickets/{ticket_id}")
def get_ticket(ticket_id: Id, db: DbDep, principal: CurrentPrincipal) -> TicketOut:
    """A ticket with its SLA, work log, loaners, documents and the moves the caller may make."""
    return tickets.get_ticket(db, principal, ticket_id)


@router.post("/tickets/{ticket_id}/transitions")
def move_ticket(ticket_id: Id, body: TransitionIn, db: DbDep, principal: CurrentPrincipal) -> TicketOut:
    """Move a ticket (`{"to": state}`); 409 with the allowed moves when the lifecycle refuses."""
    return tickets.transition(db, principal, ticket_id, body)


@router.post("/tickets/{ticket_id}/assign")
def assign_ticket(ticket_id: Id, body: AssignIn, db: DbDep, principal: CurrentPrincipal) -> TicketOut:
    """Assign to a named technician, or to the one of the region with the fewest open tickets."""
    return tickets.assign(db, principal, ticket_id, body)


@router.post("/tickets/{ticket_id}/priority")
def change_priority(ticket_id: Id, body: PriorityIn, db: DbDep, principal: CurrentPrincipal) -> TicketOut:
    """Change the priority; the SLA is re-bound and keeps the time already spent waiting."""
    return tickets.change_priority(db, principal, ticket_id, body)


@router.post("/tickets/{ticket_id}/work")
def record_work(ticket_id: Id, body: WorkIn, db: DbDep, principal: CurrentPrincipal) -> TicketOut:
    """Log work: minutes, the cause found, parts with cost, the outcome."""
    return tickets.record_work(db, principal, ticket_id, body)


@router.post("/tickets/{ticket_id}/acceptance")
def accept_repair(ticket_id: Id, body: AcceptIn, db: DbDep, principal: CurrentPrincipal) -> TicketOut:
    """The merchant accepts the repair (or sends it back with what is still wrong)."""
    return tickets.accept(db, principal, ticket_id, body)


@router.post("/tickets/{ticket_id}/documents", status_code=201)
def upload_document(ticket_id: Id, name: Annotated[Word, Form()], upload: UploadDep, db: DbDep,
                    principal: CurrentPrincipal, settings: SettingsDep) -> DocumentOut:
    """Attach a document (multipart: `name`, e.g. 购机凭证 or 保修卡, and `file`)."""
    return tickets.upload_document(db, principal, settings.var_dir, ticket_id, name, upload.filename,
                                   upload.content_type, upload.content)


@router.get("/tickets/{ticket_id}/documents/{document_id}", response_class=FileResponse)
def get_document(ticket_id: Id, document_id: Id, db: DbDep, principal: CurrentPrincipal,
                 settings: SettingsDep) -> FileResponse:
    """Download one of the ticket's documents."""
    return download(*tickets.document_file(db, principal, settings.var_dir, ticket_id, document_id))


@router.get("/terminals/{terminal_id}/maintenance")
def terminal_maintenance(terminal_id: Id, db: DbDep, principal: CurrentPrincipal) -> list[MaintenanceOut]:
    """The terminal's maintenance records (维修记录), newest first."""
    return tickets.maintenance(db, principal, terminal_id)


@router.get("/reliability")
def reliability(db: DbDep, principal: CurrentPrincipal, group_by: GroupBy = GroupBy.MODEL,
                days: Annotated[int, Query(ge=1, le=3660)] = 365) -> ReliabilityOut:
    """MTTR and MTBF per terminal, model or region over the last `days` days, with their definitions."""
    return tickets.reliability(db, principal, group_by, days=days)


@router.get("/technicians")
def list_technicians(db: DbDep, principal: CurrentPrincipal) -> list[TechnicianOut]:
    """Technicians with the regions they cover and their open tickets."""
    return tickets.list_technicians(db, principal)


@router.put("/technicians/{username}")
def set_technician(username: Word, body: TechnicianIn, db: DbDep, principal: CurrentPrincipal) -> TechnicianOut:
    """Set the regions a technician covers (assignment matches the terminal's region) and whether they are active."""
    return tickets.set_technician(db, principal, username, body)


@router.get("/loaners")
def list_loaners(db: DbDep, principal: CurrentPrincipal) -> list[LoanerOut]:
    """The loaner pool (备用机) with each device's reservations."""
    return tickets.list_loaners(db, principal)


@router.post("/loaners", status_code=201)
def add_loaner(body: LoanerIn, db: DbDep, principal: CurrentPrincipal) -> LoanerOut:
    """Put a terminal of the provider's pool account into the loaner pool."""
    return tickets.add_loaner(db, principal, body)


@router.post("/loaners/reservations", status_code=201)
def reserve_loaner(body: ReservationIn, db: DbDep, principal: CurrentPrincipal) -> ReservationOut:
    """Hold a loaner for a ticket's dates; 409 when it is taken then."""
    return tickets.reserve(db, principal, body)


@router.post("/loaners/reservations/{reservation_id}/hand-over")
def hand_over_loaner(reservation_id: Id, db: DbDep, principal: CurrentPrincipal) -> ReservationOut:
    """Give the loaner to the merchant: its TID takes the merchant's payments until it is returned."""
    return tickets.hand_over_loaner(db, principal, reservation_id)


@router.post("/loaners/reservations/{reservation_id}/return")
def return_loaner(reservation_id: Id, db: DbDep, principal: CurrentPrincipal) -> ReservationOut:
    """Take the loaner back into the pool (or cancel a reservation not handed over)."""
    return tickets.return_loaner(db, principal, reservation_id)
