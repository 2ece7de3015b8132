"""The maker–checker helper: who counts as the same person, and the refusal it raises."""

from __future__ import annotations

import pytest

from posops.core.auth import BOOTSTRAP_ADMIN, OPERATOR, Principal, Role
from posops.core.errors import Forbidden
from posops.core.maker_checker import Maker, require_second_person, same_person, second_person_refusal

KEY = "reactivation.error.second_person"
AGENT = Principal(user_id=3, username="agent", role=Role.AGENT)


def test_users_are_matched_by_id_and_tokens_by_name() -> None:
    assert same_person(AGENT, Maker("agent", 3, "reactivation.maker.filed"))
    assert not same_person(AGENT, Maker("agent", 4, "reactivation.maker.filed")), "a renamed or other user"
    assert same_person(AGENT, Maker("Agent", None, "reactivation.maker.payment")), "a row that kept only a name"
    assert same_person(BOOTSTRAP_ADMIN, Maker("admin-token", None, "reactivation.maker.filed"))
    assert not same_person(BOOTSTRAP_ADMIN, Maker("admin", 1, "reactivation.maker.filed"))
    assert not same_person(BOOTSTRAP_ADMIN, Maker(OPERATOR.username, None, "reactivation.maker.filed"))


def test_the_refusal_names_the_callers_part_and_is_a_403_with_the_key() -> None:
    makers = [Maker("merchant", 9, "reactivation.maker.filed"), Maker("agent", 3, "reactivation.maker.payment")]
    assert second_person_refusal(Principal(5, "agent_2", Role.AGENT), makers, key=KEY) is None
    require_second_person(Principal(5, "agent_2", Role.AGENT), makers, key=KEY)
    with pytest.raises(Forbidden) as caught:
        require_second_person(AGENT, makers, key=KEY)
    assert caught.value.status == 403 and caught.value.detail()["code"] == KEY
    message = caught.value.detail()["message"]
    assert "您登记了它的缴费凭证" in message["zh-CN"] and "you recorded its payment voucher" in message["en"]
