"""Passwords, bearer tokens, console sessions with CSRF, and the login rate limit."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from posops.core import accounts
from posops.core.auth import BOOTSTRAP_ADMIN, bearer_token, hash_password, verify_password
from posops.core.db import Database
from posops.core.models import ApiToken, User
from tests.conftest import PASSWORD, Fleet
from tests.helpers import csrf_token


def _csrf(client: TestClient, path: str = "/login") -> str:
    return csrf_token(client.get(path).text)


def test_passwords_are_argon2_hashes() -> None:
    stored = hash_password("s3cret-pass")
    assert stored.startswith("$argon2id$") and "s3cret-pass" not in stored
    assert verify_password(stored, "s3cret-pass")
    assert not verify_password(stored, "s3cret-pasS")
    assert not verify_password("not-a-hash", "s3cret-pass")


def test_bearer_token_is_read_from_the_authorization_header() -> None:
    assert bearer_token("Bearer pos_abc") == "pos_abc"
    assert bearer_token("bearer  posterm_x ") == "posterm_x"
    assert bearer_token("Bearer ") is None
    assert bearer_token("Basic dXNlcjpwYXNz") is None
    assert bearer_token(None) is None


def test_tokens_are_stored_only_as_hashes_and_work_once_issued(client: TestClient, fleet: Fleet, db: Database) -> None:
    issued = accounts.create_token(db, BOOTSTRAP_ADMIN, "risk", "automation")
    with db.transaction() as session:
        rows = list(session.scalars(select(ApiToken)))
    assert all(issued.token != row.token_hash and issued.token not in row.token_hash for row in rows)
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {issued.token}"})
    assert me.json() == {"username": "risk", "role": "risk", "merchant_id": None}
    with db.transaction() as session:
        session.scalars(select(User).where(User.username == "risk")).one().active = False
    refused = client.get("/api/v1/me", headers={"Authorization": f"Bearer {issued.token}"})
    assert refused.status_code == 401, "a deactivated user's tokens stop working"


def test_console_login_session_and_logout(client: TestClient, fleet: Fleet) -> None:
    token = _csrf(client)
    wrong = client.post("/login", data={"username": "agent", "password": "nope-nope", "csrf_token": token})
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
    ok = client.post("/login", data={"username": "agent", "password": PASSWORD, "csrf_token": token,
                                     "next": "/terminals?status=suspended"}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/terminals?status=suspended"
    cookie = client.cookies.get("posops_session")
    assert cookie and "agent" not in cookie
    page = client.get("/terminals")
    assert page.status_code == 200 and "SN-TEST-0000" in page.text
    logout = client.post("/logout", data={"csrf_token": _csrf(client, "/terminals")}, follow_redirects=False)
    assert logout.status_code == 303
    assert client.get("/terminals", follow_redirects=False).status_code == 303


def test_login_refuses_foreign_next_urls(client: TestClient, fleet: Fleet) -> None:
    response = client.post("/login", data={"username": "agent", "password": PASSWORD, "csrf_token": _csrf(client),
                                           "next": "//evil.example/steal"}, follow_redirects=False)
    assert response.headers["location"] == "/"


def test_forms_without_the_csrf_token_are_refused(client: TestClient, fleet: Fleet) -> None:
    client.get("/login")
    response = client.post("/login", data={"username": "agent", "password": PASSWORD, "csrf_token": "forged"},
                           headers={"accept": "text/html"})
    assert response.status_code == 403
    assert client.get("/terminals", follow_redirects=False).status_code == 303


def test_login_attempts_are_rate_limited(client: TestClient, fleet: Fleet) -> None:
    token = _csrf(client)
    for _ in range(5):
        assert client.post("/login", data={"username": "admin", "password": "guess-guess",
                                           "csrf_token": token}).status_code == 401
    blocked = client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token})
    assert blocked.status_code == 429, "even the right password waits once the limit is reached"
    assert "请在 1 分钟后" in blocked.text, "the refusal says when to try again"
    assert 0 < int(blocked.headers["Retry-After"]) <= 60


def test_language_switch_renders_english(client: TestClient, fleet: Fleet) -> None:
    assert "登录" in client.get("/login").text
    client.get("/lang/en")
    assert "Sign in" in client.get("/login").text
