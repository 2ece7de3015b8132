"""The users API: change a user, set a password, list and revoke tokens; bad input answers 4xx naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from posops.core import accounts
from posops.core.config import Settings
from posops.core.db import Database
from tests.conftest import PASSWORD, Fleet
from tests.helpers import error_fields
from tests.terminals.flows import ok


def _patch(client: TestClient, fleet: Fleet, username: str, body: dict[str, Any]) -> Any:
    return client.patch(f"/api/v1/users/{username}", json=body, headers=fleet.headers("admin"))


def test_an_admin_changes_a_users_role_name_and_access(client: TestClient, fleet: Fleet) -> None:
    shop = ok(_patch(client, fleet, "technician", {"role": "merchant", "merchant_id": fleet.merchant_b,
                                                   "display_name": "乙商户收银员"}))
    assert (shop["role"], shop["merchant_id"], shop["merchant_name"], shop["display_name"]) == \
        ("merchant", fleet.merchant_b, "乙商户", "乙商户收银员")
    assert "password_hash" not in shop
    me = ok(client.get("/api/v1/me", headers=fleet.headers("technician")))
    assert me == {"username": "technician", "role": "merchant", "merchant_id": fleet.merchant_b}

    staff = ok(_patch(client, fleet, "technician", {"role": "risk"}))
    assert (staff["role"], staff["merchant_id"]) == ("risk", None)
    assert ok(_patch(client, fleet, "technician", {"active": False}))["active"] is False
    assert client.get("/api/v1/me", headers=fleet.headers("technician")).status_code == 401
    assert ok(_patch(client, fleet, "technician", {"active": True}))["active"] is True
    assert client.get("/api/v1/me", headers=fleet.headers("technician")).status_code == 200


@pytest.mark.parametrize(("body", "field"), [
    ({"role": "merchant"}, "merchant_id"),
    ({"merchant_id": None}, "merchant_id"),
    ({"merchant_id": 12345}, "merchant_id"),
    ({"role": "boss"}, "role"),
    ({"role": "system"}, "role"),
    ({"active": "perhaps"}, "active"),
    ({"display_name": "名" * 129}, "display_name"),
    ({"password": "sneaky-change"}, "password"),
])
def test_a_bad_change_is_422_naming_its_field(client: TestClient, fleet: Fleet, body: dict[str, Any],
                                              field: str) -> None:
    username = "merchant" if "merchant_id" in body and body["merchant_id"] is None else "agent"
    response = _patch(client, fleet, username, body)
    assert response.status_code == 422, response.text
    assert field in error_fields(response)
    assert ok(client.get("/api/v1/users", headers=fleet.headers("admin")))  # nothing broke


def test_the_last_admin_is_409_and_an_unknown_user_404(client: TestClient, fleet: Fleet) -> None:
    assert _patch(client, fleet, "admin", {"active": False}).status_code == 409
    assert _patch(client, fleet, "admin", {"role": "agent"}).status_code == 409
    assert client.get("/api/v1/me", headers=fleet.headers("admin")).status_code == 200
    assert _patch(client, fleet, "nobody", {"active": False}).status_code == 404


def test_an_admin_sets_a_password_and_a_short_one_is_refused(client: TestClient, fleet: Fleet, db: Database,
                                                             settings: Settings) -> None:
    short = client.post("/api/v1/users/risk/password", json={"password": "short"}, headers=fleet.headers("admin"))
    assert short.status_code == 422 and error_fields(short) == ["password"]
    missing = client.post("/api/v1/users/risk/password", json={}, headers=fleet.headers("admin"))
    assert missing.status_code == 422 and error_fields(missing) == ["password"]
    changed = ok(client.post("/api/v1/users/risk/password", json={"password": "brand-new-pass-7"},
                             headers=fleet.headers("admin")))
    assert changed["username"] == "risk"
    assert accounts.login(db, settings, "risk", "brand-new-pass-7", "10.0.0.1") is not None
    assert accounts.login(db, settings, "risk", PASSWORD, "10.0.0.1") is None


def test_tokens_are_listed_without_their_values_and_revoked_with_delete(client: TestClient, fleet: Fleet) -> None:
    admin = fleet.headers("admin")
    issued = ok(client.post("/api/v1/users/agent/tokens", json={"name": "reconciliation"}, headers=admin), 201)
    listed = ok_list(client.get("/api/v1/users/agent/tokens", headers=admin))
    assert [t["name"] for t in listed] == ["reconciliation", "test"], "newest first"
    assert set(listed[0]) == {"id", "name", "prefix", "created_at", "last_used_at", "revoked_at", "expires_at",
                              "active"}
    assert listed[0]["prefix"] == issued["token"][:8] and issued["token"] not in str(listed)

    revoked = ok(client.delete(f"/api/v1/users/agent/tokens/{issued['id']}", headers=admin))
    assert revoked["active"] is False and revoked["revoked_at"]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {issued['token']}"}).status_code == 401
    assert ok(client.delete(f"/api/v1/users/agent/tokens/{issued['id']}", headers=admin))["revoked_at"] == \
        revoked["revoked_at"], "revoking again changes nothing"
    assert client.delete(f"/api/v1/users/risk/tokens/{issued['id']}", headers=admin).status_code == 404
    bad_id = client.delete("/api/v1/users/agent/tokens/first", headers=admin)
    assert bad_id.status_code == 422 and error_fields(bad_id) == ["token_id"]
    assert client.get("/api/v1/users/nobody/tokens", headers=admin).status_code == 404


def ok_list(response: Any) -> list[dict[str, Any]]:
    """Assert a 200 and return the JSON list."""
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body
