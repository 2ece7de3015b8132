"""Every administration page and form against every role: users and tokens for admins, the rest for editors."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.authorization import (
    Form,
    Page,
    check_forms_answer_role,
    check_forms_send_anonymous_to_login,
    check_pages_answer_role,
    check_pages_send_anonymous_to_login,
)
from tests.conftest import PASSWORD, Fleet
from tests.core.test_authorization import seeded  # noqa: F401  (fixture)

ROLES = ["merchant", "agent", "risk", "technician", "admin"]
EDITORS = ("agent", "admin")
"""Who may change merchants and import files (the terminals feature's editors)."""


def _only(*roles: str, status: int = 200) -> dict[str, int]:
    """`status` for the given roles, 403 for the others."""
    return {r: status if r in roles else 403 for r in ROLES}


def _spare(fleet: Fleet) -> int:
    token: int = fleet.spare_token  # type: ignore[attr-defined]
    return token


def _csv(name: str, content: str) -> dict[str, Any]:
    return {"files": {"file": (name, content.encode(), "text/csv")}}


def _merchant_csv(_: Fleet) -> dict[str, Any]:
    return _csv("merchants.csv", f"name,legal_id,region\n新商户,91310000{uuid.uuid4().hex[:8].upper()}Z,上海\n")


def _terminal_csv(_: Fleet) -> dict[str, Any]:
    n = uuid.uuid4().int % 10**7
    return _csv("terminals.csv", f"serial_number,model,tid,mid,merchant_legal_id\nSN-ADM-{n:07d},Landi A8,7{n:07d},"
                                 f"898310000{n % 10**6:06d},91310000AAAA00001X\n")


PAGES: list[Page] = [
    ("users", "GET", lambda f: "/admin/users", _only("admin")),
    ("users filtered", "GET", lambda f: "/admin/users?role=merchant&active=1", _only("admin")),
    ("user", "GET", lambda f: "/admin/users/agent", _only("admin")),
    ("user unknown", "GET", lambda f: "/admin/users/nobody", {**_only("admin"), "admin": 404}),
    ("merchants", "GET", lambda f: "/admin/merchants", _only(*EDITORS)),
    ("merchant own", "GET", lambda f: f"/admin/merchants/{f.merchant_a}", _only(*EDITORS)),
    ("merchant other", "GET", lambda f: f"/admin/merchants/{f.merchant_b}", _only(*EDITORS)),
    ("import", "GET", lambda f: "/admin/import", _only(*EDITORS)),
    ("merchant template", "GET", lambda f: "/admin/import/merchants/template.csv", _only(*EDITORS)),
    ("terminal template", "GET", lambda f: "/admin/import/terminals/template.csv", _only(*EDITORS)),
]


def _fields(**fields: str) -> dict[str, Any]:
    return {"data": fields}


FORMS: list[Form] = [
    ("user create", "POST", lambda f: "/admin/users",
     lambda f: _fields(username=f"u{uuid.uuid4().hex[:6]}", role="agent", password=PASSWORD, password_again=PASSWORD),
     _only("admin", status=303)),
    ("user update", "POST", lambda f: "/admin/users/technician",
     lambda f: _fields(display_name="维修员", role="technician"), _only("admin", status=303)),
    ("user password", "POST", lambda f: "/admin/users/risk/password",
     lambda f: _fields(password=PASSWORD, password_again=PASSWORD), _only("admin", status=303)),
    ("user disable", "POST", lambda f: "/admin/users/technician/disable", lambda f: {}, _only("admin", status=303)),
    ("user enable", "POST", lambda f: "/admin/users/technician/enable", lambda f: {}, _only("admin", status=303)),
    ("user unlock", "POST", lambda f: "/admin/users/technician/unlock", lambda f: {}, _only("admin", status=303)),
    ("token create", "POST", lambda f: "/admin/users/agent/tokens", lambda f: _fields(name="对账脚本"),
     _only("admin")),
    ("token revoke", "POST", lambda f: f"/admin/users/agent/tokens/{_spare(f)}/revoke",
     lambda f: _fields(confirm="1"), _only("admin", status=303)),
    ("merchant update", "POST", lambda f: f"/admin/merchants/{f.merchant_a}",
     lambda f: _fields(name="甲商户", contact_name="周先生", contact_phone="021-5555 0101", region="上海"),
     _only(*EDITORS, status=303)),
    ("merchant import", "POST", lambda f: "/admin/import/merchants", _merchant_csv, _only(*EDITORS, status=303)),
    ("terminal import", "POST", lambda f: "/admin/import/terminals", _terminal_csv, _only(*EDITORS, status=303)),
]


@pytest.mark.parametrize("role", ROLES)
def test_every_admin_page_answers_each_role_as_designed(client: TestClient, seeded: Fleet,  # noqa: F811
                                                        role: str) -> None:
    check_pages_answer_role(client, seeded, role, PAGES)


def test_every_admin_page_sends_anonymous_visitors_to_login(client: TestClient, seeded: Fleet) -> None:  # noqa: F811
    check_pages_send_anonymous_to_login(client, seeded, PAGES)


@pytest.mark.parametrize("role", ROLES)
def test_every_admin_form_answers_each_role_as_designed(client: TestClient, seeded: Fleet,  # noqa: F811
                                                        role: str) -> None:
    check_forms_answer_role(client, seeded, role, FORMS)


def test_every_admin_form_sends_anonymous_visitors_to_login(client: TestClient, seeded: Fleet) -> None:  # noqa: F811
    check_forms_send_anonymous_to_login(client, seeded, FORMS)
