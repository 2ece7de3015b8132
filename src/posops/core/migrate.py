"""Runs Alembic migrations and tells whether a database is at the current schema."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


class NotMigrated(RuntimeError):
    """The database schema is missing or older than this code."""


def alembic_config(url: str) -> Config:
    """Build the Alembic configuration for a database URL (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    """Migrate the database to `revision` (every feature's newest by default)."""
    command.upgrade(alembic_config(url), revision)


def head_revisions(url: str) -> set[str]:
    """Return the newest revisions the code knows (features may branch from a common base)."""
    return set(ScriptDirectory.from_config(alembic_config(url)).get_heads())


def ensure_migrated(engine: Engine, url: str) -> None:
    """Raise NotMigrated, saying which command to run, unless the database is at the head revision."""
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    heads = head_revisions(url)
    if current != heads:
        state = ("has no posops schema" if not current else
                 f"is at revision {', '.join(sorted(current))}, code needs {', '.join(sorted(heads))}")
        raise NotMigrated(f"the database {engine.url.render_as_string(hide_password=True)} {state}: "
                          "run `posops db upgrade` first")
