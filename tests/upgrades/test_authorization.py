"""Every upgrades API route against every role: the desk changes, staff read, merchants see none of it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from posops.core.db import Database
from posops.upgrades.models import Campaign
from tests import authorization as matrix
from tests.conftest import Fleet
from tests.terminals.flows import ok

ROLES = ["merchant", "agent", "risk", "technician", "admin"]
MODEL = "PAX A920"


@dataclass
class Upgrades:
    """A package, and campaigns awaiting approval (made by the admin), running and halted."""

    package: int
    awaiting: int
    running: int
    halted: int


def package_form(version: str, content: bytes | None = None) -> dict[str, Any]:
    """The multipart fields and file of a package upload whose checksum is right."""
    content = content or f"package {version}".encode()
    return {"data": {"kind": "app", "model": MODEL, "version": version,
                     "sha256": hashlib.sha256(content).hexdigest(), "size_bytes": str(len(content))},
            "files": {"file": (f"app-{version}.bin", content, "application/octet-stream")}}


def _campaign(client: TestClient, fleet: Fleet, package: int, name: str) -> int:
    body = {"name": name, "package_id": package, "waves": [{"percent": 100, "soak_minutes": 0}]}
    return int(ok(client.post("/api/v1/upgrades/campaigns", json=body, headers=fleet.headers("admin")), 201)["id"])


@pytest.fixture
def upgraded(client: TestClient, fleet: Fleet, db: Database) -> Fleet:
    """The fleet with upgrade records in the states the routes act on (ids on ``fleet.upgrades``)."""
    package = ok(client.post("/api/v1/upgrades/packages", headers=fleet.headers("agent"),
                             **package_form("3.3.0")), 201)["id"]
    awaiting = _campaign(client, fleet, package, "awaiting")
    running = _campaign(client, fleet, package, "running")
    ok(client.post(f"/api/v1/upgrades/campaigns/{running}/approve", headers=fleet.headers("agent")))
    halted = _campaign(client, fleet, package, "halted")
    ok(client.post(f"/api/v1/upgrades/campaigns/{halted}/approve", headers=fleet.headers("agent")))
    with db.transaction() as session:
        row = session.get(Campaign, halted)
        assert row is not None
        row.status = "halted"
    fleet.upgrades = Upgrades(package, awaiting, running, halted)  # type: ignore[attr-defined]
    return fleet


def _u(fleet: Fleet) -> Upgrades:
    found: Upgrades = fleet.upgrades  # type: ignore[attr-defined]
    return found


def _expect(merchant: int, agent: int, risk: int, technician: int, admin: int) -> dict[str, int]:
    return dict(zip(ROLES, (merchant, agent, risk, technician, admin), strict=True))


def _campaign_body(fleet: Fleet) -> dict[str, Any]:
    return {"json": {"name": "matrix", "package_id": _u(fleet).package}}


READ = _expect(403, 200, 200, 200, 200)
DESK = _expect(403, 200, 403, 403, 200)
REASON = {"json": {"reason": "矩阵测试"}}

ROUTES: list[matrix.Route] = [
    ("packages", "GET", lambda f: "/api/v1/upgrades/packages", lambda f: {}, READ),
    ("package", "GET", lambda f: f"/api/v1/upgrades/packages/{_u(f).package}", lambda f: {}, READ),
    ("register package", "POST", lambda f: "/api/v1/upgrades/packages", lambda f: package_form("3.4.0"),
     _expect(403, 201, 403, 403, 201)),
    ("package file", "GET", lambda f: f"/api/v1/upgrades/packages/{_u(f).package}/file", lambda f: {}, DESK),
    ("compatibility", "GET", lambda f: "/api/v1/upgrades/compatibility", lambda f: {}, READ),
    ("set compatibility", "PUT", lambda f: "/api/v1/upgrades/compatibility",
     lambda f: {"json": {"model": MODEL, "firmware": "PayDroid 8.1", "app": "3.3.0", "compatible": True}}, DESK),
    ("minimums", "GET", lambda f: "/api/v1/upgrades/minimums", lambda f: {}, READ),
    ("set minimum", "PUT", lambda f: "/api/v1/upgrades/minimums",
     lambda f: {"json": {"model": MODEL, "kind": "app", "version": "3.2.0", "acquirer": "银联"}}, DESK),
    ("preview", "POST", lambda f: "/api/v1/upgrades/campaigns/preview", _campaign_body, DESK),
    ("create", "POST", lambda f: "/api/v1/upgrades/campaigns", _campaign_body, _expect(403, 201, 403, 403, 201)),
    ("campaigns", "GET", lambda f: "/api/v1/upgrades/campaigns", lambda f: {}, READ),
    ("campaign", "GET", lambda f: f"/api/v1/upgrades/campaigns/{_u(f).running}", lambda f: {}, READ),
    # the admin made the campaign: only a second person may approve it
    ("approve", "POST", lambda f: f"/api/v1/upgrades/campaigns/{_u(f).awaiting}/approve", lambda f: {},
     _expect(403, 200, 403, 403, 403)),
    ("pause", "POST", lambda f: f"/api/v1/upgrades/campaigns/{_u(f).running}/pause", lambda f: REASON, DESK),
    ("resume, after the pause", "POST", lambda f: f"/api/v1/upgrades/campaigns/{_u(f).running}/resume",
     lambda f: REASON, DESK),
    ("cancel", "POST", lambda f: f"/api/v1/upgrades/campaigns/{_u(f).awaiting}/cancel", lambda f: REASON, DESK),
    # nothing installed yet: the desk reaches the rule (409), the others not even that
    ("rollback", "POST", lambda f: f"/api/v1/upgrades/campaigns/{_u(f).halted}/rollback", lambda f: {},
     _expect(403, 409, 403, 403, 409)),
    # a user's token is not a terminal's
    ("next", "GET", lambda f: "/api/v1/upgrades/next", lambda f: {}, _expect(403, 403, 403, 403, 403)),
    ("reports", "POST", lambda f: "/api/v1/upgrades/reports",
     lambda f: {"json": {"reports": [{"report_id": "r1", "campaign_id": _u(f).running, "step": "downloading",
                                      "at": "2026-12-01T02:00:00+08:00"}]}}, _expect(403, 403, 403, 403, 403)),
]


@pytest.mark.parametrize("role", ROLES)
def test_every_api_route_answers_each_role_as_designed(client: TestClient, upgraded: Fleet, role: str) -> None:
    matrix.check_routes_answer_role(client, upgraded, role, ROUTES)


def test_anonymous_callers_get_401_on_every_api_route(client: TestClient, upgraded: Fleet) -> None:
    matrix.check_routes_refuse_anonymous(client, upgraded, ROUTES)
