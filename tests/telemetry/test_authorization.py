"""Every telemetry route against every role: who may, who gets 403, a merchant reaching across gets 404."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from posops.core.db import Database, utcnow
from posops.telemetry import service
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


@pytest.mark.parametrize("role", ROLES)
def test_api_routes_per_role(client: TestClient, fleet: Fleet, incident: int, role: str) -> None:
    headers = fleet.headers(role)
    everyone = set(ROLES)
    own_terminal = fleet.terminals_b[0] if role == "merchant_b" else fleet.terminals_a[0]
    other_terminal = fleet.terminals_a[0] if role == "merchant_b" else fleet.terminals_b[0]
    affected = role != "merchant_b"  # the incident touched merchant A's terminals only
    now = utcnow()
    got: dict[str, tuple[int, int]] = {}

    def check(name: str, status: int, expected: int) -> None:
        got[name] = (status, expected)

    sn = "SN-TEST-0003" if role == "merchant_b" else "SN-TEST-0000"
    check("post heartbeat", client.post("/api/v1/telemetry/heartbeats", json=healthy(sn, 5, now),
                                        headers=headers).status_code, _expected(role, {"admin"}))
    for path in ("telemetry", "telemetry/history"):
        check(f"own {path}", client.get(f"/api/v1/terminals/{own_terminal}/{path}", headers=headers).status_code,
              200)
        check(f"other {path}", client.get(f"/api/v1/terminals/{other_terminal}/{path}",
                                          headers=headers).status_code, _expected(role, everyone, own=False))
    check("issue token", client.post(f"/api/v1/terminals/{own_terminal}/telemetry-token",
                                     headers=headers).status_code, 201 if role == "admin" else 403)
    check("revoke token", client.delete(f"/api/v1/terminals/{own_terminal}/telemetry-token",
                                        headers=headers).status_code, _expected(role, {"admin"}))
    check("incidents", client.get("/api/v1/telemetry/incidents", headers=headers).status_code, 200)
    check("incident", client.get(f"/api/v1/telemetry/incidents/{incident}", headers=headers).status_code,
          _expected(role, everyone, own=affected))
    check("dead letters", client.get("/api/v1/telemetry/dead-letters", headers=headers).status_code,
          _expected(role, STAFF))
    wrong = {name: pair for name, pair in got.items() if pair[0] != pair[1]}
    assert not wrong, f"(got, expected) for {role}: {wrong}"
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
