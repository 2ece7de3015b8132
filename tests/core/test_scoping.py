"""Tenant scoping: a merchant's queries and loads see only its own rows; staff see every merchant's."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from posops.core.auth import Principal, Role, ensure_visible, not_found, scoped
from posops.core.db import Database
from posops.core.errors import NotFound
from posops.core.models import User
from posops.core.scoping import load_visible
from tests.conftest import Fleet

ORPHAN = Principal(user_id=None, username="orphan", role=Role.MERCHANT, merchant_id=None)


def _visible_usernames(db: Database, principal: Principal) -> set[str]:
    with db.transaction() as session:
        return set(session.scalars(scoped(select(User.username), principal, User.merchant_id)))


def test_a_merchant_sees_only_its_own_rows(db: Database, fleet: Fleet) -> None:
    assert _visible_usernames(db, fleet.users["merchant"]) == {"merchant"}
    assert _visible_usernames(db, fleet.users["merchant_b"]) == {"merchant_b"}


@pytest.mark.parametrize("role", ["agent", "risk", "technician", "admin"])
def test_staff_see_every_merchant(db: Database, fleet: Fleet, role: str) -> None:
    assert _visible_usernames(db, fleet.users[role]) == set(fleet.users)


def test_a_merchant_user_without_a_merchant_sees_nothing(db: Database, fleet: Fleet) -> None:
    assert _visible_usernames(db, ORPHAN) == set()


def test_load_visible_hides_other_merchants_rows(db: Database, fleet: Fleet) -> None:
    with db.transaction() as session:
        own = session.scalars(select(User.id).where(User.username == "merchant")).one()
        other = session.scalars(select(User.id).where(User.username == "merchant_b")).one()
        assert load_visible(session, fleet.users["merchant"], User, own, "user").username == "merchant"
        assert load_visible(session, fleet.users["agent"], User, other, "user", lock=True).username == "merchant_b"
        with pytest.raises(NotFound, match=r"^user not found$"):
            load_visible(session, fleet.users["merchant"], User, other, "user")
        with pytest.raises(NotFound, match=r"^user not found$"):
            load_visible(session, ORPHAN, User, own, "user")


def test_ensure_visible_hides_rows_of_no_or_another_merchant() -> None:
    merchant = Principal(user_id=1, username="m", role=Role.MERCHANT, merchant_id=5)
    ensure_visible(merchant, 5, "terminal")
    ensure_visible(Principal(user_id=2, username="a", role=Role.AGENT), None, "terminal")
    for principal, merchant_id in ((merchant, 6), (merchant, None), (ORPHAN, None)):
        with pytest.raises(NotFound, match=r"^terminal not found$") as caught:
            ensure_visible(principal, merchant_id, "terminal")
        assert caught.value.text("zh-CN") == "找不到该终端。" and caught.value.code == "error.not_found.terminal"


@pytest.mark.parametrize(("what", "zh"), [("application", "找不到该开通申请。"),
                                          ("reactivation request", "找不到该复机申请。"),
                                          ("user", "找不到该记录。"), ("no such thing", "找不到该记录。")])
def test_a_hidden_record_is_not_found_in_both_languages(what: str, zh: str) -> None:
    error = not_found(what)
    assert (error.message, error.text("zh-CN"), error.status) == (f"{what} not found", zh, 404)


def test_a_feature_may_name_its_own_not_found_sentence() -> None:
    error = not_found("error.not_found.document")
    assert (error.code, error.message, error.text("zh-CN")) == ("error.not_found.document", "document not found",
                                                                 "找不到该文件。")
