"""Console sessions and API tokens: a fresh session at login, ended by a password change or a disable, token expiry."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient

from posops.core import accounts
from posops.core.config import Settings
from posops.core.db import Database, utcnow
from tests.conftest import Fleet
from tests.helpers import csrf_token, login

SESSION = "posops_session"


def _signed_out(client: TestClient) -> bool:
    page = client.get("/terminals", follow_redirects=False)
    return page.status_code == 303 and page.headers["location"].startswith("/login")


def test_login_issues_a_fresh_session_cookie(client: TestClient, fleet: Fleet) -> None:
    client.get("/login")
    before = client.cookies.get(SESSION)
    assert before
    login(client, "agent")
    after = client.cookies.get(SESSION)
    assert after and after != before
    planted = TestClient(client.app, cookies={SESSION: before})
    assert _signed_out(planted), "the cookie from before the login does not carry the login"


def test_a_password_change_ends_the_users_other_sessions(client: TestClient, fleet: Fleet, db: Database,
                                                         settings: Settings) -> None:
    login(client, "agent")
    assert not _signed_out(client)
    accounts.set_password(db, fleet.users["admin"], "agent", "brand-new-pass-7")
    assert _signed_out(client), "the old cookie goes to the login page"
    assert client.get("/api/v1/me", headers=fleet.headers("agent")).status_code == 200, "tokens are not sessions"


def test_an_admin_changing_their_own_password_keeps_their_session(client: TestClient, fleet: Fleet) -> None:
    login(client, "admin")
    page = client.get("/admin/users/admin").text
    done = client.post("/admin/users/admin/password", data={"csrf_token": csrf_token(page),
                                                            "password": "admin-new-pass-1",
                                                            "password_again": "admin-new-pass-1"},
                       follow_redirects=False)
    assert done.status_code == 303
    assert not _signed_out(client)


def test_re_enabling_a_user_does_not_revive_an_old_session(client: TestClient, fleet: Fleet, db: Database) -> None:
    admin = fleet.users["admin"]
    login(client, "agent")
    old_cookie = client.cookies.get(SESSION)
    accounts.update_user(db, admin, "agent", active=False)
    accounts.update_user(db, admin, "agent", active=True)
    replay = TestClient(client.app, cookies={SESSION: old_cookie or ""})
    assert _signed_out(replay)
    login(client, "agent")
    assert not _signed_out(client), "signing in again works"


def test_an_expired_token_is_refused_like_a_revoked_one(client: TestClient, fleet: Fleet, db: Database,
                                                        settings: Settings) -> None:
    admin = fleet.users["admin"]
    old = accounts.create_token(db, admin, "risk", "last quarter", days=30, now=utcnow() - timedelta(days=31))
    fresh = accounts.create_token(db, admin, "risk", "this quarter", days=30)
    assert fresh.expires_at is not None and fresh.expires_at - utcnow() > timedelta(days=29)
    expired = client.get("/api/v1/me", headers={"Authorization": f"Bearer {old.token}"})
    assert expired.status_code == 401 and expired.json()["detail"]["code"] == "error.unauthorized.bad_token"
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {fresh.token}"}).status_code == 200
    listed = {t.id: t for t in accounts.list_tokens(db, admin, "risk")}
    assert listed[old.id].active is False and listed[old.id].revoked_at is None
    assert listed[fresh.id].active is True and listed[fresh.id].expires_at == fresh.expires_at
    day_later = fresh.expires_at + timedelta(seconds=1)
    assert accounts.principal_for_token(db, settings, fresh.token, now=day_later) is None


def test_a_tokens_lifetime_comes_from_the_request_or_the_setting(client: TestClient, fleet: Fleet) -> None:
    admin = fleet.headers("admin")
    short = client.post("/api/v1/users/agent/tokens", json={"name": "a week", "days": 7}, headers=admin)
    assert short.status_code == 201
    default = client.post("/api/v1/users/agent/tokens", json={"name": "default"}, headers=admin).json()
    listed = {t["id"]: t for t in client.get("/api/v1/users/agent/tokens", headers=admin).json()}
    created = listed[short.json()["id"]]
    lifetime = datetime.fromisoformat(created["expires_at"]) - datetime.fromisoformat(created["created_at"])
    assert timedelta(days=6, hours=23) < lifetime <= timedelta(days=7, minutes=1)
    lifetime = datetime.fromisoformat(listed[default["id"]]["expires_at"]) - \
        datetime.fromisoformat(listed[default["id"]]["created_at"])
    assert lifetime > timedelta(days=89)
    refused = client.post("/api/v1/users/agent/tokens", json={"days": 0}, headers=admin)
    assert refused.status_code == 422


def test_the_tokens_page_shows_expiry_and_an_expired_state(client: TestClient, fleet: Fleet, db: Database) -> None:
    accounts.create_token(db, fleet.users["admin"], "risk", "old", days=1, now=utcnow() - timedelta(days=2))
    login(client, "admin")
    page = client.get("/admin/users/risk").text
    assert 'data-testid="token-expired"' in page and "已过期" in page
    assert page.count('data-testid="token-expires"') == 2 and "永久有效" in page, "the fixture's token never expires"


def test_security_headers_on_console_pages_the_api_and_the_docs(client: TestClient, fleet: Fleet) -> None:
    for path in ("/login", "/api/v1/me", "/docs", "/static/posops.css", "/no-such-page"):
        headers = client.get(path, headers=fleet.headers("agent") if path.startswith("/api") else {}).headers
        policy = headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, path
        assert "unsafe-inline" not in policy and "style-src 'self';" in policy, path
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["x-frame-options"] == "DENY" and headers["referrer-policy"] == "same-origin", path
    assert "'sha256-" in client.get("/docs").headers["content-security-policy"], "only its own inline script"
    assert "'sha256-" not in client.get("/login").headers["content-security-policy"]


def test_signing_out_ends_the_session_in_every_copy_of_its_cookie(client: TestClient, fleet: Fleet) -> None:
    login(client, "agent")
    copied = client.cookies.get(SESSION)
    assert copied
    page = client.get("/terminals").text
    assert client.post("/logout", data={"csrf_token": csrf_token(page)}, follow_redirects=False).status_code == 303
    stolen = TestClient(client.app, cookies={SESSION: copied})
    assert _signed_out(stolen), "a copy of the cookie taken before the sign-out no longer signs in"
    login(client, "agent")
    assert not _signed_out(client), "signing in again starts a new session"
