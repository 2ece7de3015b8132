"""Every route against every role, including a merchant reaching for another merchant's records."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import PASSWORD, Fleet

ROLES = ["merchant", "agent", "risk", "technician", "admin"]
EDITORS = {"agent", "admin"}


def _terminal_body(fleet: Fleet) -> dict[str, Any]:
    n = uuid.uuid4().int % 10**7
    return {"serial_number": f"SN-NEW-{n:07d}", "model": "Landi A8", "tid": f"7{n:07d}",
            "mid": f"898310000{n % 10**6:06d}", "merchant_id": fleet.merchant_a}


def _merchant_csv(_: Fleet) -> bytes:
    n = uuid.uuid4().hex[:8].upper()
    return f"name,legal_id,region\n新商户,91310000{n}Z,上海\n".encode()


def _terminal_csv(fleet: Fleet) -> bytes:
    body = _terminal_body(fleet)
    return (f"serial_number,model,tid,mid,merchant_id\n{body['serial_number']},Landi A8,{body['tid']},"
            f"{body['mid']},{fleet.merchant_a}\n").encode()


# (name, method, path, request kwargs, expected status per role)
ROUTES: list[tuple[str, str, Callable[[Fleet], str], Callable[[Fleet], dict[str, Any]], dict[str, int]]] = [
    ("me", "GET", lambda f: "/api/v1/me", lambda f: {}, {r: 200 for r in ROLES}),
    ("users list", "GET", lambda f: "/api/v1/users", lambda f: {},
     {**{r: 403 for r in ROLES}, "admin": 200}),
    ("users create", "POST", lambda f: "/api/v1/users",
     lambda f: {"json": {"username": f"u{uuid.uuid4().hex[:6]}", "password": PASSWORD, "role": "agent"}},
     {**{r: 403 for r in ROLES}, "admin": 201}),
    ("tokens create", "POST", lambda f: "/api/v1/users/agent/tokens", lambda f: {"json": {"name": "ci"}},
     {**{r: 403 for r in ROLES}, "admin": 201}),
    ("merchants list", "GET", lambda f: "/api/v1/merchants", lambda f: {}, {r: 200 for r in ROLES}),
    ("merchant own", "GET", lambda f: f"/api/v1/merchants/{f.merchant_a}", lambda f: {}, {r: 200 for r in ROLES}),
    ("merchant other", "GET", lambda f: f"/api/v1/merchants/{f.merchant_b}", lambda f: {},
     {**{r: 200 for r in ROLES}, "merchant": 404}),
    ("merchant create", "POST", lambda f: "/api/v1/merchants",
     lambda f: {"json": {"name": "新店", "legal_id": f"91310000{uuid.uuid4().hex[:8].upper()}Q"}},
     {r: 201 if r in EDITORS else 403 for r in ROLES}),
    ("merchant update", "PATCH", lambda f: f"/api/v1/merchants/{f.merchant_a}",
     lambda f: {"json": {"contact_name": "周先生"}}, {r: 200 if r in EDITORS else 403 for r in ROLES}),
    ("merchant import", "POST", lambda f: "/api/v1/merchants/import",
     lambda f: {"content": _merchant_csv(f), "headers": {"content-type": "text/csv"}},
     {r: 201 if r in EDITORS else 403 for r in ROLES}),
    ("terminals list", "GET", lambda f: "/api/v1/terminals", lambda f: {}, {r: 200 for r in ROLES}),
    ("terminal own", "GET", lambda f: f"/api/v1/terminals/{f.terminals_a[0]}", lambda f: {},
     {r: 200 for r in ROLES}),
    ("terminal other", "GET", lambda f: f"/api/v1/terminals/{f.terminals_b[0]}", lambda f: {},
     {**{r: 200 for r in ROLES}, "merchant": 404}),
    ("terminal create", "POST", lambda f: "/api/v1/terminals", lambda f: {"json": _terminal_body(f)},
     {r: 201 if r in EDITORS else 403 for r in ROLES}),
    ("terminal update", "PATCH", lambda f: f"/api/v1/terminals/{f.terminals_a[0]}",
     lambda f: {"json": {"app_version": "3.3.0"}}, {r: 200 if r in EDITORS else 403 for r in ROLES}),
    ("terminal import", "POST", lambda f: "/api/v1/terminals/import",
     lambda f: {"content": _terminal_csv(f), "headers": {"content-type": "text/csv"}},
     {r: 201 if r in EDITORS else 403 for r in ROLES}),
]


@pytest.mark.parametrize("role", ROLES)
def test_every_api_route_answers_each_role_as_designed(client: TestClient, fleet: Fleet, role: str) -> None:
    outcomes = {}
    for name, method, path, kwargs, expected in ROUTES:
        extra = kwargs(fleet)
        headers = {**fleet.headers(role), **extra.pop("headers", {})}
        response = client.request(method, path(fleet), headers=headers, **extra)
        outcomes[name] = (response.status_code, expected[role])
    wrong = {name: got for name, got in outcomes.items() if got[0] != got[1]}
    assert not wrong, f"(got, expected) per route for {role}: {wrong}"


def test_anonymous_callers_get_401_on_every_api_route(client: TestClient, fleet: Fleet) -> None:
    for _, method, path_of, kwargs, _ in ROUTES:
        response = client.request(method, path_of(fleet), **kwargs(fleet))
        assert response.status_code == 401, (method, path_of(fleet), response.status_code)
        assert response.headers.get("www-authenticate") == "Bearer"


def test_a_wrong_bearer_token_is_401_not_anonymous(client: TestClient, fleet: Fleet) -> None:
    response = client.get("/api/v1/terminals", headers={"Authorization": "Bearer pos_not-a-real-token"})
    assert response.status_code == 401
    assert "invalid" in response.json()["detail"]


def test_merchant_lists_only_its_own_terminals_and_merchant(client: TestClient, fleet: Fleet) -> None:
    terminals = client.get("/api/v1/terminals", headers=fleet.headers("merchant")).json()
    assert {t["id"] for t in terminals["items"]} == set(fleet.terminals_a)
    assert terminals["total"] == len(fleet.terminals_a)
    filtered = client.get(f"/api/v1/terminals?merchant_id={fleet.merchant_b}", headers=fleet.headers("merchant"))
    assert filtered.json()["items"] == []
    merchants = client.get("/api/v1/merchants", headers=fleet.headers("merchant")).json()
    assert [m["id"] for m in merchants["items"]] == [fleet.merchant_a]
    other = client.get("/api/v1/terminals", headers=fleet.headers("merchant_b")).json()
    assert {t["id"] for t in other["items"]} == set(fleet.terminals_b)


def test_bootstrap_admin_token_acts_as_admin(client: TestClient, fleet: Fleet) -> None:
    headers = {"Authorization": "Bearer test-bootstrap-admin-token"}
    assert client.get("/api/v1/me", headers=headers).json()["role"] == "admin"
    assert client.get("/api/v1/users", headers=headers).status_code == 200


def _login(client: TestClient, username: str) -> None:
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303


@pytest.mark.parametrize("role", ROLES)
def test_console_pages_per_role(client: TestClient, fleet: Fleet, role: str) -> None:
    _login(client, role)
    assert client.get("/terminals").status_code == 200
    assert client.get(f"/terminals/{fleet.terminals_a[0]}").status_code == 200
    other = client.get(f"/terminals/{fleet.terminals_b[0]}", headers={"accept": "text/html"})
    assert other.status_code == (404 if role == "merchant" else 200)
    if role == "merchant":
        assert "SN-TEST-0003" not in other.text


def test_console_pages_send_anonymous_visitors_to_login(client: TestClient, fleet: Fleet) -> None:
    for path in ("/terminals", f"/terminals/{fleet.terminals_a[0]}", "/"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login")
