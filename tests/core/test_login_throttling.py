"""Login throttling: per (username, address) with doubling back-off, per username, a per-address ceiling, unlock."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from posops.core import accounts
from posops.core.audit import AuditEntity
from posops.core.config import Settings
from posops.core.db import Database, utcnow
from posops.core.models import AuditEvent
from posops.core.throttle import LoginThrottled, Scope
from tests.conftest import PASSWORD, Fleet
from tests.helpers import csrf_token

OFFICE = "10.1.1.1"
HOME = "10.2.2.2"
T0 = datetime.fromisoformat("2026-12-04T02:00:00+00:00")


def _fail(db: Database, settings: Settings, username: str, address: str, at: datetime, times: int = 1) -> None:
    for _ in range(times):
        assert accounts.login(db, settings, username, "wrong-password", address, now=at) is None


def _refused(db: Database, settings: Settings, username: str, address: str, at: datetime,
             password: str = PASSWORD) -> LoginThrottled:
    with pytest.raises(LoginThrottled) as refused:
        accounts.login(db, settings, username, password, address, now=at)
    return refused.value


def _events(db: Database, action: str) -> list[AuditEvent]:
    with db.transaction() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_one_users_failures_do_not_lock_another_user_at_the_same_address(db: Database, settings: Settings,
                                                                         fleet: Fleet) -> None:
    _fail(db, settings, "agent", OFFICE, T0, settings.login_pair_failures)
    _refused(db, settings, "agent", OFFICE, T0 + timedelta(seconds=1))
    colleague = accounts.login(db, settings, "risk", PASSWORD, OFFICE, now=T0 + timedelta(seconds=1))
    assert colleague is not None and colleague.principal.username == "risk", "the office's other users sign in"


def test_the_pair_waits_with_a_stated_retry_time_and_the_wait_doubles(db: Database, settings: Settings,
                                                                      fleet: Fleet) -> None:
    base = timedelta(seconds=settings.login_backoff_base_s)
    _fail(db, settings, "agent", OFFICE, T0, settings.login_pair_failures - 1)
    assert accounts.login(db, settings, "agent", "wrong-password", OFFICE, now=T0) is None, "the 5th is counted"
    first = _refused(db, settings, "agent", OFFICE, T0 + timedelta(seconds=1))
    assert (first.retry_at, first.scope) == (T0 + base, Scope.PAIR), "even the right password waits"

    _fail(db, settings, "agent", OFFICE, T0 + base)  # the wait is over: one more try, wrong again
    second = _refused(db, settings, "agent", OFFICE, T0 + base + timedelta(seconds=1))
    assert second.retry_at == T0 + base + 2 * base, "the wait doubles"
    _fail(db, settings, "agent", OFFICE, second.retry_at)
    third = _refused(db, settings, "agent", OFFICE, second.retry_at)
    assert third.retry_at == second.retry_at + 4 * base

    assert accounts.login(db, settings, "agent", PASSWORD, OFFICE, now=third.retry_at) is not None
    _fail(db, settings, "agent", OFFICE, third.retry_at, settings.login_pair_failures - 1)
    assert accounts.login(db, settings, "agent", PASSWORD, OFFICE, now=third.retry_at) is not None, \
        "a success started the pair's count again"


def test_the_username_limit_applies_from_other_addresses_at_its_own_threshold(db: Database, settings: Settings,
                                                                              fleet: Fleet) -> None:
    _fail(db, settings, "technician", OFFICE, T0, settings.login_pair_failures)
    _refused(db, settings, "technician", OFFICE, T0)
    remaining = settings.login_user_failures - settings.login_pair_failures
    for n in range(remaining):
        _fail(db, settings, "technician", f"10.3.0.{n}", T0)  # each a fresh pair, under its own limit
    from_anywhere = _refused(db, settings, "technician", "10.9.9.9", T0 + timedelta(seconds=1))
    assert from_anywhere.scope is Scope.USER
    assert from_anywhere.retry_at == T0 + timedelta(seconds=settings.login_backoff_base_s)
    assert accounts.login(db, settings, "risk", PASSWORD, "10.9.9.9", now=T0) is not None, "only that username waits"


def test_the_address_ceiling_stops_spraying_across_usernames(db: Database, fleet: Fleet, database_url: str) -> None:
    settings = Settings(database_url=database_url, secret_key="k", env="test", login_address_failures=12,
                        login_address_window_s=600)
    for n in range(12):
        _fail(db, settings, f"guess-{n}", "203.0.113.7", T0 + timedelta(seconds=n))
    sprayed = _refused(db, settings, "agent", "203.0.113.7", T0 + timedelta(seconds=20))
    assert sprayed.scope is Scope.ADDRESS
    assert sprayed.retry_at == T0 + timedelta(seconds=600), "until the oldest of the twelve leaves the window"
    assert accounts.login(db, settings, "agent", PASSWORD, "203.0.113.7", now=T0 + timedelta(seconds=601)) \
        is not None
    assert accounts.login(db, settings, "agent", PASSWORD, OFFICE, now=T0 + timedelta(seconds=20)) is not None, \
        "another address is not affected"
    (ceiling,) = _events(db, "ceiling_reached")
    assert (ceiling.entity_type, ceiling.entity_id, ceiling.actor) == (AuditEntity.LOGIN_ADDRESS, "203.0.113.7",
                                                                      "login-throttle")


def test_an_office_behind_one_address_is_not_locked_by_one_persons_typos(db: Database, settings: Settings,
                                                                         fleet: Fleet) -> None:
    for n in range(4):  # four people each mistype the maximum their pair allows
        for k in range(settings.login_pair_failures - 1):
            accounts.login(db, settings, ["agent", "risk", "technician", "merchant"][n], "typo", OFFICE,
                           now=T0 + timedelta(seconds=k))
    assert accounts.login(db, settings, "admin", PASSWORD, OFFICE, now=T0 + timedelta(seconds=5)) is not None
    assert _events(db, "ceiling_reached") == []


def test_an_admin_unlocks_a_user_and_locks_and_unlocks_are_audited(db: Database, settings: Settings,
                                                                   fleet: Fleet) -> None:
    admin = fleet.users["admin"]
    now = utcnow()
    _fail(db, settings, "agent", OFFICE, now, settings.login_pair_failures)
    locked = accounts.login_lock(db, admin, settings, "agent", now=now)
    assert locked.failures == settings.login_pair_failures and locked.locked_until is not None
    _refused(db, settings, "agent", OFFICE, now)

    accounts.unlock_user(db, admin, settings, "agent", now=now + timedelta(seconds=1))
    assert accounts.login(db, settings, "agent", PASSWORD, OFFICE, now=now + timedelta(seconds=2)) is not None
    assert accounts.login_lock(db, admin, settings, "agent", now=now + timedelta(seconds=2)).locked_until is None
    (lock,) = _events(db, "login_locked")
    assert lock.entity_type == AuditEntity.USER and lock.actor == "login-throttle"
    assert lock.after is not None and lock.after["address"] == OFFICE and lock.after["scope"] == "pair"
    (unlock,) = _events(db, "login_unlock")
    assert unlock.actor == "admin" and unlock.before == {"failures": settings.login_pair_failures,
                                                         "locked_until": locked.locked_until.isoformat()}


def test_unlock_through_the_api_and_the_page(client: TestClient, fleet: Fleet, db: Database,
                                             settings: Settings) -> None:
    admin = fleet.users["admin"]
    _fail(db, settings, "agent", "testclient", utcnow(), settings.login_pair_failures)
    assert client.post("/api/v1/users/agent/unlock", headers=fleet.headers("agent")).status_code == 403
    unlocked = client.post("/api/v1/users/agent/unlock", headers=fleet.headers("admin"))
    assert unlocked.status_code == 200 and unlocked.json()["username"] == "agent"
    assert accounts.login_lock(db, admin, settings, "agent").locked_until is None
    assert client.post("/api/v1/users/nobody/unlock", headers=fleet.headers("admin")).status_code == 404

    _fail(db, settings, "risk", "testclient", utcnow(), settings.login_pair_failures)
    token = csrf_token(client.get("/login").text)
    client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token})
    page = client.get("/admin/users/risk").text
    assert 'data-testid="login-locked"' in page and "之前不能登录" in page
    done = client.post("/admin/users/risk/unlock", data={"csrf_token": csrf_token(page)}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/admin/users/risk?done=unlocked"
    assert 'data-testid="login-locked"' not in client.get("/admin/users/risk").text
    assert len(_events(db, "login_unlock")) == 2


def test_the_console_refusal_says_when_to_retry_in_the_pages_language(client: TestClient, fleet: Fleet) -> None:
    token = csrf_token(client.get("/login").text)
    for _ in range(5):
        client.post("/login", data={"username": "agent", "password": "nope-nope", "csrf_token": token})
    client.get("/lang/en")
    refused = client.post("/login", data={"username": "agent", "password": PASSWORD, "csrf_token": token})
    assert refused.status_code == 429 and "try again in 1 min" in refused.text
    other = client.post("/login", data={"username": "risk", "password": PASSWORD, "csrf_token": token},
                        follow_redirects=False)
    assert other.status_code == 303, "another user at the same address signs in"
