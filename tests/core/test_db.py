"""Storage behaves the same on SQLite and PostgreSQL: UTC timestamps, JSON, append-only audit, migrations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from posops.app import create_app
from posops.core.audit import history, record
from posops.core.auth import BOOTSTRAP_ADMIN
from posops.core.config import Settings
from posops.core.db import Database
from posops.core.migrate import NotMigrated, upgrade
from posops.core.models import AuditEvent, LoginAttempt


def test_timestamps_come_back_aware_and_in_utc(db: Database) -> None:
    shanghai = timezone(timedelta(hours=8))
    at = datetime(2026, 11, 20, 9, 2, 30, tzinfo=shanghai)
    with db.transaction() as session:
        session.add(LoginAttempt(username="u", address="a", at=at, succeeded=True))
    with db.transaction() as session:
        stored = session.scalars(select(LoginAttempt)).one()
    assert stored.at.tzinfo is not None
    assert stored.at.utcoffset() == timedelta(0)
    assert stored.at == at
    assert stored.at.hour == 1


def test_naive_timestamps_are_refused(db: Database) -> None:
    with pytest.raises(Exception, match="naive datetime"), db.transaction() as session:
        session.add(LoginAttempt(username="u", address="a", at=datetime(2026, 1, 1), succeeded=True))
        session.flush()


def test_json_columns_round_trip(db: Database) -> None:
    payload = {"status": "suspended", "nested": {"codes": ["A0", "97"], "n": 3}, "zh": "欠费停机"}
    with db.transaction() as session:
        record(session, BOOTSTRAP_ADMIN, "terminal", 7, "suspend", before={"status": "active"}, after=payload)
    with db.transaction() as session:
        (event,) = history(session, "terminal", 7)
    assert event.after == payload
    assert event.before == {"status": "active"}
    assert event.at.tzinfo is UTC or event.at.utcoffset() == timedelta(0)


def test_audit_events_cannot_be_changed_or_deleted(db: Database) -> None:
    with db.transaction() as session:
        record(session, BOOTSTRAP_ADMIN, "terminal", 1, "create", after={"x": 1})
    with pytest.raises(PermissionError), db.transaction() as session:
        event = session.scalars(select(AuditEvent)).one()
        event.reason = "rewritten"
        session.flush()
    with pytest.raises(PermissionError), db.transaction() as session:
        session.delete(session.scalars(select(AuditEvent)).one())
        session.flush()
    for statement in ("UPDATE audit_events SET reason = 'x'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), db.transaction() as session:
            session.execute(text(statement))
    with db.transaction() as session:
        assert session.scalars(select(AuditEvent)).one().reason is None


def test_app_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'empty.db'}", secret_key="k", env="test")
    with pytest.raises(NotMigrated, match="posops db upgrade"):
        create_app(settings)


def test_migrations_go_down_and_up_again(database_url: str) -> None:
    from alembic import command

    from posops.core.migrate import alembic_config

    command.downgrade(alembic_config(database_url), "base")
    with Database(database_url).transaction() as session:
        dialect = session.bind.dialect.name if session.bind else ""
        tables_query = ("SELECT name FROM sqlite_master WHERE type='table' AND name='terminals'" if dialect == "sqlite"
                        else "SELECT tablename FROM pg_tables WHERE tablename='terminals'")
        assert session.execute(text(tables_query)).first() is None
    upgrade(database_url)
    with Database(database_url).transaction() as session:
        assert session.execute(text("SELECT count(*) FROM terminals")).scalar() == 0


def test_migrations_create_exactly_the_models(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from posops import tables  # noqa: F401
    from posops.core.db import Base

    with Database(database_url).engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert differences == []
