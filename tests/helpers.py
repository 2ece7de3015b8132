"""Test helpers shared by every feature: console sign-in, CSRF tokens, the app's routes, a registered terminal,
polling, a CLI database and a second staff user for maker–checker."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import RouteContext, iter_route_contexts
from fastapi.testclient import TestClient

from posops.core.auth import Principal, Role, hash_token
from posops.core.config import get_settings
from posops.core.db import Database, utcnow
from posops.core.migrate import upgrade
from posops.core.models import ApiToken, User
from posops.terminals.lifecycle import TerminalStatus
from posops.terminals.models import Terminal
from tests.conftest import PASSWORD, Fleet, _password_hash


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    return html.split('name="csrf_token" value="')[1].split('"')[0]


def login(client: TestClient, username: str, lang: str | None = None) -> None:
    """Sign a fleet user in to the console (every fleet user has PASSWORD), optionally switching the language."""
    token = csrf_token(client.get("/login").text)
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    if lang is not None:
        client.get(f"/lang/{lang}")


def app_routes(app: FastAPI) -> Iterator[RouteContext]:
    """Every route of the app, the included routers' routes flattened."""
    yield from iter_route_contexts(app.routes)


def make_terminal(db: Database, merchant_id: int, *, serial_number: str, tid: str, model: str = "PAX A920",
                  vendor: str = "PAX", mid: str = "898310000000001", status: str = TerminalStatus.ACTIVE,
                  **fields: Any) -> int:
    """Register a terminal straight in the database (activated unless onboarding) and return its id."""
    with db.transaction() as session:
        terminal = Terminal(serial_number=serial_number, tid=tid, model=model, vendor=vendor, mid=mid,
                            merchant_id=merchant_id, status=status,
                            activated_at=None if status == TerminalStatus.ONBOARDING else utcnow(), **fields)
        session.add(terminal)
        session.flush()
        return terminal.id


def error_fields(response: Any) -> list[str]:
    """The field names an API error answer blames (empty when it names none), whatever the error's kind."""
    detail = response.json()["detail"]
    if isinstance(detail, dict):
        return [str(f["field"]) for f in detail.get("fields", [])]
    if isinstance(detail, list):
        return [".".join(str(p) for p in e["loc"][1:]) for e in detail]
    return []


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Poll ``condition`` every 20 ms until it holds (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def cli_database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Database:
    """A migrated SQLite database in ``tmp_path`` that the CLI commands of the test will use."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("POSOPS_DATABASE_URL", url)
    get_settings.cache_clear()
    upgrade(url)
    return Database(url)


def add_colleague(db: Database, fleet: Fleet, role: str, name: str | None = None) -> str:
    """Add another staff user of ``role`` to the fleet (password PASSWORD, a bearer token); return their name.

    ``fleet.headers(name)`` and ``fleet.users[name]`` then work for them as for the fixture's users.
    """
    username = name or f"{role}_2"
    with db.transaction() as session:
        user = User(username=username, role=role, password_hash=_password_hash, display_name=username)
        session.add(user)
        session.flush()
        token = f"pos_test_{username}_{uuid.uuid4().hex}"
        session.add(ApiToken(user_id=user.id, name="test", token_hash=hash_token(token), prefix=token[:8]))
        fleet.tokens[username] = token
        fleet.users[username] = Principal(user.id, username, Role(role))
    return username
