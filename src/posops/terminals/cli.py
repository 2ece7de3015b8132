"""`posops terminals …`: suspend and reactivate terminals as a named user, show their state, scan for dormancy."""

from __future__ import annotations

from datetime import date

import typer
from rich.console import Console

from posops.core.auth import OPERATOR, Principal
from posops.core.cli import AS_OPTION, acting_as, fail, migrated_database, use_case_errors
from posops.core.db import Database, utcnow
from posops.terminals import reactivation_service, service
from posops.terminals.forms import validated
from posops.terminals.lifecycle import SuspensionReason, TransitionError
from posops.terminals.schemas import ReactivationRequestIn, ReactivationRequestOut, SuspendIn

terminals_app = typer.Typer(help="Terminal lifecycle: suspend (停机), reactivate (复机), dormancy.",
                            no_args_is_help=True)
console = Console()
def _terminal_id(db: Database, principal: Principal, ref: str) -> int:
    with db.transaction() as session:
        return service.find_terminal(session, principal, ref).id


def _missing(request: ReactivationRequestOut) -> None:
    for condition in request.unmet:
        console.print(f"  - {condition.zh} / {condition.en}", highlight=False)


@terminals_app.command("suspend")
def suspend(ref: str = typer.Argument(..., help="serial number, TID or id of the terminal"),
            reason: SuspensionReason = typer.Option(..., help="why the terminal is suspended"),
            note: str = typer.Option(..., help="what happened, for the audit log and the merchant"),
            as_user: str = AS_OPTION,
            due_date: list[str] = typer.Option([], help="arrears: due date (YYYY-MM-DD) of an unpaid bill; repeat"),
            document: list[str] = typer.Option([], help="a document reactivation will need; repeat"),
            required_version: str | None = typer.Option(None, help="system_update: the version to reach")) -> None:
    """Suspend a terminal as a named agent or risk user; its merchant is notified."""

    db = migrated_database()
    with use_case_errors():
        principal = acting_as(db, as_user)
        try:
            dues = [date.fromisoformat(d) for d in due_date] or None
        except ValueError:
            raise fail("--due-date must be YYYY-MM-DD") from None
        data = validated(SuspendIn, {"reason": reason, "note": note, "unpaid_due_dates": dues,
                                     "documents_requested": document, "required_version": required_version})
        result = service.suspend_terminal(db, principal, _terminal_id(db, principal, ref), data)
    console.print(f"terminal {ref} suspended ({result.status_reason}) by {principal.username}")
    if result.screen_notice:
        console.print("screen: " + " / ".join(result.screen_notice.zh_cn), highlight=False)


@terminals_app.command("reactivate")
def reactivate(ref: str = typer.Argument(..., help="serial number, TID or id of the terminal"),
               as_user: str = AS_OPTION,
               note: str = typer.Option("", help="why, when a request has to be opened first")) -> None:
    """Approve the terminal's reactivation request (opening one if needed); refused with what is missing."""

    db = migrated_database()
    with use_case_errors():
        principal = acting_as(db, as_user)
        terminal_id = _terminal_id(db, principal, ref)
        request = reactivation_service.open_request_for(db, principal, terminal_id)
        if request is None or request.status != "submitted":
            if request is not None:
                raise fail(f"request #{request.id} was rejected ({request.rejection_reason}); resubmit it first")
            request = reactivation_service.submit_request(db, principal, terminal_id, ReactivationRequestIn(note=note))
            console.print(f"opened reactivation request #{request.id}")
        try:
            approved = reactivation_service.approve_request(db, principal, request.id)
        except TransitionError as exc:
            console.print(f"request #{request.id} cannot be approved yet:", style="bold red")
            for condition in exc.unmet:
                console.print(f"  - {condition.zh} / {condition.en}", highlight=False)
            raise fail(exc.text("en")) from None
    console.print(f"terminal {ref} reactivated (request #{approved.id}); it must sign in before taking payments")


@terminals_app.command("status")
def status(ref: str = typer.Argument(..., help="serial number, TID or id of the terminal"),
           as_user: str = typer.Option("", "--as", help="the user to look as (default: the operator)")) -> None:
    """Show a terminal's lifecycle state, its open reactivation request and what it still needs."""

    db = migrated_database()
    with use_case_errors():
        principal = acting_as(db, as_user) if as_user else OPERATOR
        terminal_id = _terminal_id(db, principal, ref)
        lifecycle = service.get_lifecycle(db, principal, terminal_id)
        request = reactivation_service.open_request_for(db, principal, terminal_id)
    reason = f" ({lifecycle.status_reason})" if lifecycle.status_reason else ""
    console.print(f"terminal {ref}: {lifecycle.status}{reason}; may: {', '.join(lifecycle.allowed_actions) or '-'}")
    if lifecycle.must_sign_in:
        console.print("must sign in before taking payments")
    if request is not None:
        console.print(f"reactivation request #{request.id}: {request.status}")
        _missing(request)


@terminals_app.command("dormancy-scan")
def dormancy_scan(days: int | None = typer.Option(None, min=1, help="idle days (default POSOPS_DORMANCY_DAYS)"),
                  dry_run: bool = typer.Option(False, "--dry-run", help="list the terminals, change nothing")) -> None:
    """Suspend as dormant every active terminal with no transaction for N days (the worker runs it daily)."""

    db = migrated_database()
    with use_case_errors():
        ids = service.suspend_dormant(db, utcnow(), days=days, dry_run=dry_run)
    verb = "would suspend" if dry_run else "suspended"
    console.print(f"dormancy scan: {verb} {len(ids)} terminal(s)" + (f": {', '.join(map(str, ids))}" if ids else ""))
