"""Database engine, sessions and the column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, Engine, MetaData, Update, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from posops.core.errors import Conflict

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every posops table, with named constraints for migrations."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """Return the current time as a timezone-aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite drops tzinfo)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes and convert aware ones to UTC before storing."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given: posops stores timezone-aware UTC timestamps only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Attach UTC to values SQLite returns naive; normalise PostgreSQL's to UTC."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")
"""JSON column: JSONB on PostgreSQL, JSON text on SQLite."""


def insert_for(session: Session, model: type[Any]) -> Any:
    """A Core INSERT into a model's table, with the ON CONFLICT clauses of the session's database.

    Core, not the ORM's bulk path: that one sends an upsert row by row.
    """
    table = model.__table__
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """Create an engine for a URL; SQLite gets WAL, foreign keys and its folder created."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.drivername in ("postgresql", "postgres"):
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, pool_pre_ping=True)


def compare_and_set(session: Session, statement: Update, conflict_message: str | None = None, *,
                    key: str | None = None, **values: object) -> None:
    """Run an UPDATE whose WHERE holds the state the caller read; Conflict unless it changed exactly one row.

    The Conflict says ``conflict_message``, or the catalogue sentence ``key`` filled from ``values``.
    """
    result = session.execute(statement.execution_options(synchronize_session=False))
    if getattr(result, "rowcount", 0) != 1:
        raise Conflict(conflict_message, key=key, **values)


@contextmanager
def conflict_on_duplicate(message: str | None = None, *, key: str | None = None, **values: object) -> Iterator[None]:
    """Turn a constraint race inside the block (another transaction got there first) into a Conflict (409).

    The Conflict says ``message``, or the catalogue sentence ``key`` filled from ``values``.
    """
    try:
        yield
    except IntegrityError as exc:
        raise Conflict(message, key=key, **values) from exc


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """Return the one shared engine for a database URL."""
    return make_engine(url)


@lru_cache(maxsize=8)
def session_factory(url: str) -> sessionmaker[Session]:
    """Return the session factory bound to the shared engine of a URL."""
    return sessionmaker(bind=engine_for(url), expire_on_commit=False)


@contextmanager
def transaction(url: str) -> Iterator[Session]:
    """Open a session whose work commits on success and rolls back on any error: one use case."""
    with session_factory(url)() as session, session.begin():
        yield session


class Database:
    """Handle on one database: hands out a transaction per use case."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = engine_for(url)

    def transaction(self) -> AbstractContextManager[Session]:
        """Open a session in a transaction that commits on success and rolls back on error."""
        return transaction(self.url)
