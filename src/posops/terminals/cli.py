"""`posops terminals …`: suspend terminals as a named user and scan for dormancy (reactivation adds its own)."""

from __future__ import annotations

from datetime import date

import typer
from rich.console import Console

from posops.core.cli import AS_OPTION, acting_as, fail, migrated_database, use_case_errors
from posops.core.db import utcnow
from posops.core.forms import validated
from posops.terminals import service
from posops.terminals.lifecycle import SuspensionReason
from posops.terminals.schemas import SuspendIn

terminals_app = typer.Typer(help="Terminal lifecycle: suspend (停机), reactivate (复机), dormancy.",
                            no_args_is_help=True)
console = Console()


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
        result = service.suspend_terminal(db, principal, service.terminal_id_for(db, principal, ref), data)
    console.print(f"terminal {ref} suspended ({result.status_reason}) by {principal.username}")
    if result.screen_notice:
        console.print("screen: " + " / ".join(result.screen_notice.zh_cn), highlight=False)


@terminals_app.command("dormancy-scan")
def dormancy_scan(days: int | None = typer.Option(None, min=1, help="idle days (default POSOPS_DORMANCY_DAYS)"),
                  dry_run: bool = typer.Option(False, "--dry-run", help="list the terminals, change nothing")) -> None:
    """Suspend as dormant every active terminal with no transaction for N days (the worker runs it daily)."""

    db = migrated_database()
    with use_case_errors():
        ids = service.suspend_dormant(db, utcnow(), days=days, dry_run=dry_run)
    verb = "would suspend" if dry_run else "suspended"
    console.print(f"dormancy scan: {verb} {len(ids)} terminal(s)" + (f": {', '.join(map(str, ids))}" if ids else ""))
