"""Fixtures of the home page tests: the fleet with something on every card."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from posops.core.config import Settings
from posops.core.db import Database
from tests.conftest import Fleet
from tests.home.fleet import HomeFleet, build_home_fleet


@pytest.fixture
def home(client: TestClient, db: Database, fleet: Fleet, settings: Settings) -> HomeFleet:
    """The fleet with lifecycle records, heartbeats, tickets, diagnoses and incidents."""
    return build_home_fleet(client, db, fleet, settings.var_dir)
