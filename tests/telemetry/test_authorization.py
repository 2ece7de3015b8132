"""Every telemetry route against every role: who may, who gets 403, a merchant reaching across gets 404."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from posops.core.db import Database, utcnow
from posops.telemetry import service
from tests.authorization import (
    Page,
    Route,
    check_pages_answer_role,
    check_pages_send_anonymous_to_login,
    check_routes_answer_role,
)
from tests.conftest import Fleet
from tests.helpers import login
from tests.telemetry.storage import add_terminals, failing, healthy, store

ROLES = ["merchant", "merchant_b", "agent", "risk", "technician", "admin"]
STAFF = {"agent", "risk", "technician", "admin"}


@pytest.fixture
def incident(db: Database, fleet: Fleet) -> int:
    """An open outage incident that affected only merchant A's terminals."""
    now = utcnow()
    serials = add_terminals(db, fleet.merchant_a, 12, prefix="AUTH")
    store(db, [failing(sn, 1, now) for sn in serials] + [healthy("SN-TEST-0003", 1, now)], now)
    opened = service.scan_incidents(db, now).opened  # its area and its cohort
    return opened[0].id


def _expected(role: str, allowed: set[str], *, own: bool = True, denied: int = 403) -> int:
    """200 when the role may; 404 for a merchant reaching for another merchant's thing; else ``denied``."""
    if role not in allowed:
        return denied
    if role.startswith("merchant") and not own:
        return 404
    return 200


def _merchants_terminal(fleet: Fleet, merchant: str) -> int:
    return fleet.terminals_a[0] if merchant == "merchant" else fleet.terminals_b[0]


def _incident_of(fleet: Fleet) -> int:
    found: int = fleet.incident  # type: ignore[attr-defined]
    return found


ROUTES: list[Route] = [
    *[row for owner, sn in (("merchant", "SN-TEST-0000"), ("merchant_b", "SN-TEST-0003")) for row in (
        (f"post heartbeat, {owner}'s terminal", "POST", lambda f: "/api/v1/telemetry/heartbeats",
         lambda f, s=sn: {"json": healthy(s, 5, utcnow())}, {r: _expected(r, {"admin"}) for r in ROLES}),
        (f"issue token, {owner}'s terminal", "POST",
         lambda f, o=owner: f"/api/v1/terminals/{_merchants_terminal(f, o)}/telemetry-token", lambda f: {},
         {r: 201 if r == "admin" else 403 for r in ROLES}),
        (f"revoke token, {owner}'s terminal", "DELETE",
         lambda f, o=owner: f"/api/v1/terminals/{_merchants_terminal(f, o)}/telemetry-token", lambda f: {},
         {r: _expected(r, {"admin"}) for r in ROLES}),
        *[(f"{path}, {owner}'s terminal", "GET",
           lambda f, o=owner, p=path: f"/api/v1/terminals/{_merchants_terminal(f, o)}/{p}", lambda f: {},
           {r: _expected(r, set(ROLES), own=not r.startswith("merchant") or r == owner) for r in ROLES})
          for path in ("telemetry", "telemetry/history")])],
    ("incidents", "GET", lambda f: "/api/v1/telemetry/incidents", lambda f: {}, dict.fromkeys(ROLES, 200)),
    ("incident", "GET", lambda f: f"/api/v1/telemetry/incidents/{_incident_of(f)}", lambda f: {},
     {r: _expected(r, set(ROLES), own=r != "merchant_b") for r in ROLES}),  # it touched merchant A's terminals only
    ("dead letters", "GET", lambda f: "/api/v1/telemetry/dead-letters", lambda f: {},
     {r: _expected(r, STAFF) for r in ROLES}),
]


@pytest.fixture
def with_incident(fleet: Fleet, incident: int) -> Fleet:
    """The fleet, carrying the id of the open incident."""
    fleet.incident = incident  # type: ignore[attr-defined]
    return fleet


@pytest.mark.parametrize("role", ROLES)
def test_api_routes_per_role(client: TestClient, with_incident: Fleet, incident: int, role: str) -> None:
    check_routes_answer_role(client, with_incident, role, ROUTES)
    headers = with_incident.headers(role)
    affected = role != "merchant_b"  # the incident touched merchant A's terminals only
    listed = client.get("/api/v1/telemetry/incidents", headers=headers).json()
    assert (incident in [i["id"] for i in listed]) == affected


def test_api_routes_need_a_caller(client: TestClient, fleet: Fleet, incident: int) -> None:
    terminal = fleet.terminals_a[0]
    for method, path in (("POST", "/api/v1/telemetry/heartbeats"), ("GET", f"/api/v1/terminals/{terminal}/telemetry"),
                         ("GET", f"/api/v1/terminals/{terminal}/telemetry/history"),
                         ("POST", f"/api/v1/terminals/{terminal}/telemetry-token"),
                         ("DELETE", f"/api/v1/terminals/{terminal}/telemetry-token"),
                         ("GET", "/api/v1/telemetry/incidents"), ("GET", f"/api/v1/telemetry/incidents/{incident}"),
                         ("GET", "/api/v1/telemetry/dead-letters")):
        assert client.request(method, path, json={}).status_code == 401, path


@pytest.mark.parametrize("role", ROLES)
def test_pages_per_role(client: TestClient, fleet: Fleet, incident: int, role: str) -> None:
    login(client, role)
    listing = client.get("/incidents")
    assert listing.status_code == 200
    assert (f'href="/incidents/{incident}"' in listing.text) == (role != "merchant_b")
    assert ('data-testid="nav-incidents"' in listing.text) == (role in STAFF), "the nav link is for staff"
    page = client.get(f"/incidents/{incident}", headers={"accept": "text/html"})
    assert page.status_code == (404 if role == "merchant_b" else 200)
    own = fleet.terminals_b[0] if role == "merchant_b" else fleet.terminals_a[0]
    assert 'data-testid="telemetry"' in client.get(f"/terminals/{own}").text


def test_pages_send_strangers_to_the_login(client: TestClient, fleet: Fleet, incident: int) -> None:
    for path in ("/incidents", f"/incidents/{incident}"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login"), path


PAGES: list[Page] = [
    ("incident page", "GET", lambda f: f"/incidents/{_incident_of(f)}",
     {r: 404 if r == "merchant_b" else 200 for r in ROLES}),  # it touched merchant A's terminals only
]


@pytest.mark.parametrize("role", ROLES)
def test_pages_in_the_table_per_role(client: TestClient, with_incident: Fleet, role: str) -> None:
    check_pages_answer_role(client, with_incident, role, PAGES)


def test_pages_in_the_table_send_strangers_to_the_login(client: TestClient, with_incident: Fleet) -> None:
    check_pages_send_anonymous_to_login(client, with_incident, PAGES)
