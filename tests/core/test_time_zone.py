"""Times are stored in UTC and shown in POSOPS_TIMEZONE (Asia/Shanghai unless set)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from posops.app import create_app
from posops.core.config import Settings
from posops.core.db import Database
from posops.terminals.models import Terminal
from tests.conftest import Fleet
from tests.helpers import login

STAMP = datetime(2026, 7, 1, 23, 30, tzinfo=UTC)


def test_an_unknown_zone_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="not an IANA time zone"):
        Settings(timezone="Mars/Olympus")


def _page_with_stamp(settings: Settings, db: Database, fleet: Fleet) -> str:
    with db.transaction() as session:
        terminal = session.get(Terminal, fleet.terminals_a[0])
        assert terminal is not None
        terminal.updated_at = STAMP
    with TestClient(create_app(settings)) as client:
        login(client, "merchant")
        return client.get(f"/terminals/{fleet.terminals_a[0]}", headers={"accept": "text/html"}).text


def test_the_console_shows_local_time(settings: Settings, db: Database, fleet: Fleet) -> None:
    shanghai = _page_with_stamp(settings, db, fleet)
    assert "2026-07-02 07:30" in shanghai and "2026-07-01 23:30" not in shanghai
    berlin = _page_with_stamp(settings.model_copy(update={"timezone": "Europe/Berlin"}), db, fleet)
    assert "2026-07-02 01:30" in berlin, "summer time in Berlin is UTC+2"
    create_app(settings)  # later tests see the default zone again
