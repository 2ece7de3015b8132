"""Every ISO 8583 route and page against every role and anonymous callers; a merchant reaching for another's."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.authorization import (
    Form,
    Route,
    check_forms_answer_role,
    check_forms_send_anonymous_to_login,
    check_routes_answer_role,
    check_routes_refuse_anonymous,
)
from tests.conftest import Fleet
from tests.helpers import csrf_token, login
from tests.iso8583.helpers import captures
from tests.iso8583.traffic import fleet_steps, log_text

ROLES = ["merchant", "merchant_b", "agent", "risk", "technician", "admin"]
IMPORTERS = {"agent", "technician", "admin"}


def _log() -> bytes:
    return log_text(fleet_steps()).encode()


def _everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def _importers(status: int) -> dict[str, int]:
    return {role: status if role in IMPORTERS else 403 for role in ROLES}


ROUTES: list[Route] = [
    ("decode", "POST", lambda f: "/api/v1/iso8583/decode",
     lambda f: {"json": {"hex": captures()["purchase_resp"].hex()}}, _everyone(200)),
    ("import multipart", "POST", lambda f: "/api/v1/traffic/analyses",
     lambda f: {"files": {"file": ("pos.log", _log(), "text/plain")}}, _importers(201)),
    ("import raw body", "POST", lambda f: "/api/v1/traffic/analyses",
     lambda f: {"content": _log(), "headers": {"content-type": "application/octet-stream",
                                             "content-disposition": 'attachment; filename="pos.log"'}},
     _importers(201)),
    ("traffic, merchant A's terminal", "GET", lambda f: f"/api/v1/terminals/{f.terminals_a[0]}/traffic",
     lambda f: {}, {**_everyone(200), "merchant_b": 404}),
    ("traffic, merchant B's terminal", "GET", lambda f: f"/api/v1/terminals/{f.terminals_b[0]}/traffic",
     lambda f: {}, {**_everyone(200), "merchant": 404}),
    ("traffic, unknown terminal", "GET", lambda f: "/api/v1/terminals/999999/traffic", lambda f: {}, _everyone(404)),
]

FORMS: list[Form] = [
    ("upload", "POST", lambda f: "/traffic/upload", lambda f: {"files": {"file": ("shop.log", _log())}},
     _importers(200)),
]


@pytest.fixture
def imported(client: TestClient, fleet: Fleet) -> Fleet:
    """The fleet after an agent imported a log covering terminals of both merchants."""
    response = client.post("/api/v1/traffic/analyses", files={"file": ("seed.log", _log())},
                           headers=fleet.headers("agent"))
    assert response.status_code == 201, response.text
    return fleet


@pytest.mark.parametrize("role", ROLES)
def test_every_api_route_answers_each_role_as_designed(client: TestClient, imported: Fleet, role: str) -> None:
    check_routes_answer_role(client, imported, role, ROUTES)


def test_anonymous_callers_get_401_on_every_api_route(client: TestClient, imported: Fleet) -> None:
    check_routes_refuse_anonymous(client, imported, ROUTES)


@pytest.mark.parametrize("role", ROLES)
def test_every_console_form_answers_each_role_as_designed(client: TestClient, imported: Fleet, role: str) -> None:
    check_forms_answer_role(client, imported, role, FORMS)


def test_every_console_form_sends_anonymous_visitors_to_login(client: TestClient, imported: Fleet) -> None:
    check_forms_send_anonymous_to_login(client, imported, FORMS)


def test_a_merchant_never_reads_another_merchants_traffic(client: TestClient, imported: Fleet) -> None:
    other = client.get(f"/api/v1/terminals/{imported.terminals_b[0]}/traffic", headers=imported.headers("merchant"))
    assert other.status_code == 404 and other.json()["detail"]["message"]["en"] == "terminal not found"
    own = client.get(f"/api/v1/terminals/{imported.terminals_b[0]}/traffic", headers=imported.headers("merchant_b"))
    assert own.status_code == 200 and own.json()["tid"] == "90000003"


@pytest.mark.parametrize("role", ROLES)
def test_console_pages_per_role(client: TestClient, imported: Fleet, role: str) -> None:
    login(client, role)
    html = {"accept": "text/html"}
    form = client.get("/traffic/upload", headers=html)
    assert form.status_code == (200 if role in IMPORTERS else 403)
    token = csrf_token(client.get("/terminals").text)
    upload = client.post("/traffic/upload", data={"csrf_token": token}, files={"file": ("shop.log", _log())},
                         headers=html)
    assert upload.status_code == (200 if role in IMPORTERS else 403)
    own = imported.terminals_b[0] if role == "merchant_b" else imported.terminals_a[0]
    other = imported.terminals_a[0] if role == "merchant_b" else imported.terminals_b[0]
    page = client.get(f"/terminals/{own}", headers=html)
    assert page.status_code == 200 and 'data-testid="traffic"' in page.text
    assert ('data-testid="traffic-upload-link"' in page.text) == (role in IMPORTERS)
    cross = client.get(f"/terminals/{other}", headers=html)
    assert cross.status_code == (404 if role.startswith("merchant") else 200)
    if role.startswith("merchant"):
        assert 'data-testid="traffic"' not in cross.text


def test_console_upload_refuses_a_form_without_its_csrf_token(client: TestClient, imported: Fleet) -> None:
    login(client, "agent")
    response = client.post("/traffic/upload", data={"csrf_token": "forged"}, files={"file": ("a.log", _log())},
                           headers={"accept": "text/html"})
    assert response.status_code == 403


def test_console_pages_send_anonymous_visitors_to_login(client: TestClient, imported: Fleet) -> None:
    for method, path in (("GET", "/traffic/upload"), ("POST", "/traffic/upload")):
        kwargs: dict[str, Any] = {"files": {"file": ("a.log", _log())}} if method == "POST" else {}
        response = client.request(method, path, follow_redirects=False, **kwargs)
        assert response.status_code == 303, (method, path)
        assert response.headers["location"].startswith("/login")
