"""Reactivation from the command line: `posops terminals reactivate` and `posops terminals status`."""

from __future__ import annotations

import typer
from rich.console import Console

from posops.core.auth import OPERATOR
from posops.core.cli import AS_OPTION, acting_as, fail, migrated_database, use_case_errors
from posops.core.errors import Forbidden
from posops.core.transitions import TransitionError
from posops.reactivation import service
from posops.reactivation.conditions import RequestStatus
from posops.reactivation.schemas import ReactivationRequestIn, ReactivationRequestOut
from posops.terminals import service as terminals

console = Console()


def print_missing(request: ReactivationRequestOut) -> None:
    """List what the request still needs, in both languages."""
    for condition in request.unmet:
        console.print(f"  - {condition.zh} / {condition.en}", highlight=False)


def reactivate(ref: str = typer.Argument(..., help="serial number, TID or id of the terminal"),
               as_user: str = AS_OPTION,
               note: str = typer.Option("", help="why, when a request has to be opened first")) -> None:
    """Approve the terminal's reactivation request (opening one if needed); refused with what is missing."""

    db = migrated_database()
    with use_case_errors():
        principal = acting_as(db, as_user)
        terminal_id = terminals.terminal_id_for(db, principal, ref)
        request = service.open_request_for(db, principal, terminal_id)
        if request is None or request.status != RequestStatus.SUBMITTED:
            if request is not None:
                raise fail(f"request #{request.id} was rejected ({request.rejection_reason}); resubmit it first")
            request = service.submit_request(db, principal, terminal_id, ReactivationRequestIn(note=note))
            console.print(f"opened reactivation request #{request.id}")
        try:
            approved = service.approve_request(db, principal, request.id)
        except TransitionError as exc:
            console.print(f"request #{request.id} cannot be approved yet:", style="bold red")
            for condition in exc.unmet:
                console.print(f"  - {condition.zh} / {condition.en}", highlight=False)
            raise fail(exc.text("en")) from None
        except Forbidden as exc:  # maker–checker: someone else must approve
            raise fail(f"request #{request.id} needs another approver: {exc.text('zh-CN')} / {exc.text('en')}") \
                from None
    console.print(f"terminal {ref} reactivated (request #{approved.id}); it must sign in before taking payments")




def status(ref: str = typer.Argument(..., help="serial number, TID or id of the terminal"),
           as_user: str = typer.Option("", "--as", help="the user to look as (default: the operator)")) -> None:
    """Show a terminal's lifecycle state, its open reactivation request and what it still needs."""

    db = migrated_database()
    with use_case_errors():
        principal = acting_as(db, as_user) if as_user else OPERATOR
        terminal_id = terminals.terminal_id_for(db, principal, ref)
        lifecycle = terminals.get_lifecycle(db, principal, terminal_id)
        request = service.open_request_for(db, principal, terminal_id)
    reason = f" ({lifecycle.status_reason})" if lifecycle.status_reason else ""
    console.print(f"terminal {ref}: {lifecycle.status}{reason}; may: {', '.join(lifecycle.allowed_actions) or '-'}")
    if lifecycle.must_sign_in:
        console.print("must sign in before taking payments")
    if request is not None:
        console.print(f"reactivation request #{request.id}: {request.status}")
        print_missing(request)
