"""What every `posops` command shares (consoles, refusals, the migrated database) and the core commands.

The core commands are `serve`, `db upgrade`, `users create` and `tokens create`; each feature's
commands live in its own `cli.py`, and `posops/cli.py` only assembles them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer
import uvicorn
from rich.console import Console
from sqlalchemy import select

from posops.core import accounts
from posops.core.auth import OPERATOR, Principal, Role
from posops.core.config import get_settings
from posops.core.db import Database
from posops.core.errors import NotFound, PosopsError
from posops.core.migrate import NotMigrated, ensure_migrated, upgrade
from posops.core.models import User

console = Console()
errors = Console(stderr=True)
AS_OPTION = typer.Option(..., "--as", help="the user to act as (their role decides what is allowed)")

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="Console and API users.", no_args_is_help=True)
tokens_app = typer.Typer(help="Bearer tokens for automation.", no_args_is_help=True)


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


def acting_as(db: Database, username: str) -> Principal:
    """The principal of an active user, for commands run on their behalf."""
    with db.transaction() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None or not user.active:
            raise NotFound(f"no active user {username!r}")
        return Principal(user_id=user.id, username=user.username, role=Role(user.role), merchant_id=user.merchant_id)


def serve(host: str = typer.Option("127.0.0.1", help="address to listen on"),
          port: int = typer.Option(8000, help="port to listen on"),
          workers: int = typer.Option(1, help="server processes"),
          log_level: str = typer.Option("info", help="uvicorn log level: debug, info, warning, error")) -> None:
    """Serve the web console and the REST API."""
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
