"""Managing users and their tokens: disabling, roles, the last administrator, revocation, last use, the audit log."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from posops.core import accounts, audit
from posops.core.audit import AuditEntity
from posops.core.auth import BOOTSTRAP_ADMIN, Role
from posops.core.config import Settings
from posops.core.db import Database, utcnow
from posops.core.errors import Forbidden, Invalid, NotFound
from posops.core.models import ApiToken, AuditEvent, User
from tests.conftest import PASSWORD, Fleet
from tests.helpers import csrf_token, login


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _user_id(db: Database, username: str) -> int:
    with db.transaction() as session:
        found = session.scalar(select(User.id).where(User.username == username))
        assert found is not None
        return found


def _session_version(db: Database, username: str) -> int:
    with db.transaction() as session:
        return session.scalars(select(User).where(User.username == username)).one().session_version


def _actions(db: Database, entity: AuditEntity, entity_id: object) -> list[tuple[str, str]]:
    with db.transaction() as session:
        return [(e.action, e.actor) for e in audit.history(session, entity, entity_id)]


def test_a_disabled_user_can_sign_in_use_its_session_or_its_token_no_more(client: TestClient, fleet: Fleet,
                                                                          db: Database, settings: Settings) -> None:
    admin = fleet.users["admin"]
    login(client, "agent")
    assert client.get("/terminals").status_code == 200
    assert client.get("/api/v1/me", headers=fleet.headers("agent")).status_code == 200

    disabled = accounts.update_user(db, admin, "agent", active=False)
    assert disabled.active is False
    page = client.get("/terminals", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login"), "the open session ends at once"
    assert client.get("/api/v1/me", headers=fleet.headers("agent")).status_code == 401
    assert accounts.principal_for_user_id(db, _user_id(db, "agent"), _session_version(db, "agent"), "s1") is None
    assert accounts.principal_for_token(db, settings, fleet.tokens["agent"]) is None
    assert accounts.login(db, settings, "agent", PASSWORD, "10.0.0.9") is None
    refused = client.post("/login", data={"username": "agent", "password": PASSWORD,
                                          "csrf_token": csrf_token(client.get("/login").text)})
    assert refused.status_code == 401

    accounts.update_user(db, admin, "agent", active=True)
    assert client.get("/api/v1/me", headers=fleet.headers("agent")).status_code == 200, "its tokens work again"
    assert accounts.login(db, settings, "agent", PASSWORD, "10.0.0.9") is not None


def test_the_last_active_admin_can_be_neither_disabled_nor_demoted(db: Database, fleet: Fleet) -> None:
    admin = fleet.users["admin"]
    for change in ({"active": False}, {"role": "agent"}, {"role": "agent", "active": False}):
        with pytest.raises(accounts.LastActiveAdmin):
            accounts.update_user(db, BOOTSTRAP_ADMIN, "admin", **change)  # type: ignore[arg-type]
    assert accounts.get_user(db, admin, "admin").active and accounts.get_user(db, admin, "admin").role == "admin"

    accounts.create_user(db, admin, "second-admin", PASSWORD, "admin")
    assert accounts.update_user(db, admin, "admin", active=False).active is False, "another admin remains"
    with pytest.raises(accounts.LastActiveAdmin):
        accounts.update_user(db, BOOTSTRAP_ADMIN, "second-admin", role="risk")  # a disabled admin does not count
    accounts.update_user(db, BOOTSTRAP_ADMIN, "admin", active=True)
    assert accounts.update_user(db, BOOTSTRAP_ADMIN, "second-admin", role="risk").role == "risk"
    assert accounts.update_user(db, BOOTSTRAP_ADMIN, "admin", display_name="值班管理员").display_name == "值班管理员", \
        "the last admin may still be renamed"


def test_merchant_users_keep_a_merchant_and_staff_have_none(db: Database, fleet: Fleet) -> None:
    admin = fleet.users["admin"]
    with pytest.raises(Invalid) as missing:
        accounts.update_user(db, admin, "agent", role="merchant")
    assert [p.field for p in missing.value.problems] == ["merchant_id"]

    shop = accounts.update_user(db, admin, "agent", role="merchant", merchant_id=fleet.merchant_a)
    assert (shop.role, shop.merchant_id, shop.merchant_name) == ("merchant", fleet.merchant_a, "甲商户")
    principal = accounts.principal_for_user_id(db, shop.id, _session_version(db, "agent"), "s1")
    assert principal is not None and principal.role is Role.MERCHANT and principal.merchant_id == fleet.merchant_a

    moved = accounts.update_user(db, admin, "agent", merchant_id=fleet.merchant_b)
    assert (moved.merchant_id, moved.merchant_name) == (fleet.merchant_b, "乙商户")
    for bad in ({"merchant_id": None}, {"merchant_id": 999_999}, {"role": "risk", "merchant_id": fleet.merchant_a}):
        with pytest.raises(Invalid) as refused:
            accounts.update_user(db, admin, "agent", **bad)  # type: ignore[arg-type]
        assert [p.field for p in refused.value.problems] == ["merchant_id"], bad

    staff = accounts.update_user(db, admin, "agent", role="technician")
    assert (staff.role, staff.merchant_id) == ("technician", None), "a staff role drops the merchant"
    with pytest.raises(Invalid) as staff_merchant:
        accounts.update_user(db, admin, "risk", merchant_id=fleet.merchant_a)
    assert [p.field for p in staff_merchant.value.problems] == ["merchant_id"]
    with pytest.raises(Invalid) as system:
        accounts.update_user(db, admin, "risk", role="system")
    assert [p.field for p in system.value.problems] == ["role"]


def test_only_admins_manage_users_and_tokens(db: Database, fleet: Fleet) -> None:
    agent = fleet.users["agent"]
    calls = [lambda: accounts.update_user(db, agent, "risk", active=False),
             lambda: accounts.get_user(db, agent, "risk"), lambda: accounts.find_users(db, agent),
             lambda: accounts.list_tokens(db, agent, "risk"), lambda: accounts.revoke_token(db, agent, "risk", 1),
             lambda: accounts.set_password(db, agent, "risk", "long-enough-2")]
    for call in calls:
        with pytest.raises(Forbidden):
            call()
    assert accounts.get_user(db, fleet.users["admin"], "risk").active


def test_a_revoked_token_is_refused_and_revoking_again_changes_nothing(client: TestClient, fleet: Fleet,
                                                                       db: Database) -> None:
    admin = fleet.users["admin"]
    issued = accounts.create_token(db, admin, "risk", "nightly export")
    assert client.get("/api/v1/me", headers=_bearer(issued.token)).status_code == 200
    revoked = accounts.revoke_token(db, admin, "risk", issued.id)
    assert revoked.revoked_at is not None and not revoked.active
    assert client.get("/api/v1/me", headers=_bearer(issued.token)).status_code == 401
    assert client.get("/api/v1/me", headers=fleet.headers("risk")).status_code == 200, "its other tokens still work"
    again = accounts.revoke_token(db, admin, "risk", issued.id)
    assert again.revoked_at == revoked.revoked_at
    assert _actions(db, AuditEntity.API_TOKEN, issued.id) == [("create", "admin"), ("revoke", "admin")]
    with pytest.raises(NotFound):
        accounts.revoke_token(db, admin, "agent", issued.id)  # another user's token


def test_a_tokens_last_use_is_recorded_and_its_value_never_listed(client: TestClient, fleet: Fleet,
                                                                  db: Database) -> None:
    admin = fleet.users["admin"]
    issued = accounts.create_token(db, admin, "technician", "field app")
    listed = {t.id: t for t in accounts.list_tokens(db, admin, "technician")}
    assert listed[issued.id].last_used_at is None
    assert listed[issued.id].prefix == issued.token[:8] and listed[issued.id].name == "field app"
    assert all(issued.token not in repr(token) for token in listed.values())
    before = utcnow()
    assert client.get("/api/v1/me", headers=_bearer(issued.token)).status_code == 200
    used = {t.id: t for t in accounts.list_tokens(db, admin, "technician")}[issued.id]
    assert used.last_used_at is not None and used.last_used_at >= before
    assert accounts.list_tokens(db, admin, "technician")[0].id == issued.id, "newest first"

    assert client.get("/api/v1/me", headers=_bearer(issued.token)).status_code == 200
    again = accounts.list_tokens(db, admin, "technician")[0]
    assert again.last_used_at == used.last_used_at, "within a minute a use is not written again"
    with db.transaction() as session:
        row = session.get(ApiToken, issued.id)
        assert row is not None
        row.last_used_at = utcnow() - 2 * accounts.LAST_USED_EVERY
    assert client.get("/api/v1/me", headers=_bearer(issued.token)).status_code == 200
    later = accounts.list_tokens(db, admin, "technician")[0].last_used_at
    assert later is not None and later >= before, "a use after a longer while is written"


def test_every_change_to_a_user_is_audited_and_a_change_to_nothing_is_not(db: Database, fleet: Fleet) -> None:
    admin = fleet.users["admin"]
    accounts.update_user(db, admin, "risk", role="merchant", merchant_id=fleet.merchant_a,
                         display_name="甲商户店长", active=False)
    accounts.update_user(db, admin, "risk", active=True)
    accounts.update_user(db, admin, "risk", role="merchant", display_name="甲商户店长", active=True)  # as it is
    accounts.set_password(db, admin, "risk", "another-pass-9")
    risk = _user_id(db, "risk")
    assert _actions(db, AuditEntity.USER, risk) == [
        ("change_role", "admin"), ("rename", "admin"), ("disable", "admin"), ("enable", "admin"),
        ("set_password", "admin")]
    with db.transaction() as session:
        change = session.scalars(select(AuditEvent).where(AuditEvent.entity_id == str(risk),
                                                          AuditEvent.action == "change_role")).one()
        assert change.before == {"role": "risk", "merchant_id": None}
        assert change.after == {"role": "merchant", "merchant_id": fleet.merchant_a}
        assert change.actor_role == "admin"


def test_a_refused_change_changes_nothing(db: Database, fleet: Fleet) -> None:
    admin = fleet.users["admin"]
    with pytest.raises(Invalid):
        accounts.update_user(db, admin, "risk", role="merchant", display_name="不会保存", active=False)
    risk = accounts.get_user(db, admin, "risk")
    assert (risk.role, risk.display_name, risk.active) == ("risk", "risk", True)
    assert _actions(db, AuditEntity.USER, risk.id) == []


def test_users_are_found_by_role_and_state_a_page_at_a_time(db: Database, fleet: Fleet) -> None:
    admin = fleet.users["admin"]
    accounts.update_user(db, admin, "merchant_b", active=False)
    merchants = accounts.find_users(db, admin, role="merchant")
    assert [u.username for u in merchants.items] == ["merchant", "merchant_b"] and merchants.total == 2
    assert [u.merchant_name for u in merchants.items] == ["甲商户", "乙商户"]
    assert [u.username for u in accounts.find_users(db, admin, active=False).items] == ["merchant_b"]
    assert [u.username for u in accounts.find_users(db, admin, role="merchant", active=True).items] == ["merchant"]
    first, second = (accounts.find_users(db, admin, page=n, per_page=4) for n in (1, 2))
    assert first.total == 6 and len(first.items) == 4 and len(second.items) == 2
    assert {u.username for u in first.items} | {u.username for u in second.items} == set(fleet.users)
    with pytest.raises(Invalid):
        accounts.find_users(db, admin, role="boss")
