"""`posops tickets …`: list, show, assign and close repair tickets from the command line."""

from __future__ import annotations

from datetime import datetime

import typer
from rich.console import Console
from rich.table import Table

from posops.core.auth import OPERATOR
from posops.core.cli import AS_OPTION, acting_as, migrated_database, use_case_errors
from posops.core.forms import validated
from posops.tickets import service
from posops.tickets.lifecycle import STATUS_LABELS, TicketStatus
from posops.tickets.schemas import AssignIn, TechnicianIn, TicketFilters, TicketOut, TransitionIn

tickets_app = typer.Typer(help="Repair tickets (报修): list, show, assign, close.", no_args_is_help=True)
console = Console()


def _local(moment: datetime) -> str:
    """A time as the business calendar's zone shows it (Asia/Shanghai by default)."""
    return moment.astimezone(service.calendar().tz).strftime("%Y-%m-%d %H:%M")


def _deadline(ticket: TicketOut) -> str:
    if ticket.sla.resolve_by is None:
        return "paused"
    late = " LATE" if ticket.sla.resolve_breached or ticket.sla.respond_breached else ""
    return _local(ticket.sla.resolve_by) + late


@tickets_app.command("list")
def list_tickets(status: TicketStatus | None = typer.Option(None, help="only tickets in this state"),
                 open_only: bool = typer.Option(False, "--open", help="only tickets someone still has to act on"),
                 breached: bool = typer.Option(False, "--breached", help="only tickets that missed an SLA deadline"),
                 as_user: str = typer.Option("", "--as", help="the user to look as (default: the operator)"),
                 limit: int = typer.Option(50, min=1, max=200, help="how many to show")) -> None:
    """List tickets, nearest resolution deadline first."""
    db = migrated_database()
    with use_case_errors():
        principal = acting_as(db, as_user) if as_user else OPERATOR
        filters = TicketFilters(status=status, open=True if open_only else None, breached=True if breached else None)
        page = service.list_tickets(db, principal, filters, per_page=limit)
    table = Table("#", "terminal", "status", "priority", "assignee", "resolve by")
    for t in page.items:
        table.add_row(str(t.id), f"{t.serial_number} / {t.tid}", STATUS_LABELS[t.status].en, t.priority,
                      t.assignee or "-", _deadline(t))
    console.print(table)
    console.print(f"{page.total} ticket(s)")


@tickets_app.command("show")
def show(ticket_id: int = typer.Argument(..., min=1, help="the ticket's number"),
         as_user: str = typer.Option("", "--as", help="the user to look as (default: the operator)")) -> None:
    """Show a ticket: its state, SLA, diagnosis, work log and loaners."""
    db = migrated_database()
    with use_case_errors():
        principal = acting_as(db, as_user) if as_user else OPERATOR
        t = service.get_ticket(db, principal, ticket_id)
    console.print(f"ticket #{t.id}: {STATUS_LABELS[t.status].en} ({t.priority}, {t.channel})", highlight=False)
    console.print(f"terminal {t.serial_number} / TID {t.tid}, {t.model}, merchant {t.merchant_name}", highlight=False)
    console.print(f"fault: {t.description}" + (f" [symptom {t.symptom}, suspected {t.suspected_cause}]"
                                               if t.symptom else ""), highlight=False)
    console.print(f"assignee: {t.assignee or '-'}; respond by {_local(t.sla.respond_by)}; "
                  f"resolve by {_deadline(t)}; paused {t.sla.paused_minutes} min", highlight=False)
    for w in t.work:
        parts = ", ".join(f"{p.name}×{p.quantity}" for p in w.parts) or "no parts"
        console.print(f"  work {_local(w.at)} {w.technician}: {w.minutes} min, {parts}, "
                      f"cause {w.confirmed_cause or '-'}, {w.outcome or '-'} {w.note}", highlight=False)
    for r in t.reservations:
        console.print(f"  loaner {r.loaner_serial_number} (TID {r.loaner_tid}) {r.begins_on}..{r.ends_on}: {r.status}")
    if t.proof is not None:
        console.print(f"proof after repair: {t.proof.kind} at {_local(t.proof.at)} ({t.proof.source})")
    console.print("may move to: " + (", ".join(t.allowed) or "-"))


@tickets_app.command("assign")
def assign(ticket_id: int = typer.Argument(..., min=1, help="the ticket's number"),
           as_user: str = AS_OPTION,
           technician: str | None = typer.Option(None, help="who (default: the region's least busy one)")) -> None:
    """Assign (or re-assign) a ticket to a technician."""
    db = migrated_database()
    with use_case_errors():
        principal = acting_as(db, as_user)
        t = service.assign(db, principal, ticket_id, validated(AssignIn, {"technician": technician}))
    console.print(f"ticket #{t.id} assigned to {t.assignee}")


@tickets_app.command("technician")
def technician(username: str = typer.Argument(..., help="the technician's username"),
               as_user: str = AS_OPTION,
               region: list[str] = typer.Option([], help="a region the technician covers; repeat"),
               inactive: bool = typer.Option(False, "--inactive", help="takes no new tickets")) -> None:
    """Set the regions a technician covers; assignment picks the least busy one of the terminal's region."""
    db = migrated_database()
    with use_case_errors():
        principal = acting_as(db, as_user)
        out = service.set_technician(db, principal, username,
                                     validated(TechnicianIn, {"regions": region, "active": not inactive}))
    console.print(f"{out.username}: {', '.join(out.regions) or 'any region'}"
                  f"{'' if out.active else ' (inactive)'}; {out.open_tickets} open ticket(s)")


@tickets_app.command("close")
def close(ticket_id: int = typer.Argument(..., min=1, help="the ticket's number"),
          as_user: str = AS_OPTION,
          note: str = typer.Option("", help="why, for the audit log")) -> None:
    """Close an accepted (or replaced) ticket."""
    db = migrated_database()
    with use_case_errors():
        principal = acting_as(db, as_user)
        t = service.transition(db, principal, ticket_id, validated(TransitionIn, {"to": "closed", "note": note}))
    console.print(f"ticket #{t.id} closed")
