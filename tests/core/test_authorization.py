"""Every route against every role, including a merchant reaching for another merchant's records."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from posops.core import accounts
from posops.core.auth import BOOTSTRAP_ADMIN
from posops.core.config import Settings
from posops.core.db import Database
from tests.authorization import (
    Form,
    Page,
    Route,
    check_forms_answer_role,
    check_forms_send_anonymous_to_login,
    check_pages_answer_role,
    check_pages_send_anonymous_to_login,
    check_routes_answer_role,
    check_routes_refuse_anonymous,
)
from tests.conftest import PASSWORD, Fleet
from tests.helpers import login
from tests.terminals.flows import CONTACT, FEE_PLAN, pdf
from tests.terminals.seed import Seeded, seed_lifecycle

ROLES = ["merchant", "agent", "risk", "technician", "admin"]
EDITORS = {"agent", "admin"}
READERS = {"merchant", "agent", "risk", "admin"}
"""Who reads reactivation requests and onboarding applications (technicians do not)."""


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


def _s(fleet: Fleet) -> Seeded:
    seeded: Seeded = fleet.seeded  # type: ignore[attr-defined]
    return seeded


def _none(_: Fleet) -> dict[str, Any]:
    return {}


def _only(*roles: str, status: int = 200) -> dict[str, int]:
    """`status` for the given roles, 403 for the others."""
    return {r: status if r in roles else 403 for r in ROLES}


def _app(fleet: Fleet, state: str, rest: str = "") -> str:
    return f"/api/v1/onboarding/applications/{_s(fleet).apps[state]}{rest}"


def _payment() -> dict[str, Any]:
    return {"kind": "payment", "amount_fen": 100, "voucher": f"TX-{uuid.uuid4().hex[:10]}",
            "paid_on": date.today().isoformat()}


@pytest.fixture
def seeded(db: Database, fleet: Fleet, settings: Settings) -> Fleet:
    """The fleet with lifecycle records in every state the routes act on (ids on `fleet.seeded`).

    The agent also has a spare API token (its id on `fleet.spare_token`) for the routes that revoke one.
    """
    fleet.seeded = seed_lifecycle(db, fleet, settings.var_dir)  # type: ignore[attr-defined]
    fleet.spare_token = accounts.create_token(db, BOOTSTRAP_ADMIN, "agent", "spare").id  # type: ignore[attr-defined]
    return fleet


# (name, method, path, request kwargs, expected status per role)
ROUTES: list[Route] = [
    ("me", "GET", lambda f: "/api/v1/me", lambda f: {}, {r: 200 for r in ROLES}),
    ("users list", "GET", lambda f: "/api/v1/users", lambda f: {},
     {**{r: 403 for r in ROLES}, "admin": 200}),
    ("users create", "POST", lambda f: "/api/v1/users",
     lambda f: {"json": {"username": f"u{uuid.uuid4().hex[:6]}", "password": PASSWORD, "role": "agent"}},
     {**{r: 403 for r in ROLES}, "admin": 201}),
    ("tokens create", "POST", lambda f: "/api/v1/users/agent/tokens", lambda f: {"json": {"name": "ci"}},
     {**{r: 403 for r in ROLES}, "admin": 201}),
    ("user update", "PATCH", lambda f: "/api/v1/users/technician", lambda f: {"json": {"display_name": "维修员"}},
     _only("admin")),
    ("user password", "POST", lambda f: "/api/v1/users/risk/password", lambda f: {"json": {"password": PASSWORD}},
     _only("admin")),
    ("tokens list", "GET", lambda f: "/api/v1/users/agent/tokens", lambda f: {}, _only("admin")),
    ("user unlock", "POST", lambda f: "/api/v1/users/risk/unlock", lambda f: {}, _only("admin")),
    ("token revoke", "DELETE", lambda f: f"/api/v1/users/agent/tokens/{f.spare_token}",  # type: ignore[attr-defined]
     lambda f: {}, _only("admin")),
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
    *[(name, method, path, kwargs, expected) for name, method, path, kwargs, expected in (
        # lifecycle
        ("lifecycle own", "GET", lambda f: f"/api/v1/terminals/{_s(f).t_active}/lifecycle", _none,
         {r: 200 for r in ROLES}),
        ("lifecycle other", "GET", lambda f: f"/api/v1/terminals/{f.terminals_b[0]}/lifecycle", _none,
         {**{r: 200 for r in ROLES}, "merchant": 404}),
        ("timeline own", "GET", lambda f: f"/api/v1/terminals/{f.terminals_a[2]}/timeline", _none,
         {r: 200 for r in ROLES}),
        ("timeline other", "GET", lambda f: f"/api/v1/terminals/{f.terminals_b[0]}/timeline", _none,
         {**{r: 200 for r in ROLES}, "merchant": 404}),
        ("screen notice", "GET", lambda f: f"/api/v1/terminals/{f.terminals_a[2]}/screen-notice", _none,
         {r: 200 for r in ROLES}),
        ("notices", "GET", lambda f: "/api/v1/notices", _none, {r: 200 for r in ROLES}),
        ("suspend", "POST", lambda f: f"/api/v1/terminals/{_s(f).t_active}/suspend",
         lambda f: {"json": {"reason": "arrears", "note": "欠费"}}, _only("agent", "risk")),
        ("activate", "POST", lambda f: f"/api/v1/terminals/{_s(f).t_onboarding}/activate", lambda f: {"json": {}},
         _only("agent", "admin")),
        ("decommission", "POST", lambda f: f"/api/v1/terminals/{_s(f).t_decommission}/decommission",
         lambda f: {"json": {"note": "退机", "confirm_serial_number": "SN-SEED-0004"}}, _only("agent", "admin")),
        ("fee plan own", "GET", lambda f: f"/api/v1/merchants/{f.merchant_a}/fee-plan", _none,
         {r: 200 for r in ROLES}),
        ("fee plan other", "GET", lambda f: f"/api/v1/merchants/{f.merchant_b}/fee-plan", _none,
         {**{r: 200 for r in ROLES}, "merchant": 404}),
        ("fee plan set", "PUT", lambda f: f"/api/v1/merchants/{f.merchant_a}/fee-plan",
         lambda f: {"json": FEE_PLAN}, _only("agent", "admin")),
        # reactivation
        ("request submit", "POST", lambda f: f"/api/v1/terminals/{_s(f).t_dormant}/reactivation-requests",
         lambda f: {"json": {"note": "复机"}}, _only("merchant", "agent", status=201)),
        ("request submit other merchant", "POST",
         lambda f: f"/api/v1/terminals/{_s(f).t_b_dormant}/reactivation-requests", lambda f: {"json": {}},
         {**_only("agent", status=201), "merchant": 404}),
        ("suspension reason", "POST", lambda f: f"/api/v1/terminals/{_s(f).t_dormant}/suspension-reason",
         lambda f: {"json": {"reason": "policy", "note": "新规"}}, _only("agent", "risk")),
        ("requests list", "GET", lambda f: "/api/v1/reactivation-requests", _none, _only(*READERS)),
        ("request own", "GET", lambda f: f"/api/v1/reactivation-requests/{_s(f).r_payable}", _none,
         _only(*READERS)),
        ("request other", "GET", lambda f: f"/api/v1/reactivation-requests/{_s(f).r_other_merchant}", _none,
         {**_only(*READERS), "merchant": 404}),
        ("request evidence", "POST", lambda f: f"/api/v1/reactivation-requests/{_s(f).r_payable}/evidence",
         lambda f: {"json": _payment()}, _only("merchant", "agent")),
        ("request evidence other merchant", "POST",
         lambda f: f"/api/v1/reactivation-requests/{_s(f).r_other_merchant}/evidence",
         lambda f: {"json": _payment()}, {**_only("agent"), "merchant": 404}),
        ("request document upload", "POST",
         lambda f: f"/api/v1/reactivation-requests/{_s(f).r_payable}/documents",
         lambda f: {"data": {"name": "缴费凭证"}, "files": pdf()}, _only("merchant", "agent", "risk", status=201)),
        ("request document download", "GET",
         lambda f: f"/api/v1/reactivation-requests/{_s(f).r_payable}/documents/{_s(f).document}", _none,
         _only(*READERS)),
        ("request reject", "POST", lambda f: f"/api/v1/reactivation-requests/{_s(f).r_rejectable}/reject",
         lambda f: {"json": {"reason": "原因未消除"}}, _only("agent")),
        ("request approve", "POST", lambda f: f"/api/v1/reactivation-requests/{_s(f).r_approvable}/approve",
         _none, _only("agent")),
        ("request resubmit", "POST",
         lambda f: f"/api/v1/reactivation-requests/{_s(f).r_resubmittable}/resubmit",
         lambda f: {"json": {"note": "已验收"}}, _only("merchant", "agent")),
        # onboarding
        ("application create", "POST", lambda f: "/api/v1/onboarding/applications",
         lambda f: {"json": {"applicant_type": "business", "terminal_model": "PAX A920", **CONTACT}},
         {**_only("merchant", status=201), "agent": 422}),
        ("application create walk-in", "POST", lambda f: "/api/v1/onboarding/applications",
         lambda f: {"json": {"applicant_type": "business", "terminal_model": "PAX A920", **CONTACT, "name": "新店",
                             "legal_id": "91350100M000100Y43"}},
         {**_only("agent", status=201), "merchant": 422}),
        ("applications list", "GET", lambda f: "/api/v1/onboarding/applications", _none, _only(*READERS)),
        ("application own", "GET", lambda f: _app(f, "draft"), _none, _only(*READERS)),
        ("application other", "GET", lambda f: f"/api/v1/onboarding/applications/{_s(f).app_other_merchant}",
         _none, {**_only(*READERS), "merchant": 404}),
        ("application update", "PATCH", lambda f: _app(f, "draft"), lambda f: {"json": {"contact_name": "钱女士"}},
         _only("merchant", "agent")),
        ("material upload", "PUT", lambda f: _app(f, "draft", "/materials/bank_account"),
         lambda f: {"files": pdf()}, _only("merchant", "agent")),
        ("material file", "GET", lambda f: _app(f, "draft", "/materials/application_form/file"), _none,
         _only(*READERS)),
        ("application submit", "POST", lambda f: _app(f, "ready", "/submit"), _none, _only("merchant", "agent")),
        ("application start review", "POST", lambda f: _app(f, "submitted", "/start-review"), _none,
         _only("agent")),
        ("material verify", "POST", lambda f: _app(f, "reviewing", "/materials/application_form/verify"), _none,
         _only("agent")),
        ("material reject", "POST", lambda f: _app(f, "reviewing", "/materials/business_licence/reject"),
         lambda f: {"json": {"reason": "照片模糊"}}, _only("agent")),
        ("application approve", "POST", lambda f: _app(f, "verified", "/approve"), _none, _only("agent")),
        ("application reject", "POST", lambda f: _app(f, "rejectable", "/reject"),
         lambda f: {"json": {"reason": "经营场所证明过期"}}, _only("agent")),
        ("application resubmit", "POST", lambda f: _app(f, "rejected", "/resubmit"), _none,
         _only("merchant", "agent")),
        ("application contract", "POST", lambda f: _app(f, "approved", "/contract"),
         lambda f: {"json": {"contract_ref": "HT-1", "fee_plan": FEE_PLAN}}, _only("agent")),
        ("application installation", "POST", lambda f: _app(f, "contracted", "/installation"),
         lambda f: {"json": {"devices": [{"serial_number": "SN-INST-0001", "model": "PAX A920", "tid": "77100001",
                                          "mid": "898310000771001"}]}}, _only("agent")),
        ("application training", "POST", lambda f: _app(f, "installing", "/training"),
         lambda f: {"json": {"installation_verified": True}}, _only("agent")),
        ("application go-live", "POST", lambda f: _app(f, "training", "/go-live"),
         lambda f: {"json": {"training_done": True}}, _only("agent")),
    )],
]


@pytest.mark.parametrize("role", ROLES)
def test_every_api_route_answers_each_role_as_designed(client: TestClient, seeded: Fleet, role: str) -> None:
    check_routes_answer_role(client, seeded, role, ROUTES)


def test_anonymous_callers_get_401_on_every_api_route(client: TestClient, seeded: Fleet) -> None:
    check_routes_refuse_anonymous(client, seeded, ROUTES)


def test_a_wrong_bearer_token_is_401_not_anonymous(client: TestClient, fleet: Fleet) -> None:
    response = client.get("/api/v1/terminals", headers={"Authorization": "Bearer pos_not-a-real-token"})
    assert response.status_code == 401
    assert response.json()["detail"]["code"] == "error.unauthorized.bad_token"
    assert "invalid" in response.json()["detail"]["message"]["en"]


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


@pytest.mark.parametrize("role", ROLES)
def test_console_pages_per_role(client: TestClient, fleet: Fleet, role: str) -> None:
    login(client, role)
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


# console pages every role opens (GET); the forms that post are in FORMS below
PAGES: list[Page] = [
    ("terminals", "GET", lambda f: "/terminals", dict.fromkeys(ROLES, 200)),
    ("terminal own", "GET", lambda f: f"/terminals/{f.terminals_a[0]}", dict.fromkeys(ROLES, 200)),
    ("terminal other", "GET", lambda f: f"/terminals/{f.terminals_b[0]}",
     {**dict.fromkeys(ROLES, 200), "merchant": 404}),
    ("applications", "GET", lambda f: "/onboarding", _only(*READERS)),
    ("application form", "GET", lambda f: "/onboarding/new", _only("merchant", "agent")),
    ("application own", "GET", lambda f: f"/onboarding/{_s(f).apps['draft']}", _only(*READERS)),
    ("application other", "GET", lambda f: f"/onboarding/{_s(f).app_other_merchant}",
     {**_only(*READERS), "merchant": 404}),
    ("application form to print", "GET", lambda f: f"/onboarding/{_s(f).apps['draft']}/application-form",
     _only(*READERS)),
    ("application form to print, other", "GET",
     lambda f: f"/onboarding/{_s(f).app_other_merchant}/application-form", {**_only(*READERS), "merchant": 404}),
    ("reactivation requests", "GET", lambda f: "/reactivation-requests", _only(*READERS)),
    ("reactivation request own", "GET", lambda f: f"/reactivation-requests/{_s(f).r_payable}", _only(*READERS)),
    ("reactivation request other", "GET", lambda f: f"/reactivation-requests/{_s(f).r_other_merchant}",
     {**_only(*READERS), "merchant": 404}),
    ("diagnosis form", "GET", lambda f: "/diagnoses/new", dict.fromkeys(ROLES, 200)),
    ("traffic upload form", "GET", lambda f: "/traffic/upload", _only("agent", "technician", "admin")),
    ("incidents", "GET", lambda f: "/incidents", dict.fromkeys(ROLES, 200)),
]


@pytest.mark.parametrize("role", ROLES)
def test_every_console_page_answers_each_role_as_designed(client: TestClient, seeded: Fleet, role: str) -> None:
    check_pages_answer_role(client, seeded, role, PAGES)


def test_every_console_page_sends_anonymous_visitors_to_login(client: TestClient, seeded: Fleet) -> None:
    check_pages_send_anonymous_to_login(client, seeded, PAGES)


def _fields(**fields: str) -> dict[str, Any]:
    return {"data": fields}


def _page_payment() -> dict[str, Any]:
    return _fields(kind="payment", amount="1.00", voucher=f"TX-{uuid.uuid4().hex[:10]}",
                   paid_on=date.today().isoformat())


def _request_form(fleet: Fleet, request: str, action: str) -> str:
    return f"/reactivation-requests/{getattr(_s(fleet), request)}/{action}"


def _application_form(fleet: Fleet, state: str, rest: str) -> str:
    return f"/onboarding/{_s(fleet).apps[state]}{rest}"


# console forms that post, with a valid CSRF token and body, on records in states where the role decides
FORMS: list[Form] = [
    # terminals
    ("suspend", "POST", lambda f: f"/terminals/{_s(f).t_active}/suspend",
     lambda f: _fields(reason="arrears", note="欠费"), _only("agent", "risk", status=303)),
    ("activate", "POST", lambda f: f"/terminals/{_s(f).t_onboarding}/activate", _none,
     _only("agent", "admin", status=303)),
    ("decommission", "POST", lambda f: f"/terminals/{_s(f).t_decommission}/decommission",
     lambda f: _fields(note="退机", confirm_serial_number="SN-SEED-0004"), _only("agent", "admin", status=303)),
    # reactivation
    ("request submit", "POST", lambda f: f"/terminals/{_s(f).t_dormant}/reactivation-requests",
     lambda f: _fields(note="复机"), _only("merchant", "agent", status=303)),
    ("request submit other merchant", "POST", lambda f: f"/terminals/{_s(f).t_b_dormant}/reactivation-requests",
     lambda f: _fields(note="复机"), {**_only("agent", status=303), "merchant": 404}),
    ("suspension reason", "POST", lambda f: f"/terminals/{_s(f).t_dormant}/suspension-reason",
     lambda f: _fields(reason="policy", note="新规"), _only("agent", "risk", status=303)),
    ("request evidence", "POST", lambda f: _request_form(f, "r_payable", "evidence"), lambda f: _page_payment(),
     _only("merchant", "agent", status=303)),
    ("request evidence other merchant", "POST", lambda f: _request_form(f, "r_other_merchant", "evidence"),
     lambda f: _page_payment(), {**_only("agent", status=303), "merchant": 404}),
    ("request document upload", "POST", lambda f: _request_form(f, "r_payable", "documents"),
     lambda f: {"data": {"name": "缴费凭证"}, "files": pdf()}, _only("merchant", "agent", "risk", status=303)),
    ("request fee plan", "POST", lambda f: _request_form(f, "r_payable", "fee-plan"),
     lambda f: _fields(monthly_fee="30", monthly_data_fee="10", daily_penalty_bp="5", grace_days="5"),
     _only("agent", "admin", status=303)),
    ("request reject", "POST", lambda f: _request_form(f, "r_rejectable", "reject"),
     lambda f: _fields(reason="原因未消除"), _only("agent", status=303)),
    ("request resubmit", "POST", lambda f: _request_form(f, "r_resubmittable", "resubmit"),
     lambda f: _fields(note="已验收"), _only("merchant", "agent", status=303)),
    ("request approve", "POST", lambda f: _request_form(f, "r_approvable", "approve"), _none,
     _only("agent", status=303)),
    # onboarding
    ("application create", "POST", lambda f: "/onboarding/new",
     lambda f: _fields(applicant_type="business", terminal_model="PAX A920", terminal_count="2", **CONTACT),
     {**_only("merchant", status=303), "agent": 422}),
    ("application create walk-in", "POST", lambda f: "/onboarding/new",
     lambda f: _fields(applicant_type="business", terminal_model="PAX A920", **CONTACT, name="新店",
                       legal_id="91350100M000100Y43"), {**_only("agent", status=303), "merchant": 422}),
    ("material upload", "POST", lambda f: _application_form(f, "draft", "/materials"),
     lambda f: {"files": {"file_bank_account": pdf()["file"]}}, _only("merchant", "agent", status=303)),
    ("material upload other merchant", "POST",
     lambda f: f"/onboarding/{_s(f).app_other_merchant}/materials",
     lambda f: {"files": {"file_bank_account": pdf()["file"]}}, {**_only("agent", status=303), "merchant": 404}),
    ("material verify", "POST", lambda f: _application_form(f, "reviewing", "/materials/application_form/verify"),
     _none, _only("agent", status=303)),
    ("application submit", "POST", lambda f: _application_form(f, "ready", "/steps/submit"), _none,
     _only("merchant", "agent", status=303)),
    ("application start review", "POST", lambda f: _application_form(f, "submitted", "/steps/start_review"), _none,
     _only("agent", status=303)),
    # last, as it ends the console session
    ("sign out", "POST", lambda f: "/logout", _none, dict.fromkeys(ROLES, 303)),
]


@pytest.mark.parametrize("role", ROLES)
def test_every_console_form_answers_each_role_as_designed(client: TestClient, seeded: Fleet, role: str) -> None:
    check_forms_answer_role(client, seeded, role, FORMS)


def test_every_console_form_sends_anonymous_visitors_to_login(client: TestClient, seeded: Fleet) -> None:
    check_forms_send_anonymous_to_login(client, seeded, FORMS[:-1])  # signing out is open to anyone
