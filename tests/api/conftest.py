"""The world the API fuzzing runs in: the demo fleet served in-process, with a fuzzing user and token per role."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest
from fastapi import FastAPI
from sqlalchemy import text

from posops.app import create_app
from posops.core import accounts
from posops.core.auth import Principal, Role
from posops.core.config import Settings
from posops.core.db import Base, Database, engine_for
from posops.demo import load_demo
from posops.onboarding.workflow import Material
from posops.telemetry import service as telemetry
from tests.conftest import PASSWORD

ROLES = {"admin": Role.ADMIN, "agent": Role.AGENT, "merchant": Role.MERCHANT}
"""The roles the API is fuzzed with, by the name of their fuzzing user (``fuzz-<name>``)."""
SETUP = Principal(user_id=None, username="fuzz-setup", role=Role.ADMIN)
DEMO_TERMINALS = 30
KNOWN_IDS = {
    "terminal_id": "SELECT id FROM terminals", "merchant_id": "SELECT id FROM merchants",
    "ticket_id": "SELECT id FROM tickets", "request_id": "SELECT id FROM reactivation_requests",
    "application_id": "SELECT id FROM onboarding_applications", "session_id": "SELECT id FROM diagnosis_sessions",
    "incident_id": "SELECT id FROM telemetry_incidents", "reservation_id": "SELECT id FROM loaner_reservations",
    "document_id": "SELECT id FROM stored_documents", "token_id": "SELECT id FROM api_tokens",
    "username": "SELECT username FROM users",
}
"""Path parameters the seeded world has real values for, and where to find them."""


@dataclass
class World:
    """The seeded app, the fuzzing users' tokens and the world's real path values; puts the users back when asked."""

    db: Database
    settings: Settings
    app: FastAPI
    merchant_id: int
    terminal_serial: str = ""
    """The serial number of the terminal whose own token is ``tokens["terminal"]``."""
    tokens: dict[str, str] = field(default_factory=dict)
    known: dict[str, list[Any]] = field(default_factory=dict)
    current: ClassVar[World | None] = None

    def headers(self, role: str) -> dict[str, str]:
        """The Authorization header of a role's fuzzing user."""
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def restore(self) -> None:
        """Give every fuzzing user its role, merchant, access and a working token again."""
        for role, kind in ROLES.items():
            merchant = self.merchant_id if kind is Role.MERCHANT else None
            accounts.update_user(self.db, SETUP, f"fuzz-{role}", role=kind.value, merchant_id=merchant, active=True)
            principal = accounts.principal_for_token(self.db, self.settings, self.tokens[role])
            if principal is None or principal.username != f"fuzz-{role}":
                self.tokens[role] = accounts.create_token(self.db, SETUP, f"fuzz-{role}", "fuzz").token


def _seed(url: str, var_dir: Path) -> World:
    db = Database(url)
    load_demo(db, terminals=DEMO_TERMINALS, var_dir=var_dir)
    settings = Settings(database_url=url, secret_key="test-secret-key", env="test", var_dir=var_dir)
    with db.transaction() as session:
        merchant_id = session.scalar(text("SELECT min(id) FROM merchants"))
    world = World(db, settings, create_app(settings), merchant_id)
    for role, kind in ROLES.items():
        accounts.create_user(db, SETUP, f"fuzz-{role}", PASSWORD, kind.value,
                             merchant_id=merchant_id if kind is Role.MERCHANT else None)
        world.tokens[role] = accounts.create_token(db, SETUP, f"fuzz-{role}", "fuzz").token
    issued = telemetry.issue_terminal_token(db, SETUP, min(world_terminals(db)))
    world.terminal_serial, world.tokens["terminal"] = issued.serial_number, issued.token
    with db.transaction() as session:
        world.known = {name: list(session.scalars(text(query))) for name, query in KNOWN_IDS.items()}
    world.known["material"] = [m.value for m in Material]
    return world


def world_terminals(db: Database) -> list[int]:
    """The ids of the seeded terminals."""
    with db.transaction() as session:
        return list(session.scalars(text("SELECT id FROM terminals")))


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
          sqlite_template: Path) -> Iterator[World]:
    """The demo fleet on SQLite, and on PostgreSQL when POSOPS_TEST_DATABASE_URL is set (required under CI)."""
    folder = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    if request.param == "sqlite":
        path = folder / "posops.db"
        shutil.copy(sqlite_template, path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_url")
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with Database(url).transaction() as session:
            session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    World.current = _seed(url, folder / "var")
    yield World.current
    World.current = None
    engine_for(url).dispose()
