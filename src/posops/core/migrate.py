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


def ensure_migrated(engine: Engine, url: str) -> None:
    """Raise NotMigrated, saying which command to run, unless every revision the code knows is applied."""
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_heads()
    script = ScriptDirectory.from_config(alembic_config(url))
    known = {r.revision for r in script.walk_revisions()}
    applied = {r.revision for r in script.revision_map.iterate_revisions(current, "base") if r is not None} \
        if current else set()
    if unknown := set(current) - known:
        raise NotMigrated(f"the database {engine.url.render_as_string(hide_password=True)} is at revision "
                          f"{', '.join(sorted(unknown))}, which this code does not know: upgrade posops")
    if missing := known - applied:
        state = ("has no posops schema" if not current else
                 f"lacks revision {', '.join(sorted(missing))}")
        raise NotMigrated(f"the database {engine.url.render_as_string(hide_password=True)} {state}: "
                          "run `posops db upgrade` first")
