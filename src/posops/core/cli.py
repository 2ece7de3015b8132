"""What every `posops` command shares (consoles, refusals, the migrated database) and the core commands.

The core commands are `serve`, `db upgrade`, `users create/disable/enable/role/password/unlock` and
`tokens create/list/revoke`; each feature's commands live in its own `cli.py`, and `posops/cli.py`
only assembles them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

import typer
import uvicorn
from rich.console import Console
from rich.table import Table
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
            raise NotFound(key="error.not_found.active_user", username=username)
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
                  name: str = typer.Option("", help="what the token is for"),
                  days: int | None = typer.Option(None, help="days the token is valid "
                                                             "(default POSOPS_API_TOKEN_DAYS)")) -> None:
    """Create a bearer token for a user, valid --days; it is shown once and stored only as a hash."""
    db = migrated_database()
    with use_case_errors():
        issued = accounts.create_token(db, OPERATOR, user, name, days=days)
    console.print(f"token (shown once, keep it safe; expires {_when(issued.expires_at)}):", style="bold",
                  highlight=False)
    sys.stdout.write(issued.token + "\n")


@users_app.command("disable")
def users_disable(username: str = typer.Argument(..., help="login name")) -> None:
    """Disable a user: their console session and API tokens are refused from their next request."""
    db = migrated_database()
    with use_case_errors():
        accounts.update_user(db, OPERATOR, username, active=False)
    console.print(f"disabled user {username}")


@users_app.command("enable")
def users_enable(username: str = typer.Argument(..., help="login name")) -> None:
    """Enable a disabled user again."""
    db = migrated_database()
    with use_case_errors():
        accounts.update_user(db, OPERATOR, username, active=True)
    console.print(f"enabled user {username}")


@users_app.command("role")
def users_role(username: str = typer.Argument(..., help="login name"),
               role: Role = typer.Option(..., help="merchant, agent, risk, technician or admin"),
               merchant_id: int | None = typer.Option(None, help="the merchant of a merchant user")) -> None:
    """Give a user another role; a merchant user needs --merchant-id (staff lose theirs)."""
    db = migrated_database()
    with use_case_errors():
        user = accounts.update_user(db, OPERATOR, username, role=role.value,
                                    merchant_id=accounts.KEEP if merchant_id is None else merchant_id)
    console.print(f"user {user.username} is now {user.role}"
                  + (f" of {user.merchant_name}" if user.merchant_name else ""), highlight=False)


@users_app.command("password")
def users_password(username: str = typer.Argument(..., help="login name"),
                   password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True,
                                                help="at least 8 characters")) -> None:
    """Set a user's password."""
    db = migrated_database()
    with use_case_errors():
        accounts.set_password(db, OPERATOR, username, password)
    console.print(f"password of {username} changed")


@users_app.command("unlock")
def users_unlock(username: str = typer.Argument(..., help="login name")) -> None:
    """Let a user locked out by failed sign-ins sign in again at once (their earlier failures stop counting)."""
    db = migrated_database()
    with use_case_errors():
        accounts.unlock_user(db, OPERATOR, get_settings(), username)
    console.print(f"unlocked user {username}")


def _when(moment: datetime | None) -> str:
    """A stored instant in the configured time zone (POSOPS_TIMEZONE), or '—'."""
    if moment is None:
        return "—"
    return moment.astimezone(ZoneInfo(get_settings().timezone)).strftime("%Y-%m-%d %H:%M")


@tokens_app.command("list")
def tokens_list(user: str = typer.Option(..., "--user", help="whose tokens")) -> None:
    """List a user's tokens, newest first: name, first characters, created, last used, expiry; never their values."""
    db = migrated_database()
    with use_case_errors():
        tokens = accounts.list_tokens(db, OPERATOR, user)
    if not tokens:
        console.print(f"{user} has no tokens")
        return
    table = Table(title=f"tokens of {user} (times in {get_settings().timezone})")
    for column in ("id", "name", "prefix", "created", "last used", "expires", "state"):
        table.add_column(column)
    for token in tokens:
        state = "active" if token.active else \
            f"revoked {_when(token.revoked_at)}" if token.revoked_at is not None else "expired"
        table.add_row(str(token.id), token.name or "—", token.prefix + "…", _when(token.created_at),
                      _when(token.last_used_at), _when(token.expires_at) if token.expires_at else "never", state)
    console.print(table)


@tokens_app.command("revoke")
def tokens_revoke(token_id: int = typer.Argument(..., help="the token's id (see `posops tokens list`)"),
                  user: str = typer.Option(..., "--user", help="whose token it is")) -> None:
    """Revoke a user's token: it is refused from its next request."""
    db = migrated_database()
    with use_case_errors():
        token = accounts.revoke_token(db, OPERATOR, user, token_id)
    console.print(f"revoked token {token.id} ({token.prefix}…) of {user}", highlight=False)
