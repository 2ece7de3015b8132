"""`posops telemetry …`: the outage scan and history pruning by hand, terminal tokens, dead letters."""

from __future__ import annotations

import json
import sys

import typer
from rich.console import Console

from posops.core.auth import Principal, Role
from posops.core.db import utcnow
from posops.telemetry import incident_service, scheduler, service

telemetry_app = typer.Typer(help="Fleet telemetry: outage scan, pruning, terminal tokens, dead letters.",
                            no_args_is_help=True)
console = Console()
OPERATOR = Principal(user_id=None, username="cli", role=Role.ADMIN)


@telemetry_app.command("scan")
def scan() -> None:
    """运行一次故障扫描 / Run one outage scan now and print what it opened and closed (JSON)."""
    from posops.cli import migrated_database

    db = migrated_database()
    now = utcnow()
    result = incident_service.scan_incidents(db, now)
    scheduler.record_manual_run(db, service.SCAN_JOB, "cli", now,
                                f"groups={result.groups} open={result.open} opened={len(result.opened)} "
                                f"closed={len(result.closed)}")
    sys.stdout.write(result.model_dump_json() + "\n")


@telemetry_app.command("prune")
def prune(days: int | None = typer.Option(None, min=1, help="keep this many days (default: "
                                                               "POSOPS_TELEMETRY_RETENTION_DAYS)")) -> None:
    """删除过期心跳 / Delete heartbeats and dead letters older than the retention period."""
    from posops.cli import migrated_database, use_case_errors

    db = migrated_database()
    with use_case_errors():
        removed = service.prune_history(db, utcnow(), retention_days=days)
    console.print(f"removed {removed} rows")


@telemetry_app.command("token")
def token(ref: str = typer.Argument(..., help="serial number, TID or id of the terminal"),
          revoke: bool = typer.Option(False, "--revoke", help="revoke the terminal's tokens instead")) -> None:
    """为终端签发心跳令牌 / Issue the bearer token a terminal posts its own heartbeats with (shown once)."""
    from posops.cli import migrated_database, use_case_errors
    from posops.terminals import service as terminals

    db = migrated_database()
    with use_case_errors():
        with db.transaction() as session:
            terminal_id = terminals.find_terminal(session, OPERATOR, ref).id
        if revoke:
            console.print(f"revoked {service.revoke_terminal_tokens(db, OPERATOR, terminal_id)} token(s)")
            return
        issued = service.issue_terminal_token(db, OPERATOR, terminal_id)
    console.print(f"token of terminal {issued.serial_number} (shown once, earlier ones revoked):", style="bold")
    sys.stdout.write(issued.token + "\n")


@telemetry_app.command("dead-letters")
def dead_letters(limit: int = typer.Option(20, min=1, max=500, help="how many of the newest to show")) -> None:
    """查看死信 / Show dead-lettered messages: counts by reason and the newest ones (JSON)."""
    from posops.cli import migrated_database

    letters = service.dead_letters(migrated_database(), OPERATOR, limit=limit)
    sys.stdout.write(json.dumps(letters.model_dump(mode="json"), ensure_ascii=False, indent=2) + "\n")
