"""Shared fixtures: a migrated database on SQLite and on PostgreSQL, the app, and a small fleet."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from posops.app import create_app
from posops.core.auth import Principal, Role, hash_password, hash_token
from posops.core.config import Settings
from posops.core.db import Base, Database, engine_for
from posops.core.migrate import upgrade
from posops.core.models import ApiToken, User
from posops.terminals.models import Merchant, Terminal

ADMIN_TOKEN = "test-bootstrap-admin-token"
PASSWORD = "correct-horse-9"
UNDER_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing_service(what: str) -> None:
    """Skip a test that needs a service, or fail it under CI, where every service must be present."""
    if UNDER_CI:
        pytest.fail(f"{what} is required under CI but is not available")
    pytest.skip(f"{what} not available")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "posops.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, migrated, dropped at the end."""
    base = os.environ.get("POSOPS_TEST_DATABASE_URL")
    if not base:
        missing_service("PostgreSQL (set POSOPS_TEST_DATABASE_URL)")
    assert base is not None
    url = make_url(base).set(drivername="postgresql+psycopg")
    name = f"posops_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # the server is down or refuses us
        admin.dispose()
        missing_service(f"PostgreSQL at {url.render_as_string(hide_password=True)} ({exc.__class__.__name__})")
    test_url = url.set(database=name).render_as_string(hide_password=False)
    upgrade(test_url)
    yield test_url
    engine_for(test_url).dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated, empty database: every storage test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "posops.db"
        shutil.copy(sqlite_template, path)
        url = f"sqlite:///{path}"
        # Close the test's pooled connections when it ends: left to the engine cache, a whole run
        # held over a thousand files open, and paho's select() cannot watch a socket numbered 1024+.
        request.addfinalizer(lambda: engine_for(url).dispose())
        return url
    url: str = request.getfixturevalue("postgres_url")
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with Database(url).transaction() as session:
        session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return url


@pytest.fixture
def db(database_url: str) -> Database:
    """The test database handle."""
    return Database(database_url)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings for a test app."""
    return Settings(database_url=database_url, admin_token=ADMIN_TOKEN, secret_key="test-secret-key",
                    env="test", var_dir=tmp_path / "var")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """An HTTP client on a fresh app."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@dataclass
class Fleet:
    """Two merchants with terminals and a user and bearer token per role."""

    merchant_a: int
    merchant_b: int
    terminals_a: list[int]
    terminals_b: list[int]
    tokens: dict[str, str] = field(default_factory=dict)
    users: dict[str, Principal] = field(default_factory=dict)

    def headers(self, role: str) -> dict[str, str]:
        """Authorization header for a role's user ("merchant" is merchant A's, "merchant_b" merchant B's)."""
        return {"Authorization": f"Bearer {self.tokens[role]}"}


_password_hash = hash_password(PASSWORD)


@pytest.fixture
def fleet(db: Database) -> Fleet:
    """Load two merchants, five terminals and one user per role (merchant users for both merchants)."""
    with db.transaction() as session:
        a = Merchant(name="甲商户", legal_id="91310000AAAA00001X", region="上海")
        b = Merchant(name="乙商户", legal_id="91310000BBBB00002Y", region="北京")
        session.add_all([a, b])
        session.flush()
        terminals = []
        for i, merchant in enumerate([a, a, a, b, b]):
            terminal = Terminal(serial_number=f"SN-TEST-{i:04d}", model="PAX A920" if i % 2 else "Sunmi P2",
                                vendor="PAX", tid=f"9000000{i}", mid=f"89831000000{i:04d}",
                                merchant_id=merchant.id, region=merchant.region, carrier="中国移动",
                                app_version="3.2.1", status="suspended" if i == 2 else "active",
                                status_reason="arrears" if i == 2 else None)
            session.add(terminal)
            terminals.append(terminal)
        session.flush()
        result = Fleet(a.id, b.id, [t.id for t in terminals[:3]], [t.id for t in terminals[3:]])
        people = {"merchant": (Role.MERCHANT, a.id), "merchant_b": (Role.MERCHANT, b.id),
                  "agent": (Role.AGENT, None), "risk": (Role.RISK, None),
                  "technician": (Role.TECHNICIAN, None), "admin": (Role.ADMIN, None)}
        for username, (role, merchant_id) in people.items():
            user = User(username=username, role=role.value, merchant_id=merchant_id, password_hash=_password_hash,
                        display_name=username)
            session.add(user)
            session.flush()
            token = f"pos_test_{username}_{uuid.uuid4().hex}"
            session.add(ApiToken(user_id=user.id, name="test", token_hash=hash_token(token), prefix=token[:8]))
            result.tokens[username] = token
            result.users[username] = Principal(user.id, username, role, merchant_id)
        return result
