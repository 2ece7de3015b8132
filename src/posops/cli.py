"""The `posops` command line: serve, migrate, load the demo fleet, manage users and tokens."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

from posops.core import accounts
from posops.core.auth import Principal, Role
from posops.core.config import get_settings
from posops.core.db import Database
from posops.core.errors import PosopsError
from posops.core.migrate import NotMigrated, ensure_migrated, upgrade
from posops.diagnosis.cli import diagnose, kb_app
from posops.iso8583.cli import iso8583_app, logs_app, sim_host, sim_terminal
from posops.telemetry.cli import telemetry_app
from posops.telemetry.simulator import sim_fleet
from posops.telemetry.worker import worker_command
from posops.terminals.cli import terminals_app

app = typer.Typer(help="posops: keep POS terminals taking payments.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
demo_app = typer.Typer(help="The demo fleet.", no_args_is_help=True)
users_app = typer.Typer(help="Console and API users.", no_args_is_help=True)
tokens_app = typer.Typer(help="Bearer tokens for automation.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(terminals_app, name="terminals")
app.add_typer(kb_app, name="kb")
app.command("diagnose")(diagnose)
app.add_typer(iso8583_app, name="iso8583")
app.add_typer(logs_app, name="logs")
sim_app = typer.Typer(help="Simulators for demos, tests and reproducing a merchant's problem.", no_args_is_help=True)
sim_app.command("host")(sim_host)
sim_app.command("terminal")(sim_terminal)
sim_app.command("fleet")(sim_fleet)
app.add_typer(sim_app, name="sim")
app.add_typer(telemetry_app, name="telemetry")
app.command("worker")(worker_command)

console = Console()
errors = Console(stderr=True)
OPERATOR = Principal(user_id=None, username="cli", role=Role.ADMIN)
"""Whoever runs the CLI on the server is trusted as an administrator, like the database owner."""


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print an error on stderr and return the exit to raise."""
    errors.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


@contextmanager
def use_case_errors() -> Iterator[None]:
    """Turn a use case's refusal into a clear message and exit code 2."""
    try:
        yield
    except PosopsError as exc:
        raise fail(exc.message) from None


def migrated_database() -> Database:
    """Open the configured database, refusing (exit 2) when it is not migrated."""
    settings = get_settings()
    db = Database(settings.database_url)
    try:
        ensure_migrated(db.engine, settings.database_url)
    except NotMigrated as exc:
        raise fail(str(exc)) from None
    return db


@app.command()
def serve(host: str = typer.Option("127.0.0.1", help="address to listen on"),
          port: int = typer.Option(8000, help="port to listen on"),
          workers: int = typer.Option(1, help="server processes"),
          log_level: str = typer.Option("info", help="uvicorn log level: debug, info, warning, error")) -> None:
    """Serve the web console and the REST API."""
    import uvicorn

    migrated_database()
    console.print(f"posops serving on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    uvicorn.run("posops.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level=log_level, access_log=log_level in ("debug", "info"))


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("heads", help="target revision")) -> None:
    """Migrate the database to the newest schema."""
    settings = get_settings()
    Database(settings.database_url)  # creates the SQLite folder when needed
    upgrade(settings.database_url, revision)
    console.print(f"database migrated to {revision}")


@demo_app.command("load")
def demo_load(terminals: int = typer.Option(300, min=1, help="how many terminals"),
              seed: int = typer.Option(8583, help="random seed: the same seed gives the same fleet")) -> None:
    """Load a realistic demo fleet and one user per role, printing their logins."""
    from posops.demo import DEMO_PASSWORDS, load_demo

    db = migrated_database()
    with use_case_errors():
        summary = load_demo(db, terminals=terminals, seed=seed, progress=console)
    console.print(f"[green]demo fleet:[/] {summary.merchants} merchants, {summary.terminals} terminals "
                  f"({summary.suspended} suspended)")
    console.print("logins (http://127.0.0.1:8000/login):")
    for username, password in DEMO_PASSWORDS.items():
        console.print(f"  {username:<12} {password}")


@users_app.command("create")
def users_create(username: str = typer.Argument(..., help="login name"),
                 role: Role = typer.Option(..., help="merchant, agent, risk, technician or admin"),
                 merchant_id: int | None = typer.Option(None, help="the merchant of a merchant user"),
                 password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True,
                                              help="at least 8 characters")) -> None:
    """Create a console and API user."""
    db = migrated_database()
    with use_case_errors():
        user = accounts.create_user(db, OPERATOR, username, password, role.value, merchant_id)
    console.print(f"created user {user.username} ({user.role})")


@tokens_app.command("create")
def tokens_create(user: str = typer.Option(..., "--user", help="the user the token acts as"),
                  name: str = typer.Option("", help="what the token is for")) -> None:
    """Create a bearer token for a user; it is shown once and stored only as a hash."""
    db = migrated_database()
    with use_case_errors():
        issued = accounts.create_token(db, OPERATOR, user, name)
    console.print("token (shown once, keep it safe):", style="bold")
    sys.stdout.write(issued.token + "\n")
