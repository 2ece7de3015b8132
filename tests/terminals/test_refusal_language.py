"""A terminal page's refusals are said in the page's language: Chinese for a zh-CN user, English for an en user."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Fleet
from tests.helpers import csrf_token, login
from tests.terminals.flows import assert_refused_in, ok


@pytest.mark.parametrize(("lang", "retype", "suspend_for"), [
    ("zh-CN", "请输入这台终端的序列号 SN-TEST-0000 以确认：注销后不能撤销", "只有因欠费停机时才填写欠费账单到期日"),
    ("en", "type the terminal's serial number SN-TEST-0000 to confirm: decommissioning cannot be undone",
     "unpaid_due_dates is only for an arrears suspension"),
])
def test_lifecycle_refusals_are_said_in_the_page_language(client: TestClient, fleet: Fleet, lang: str, retype: str,
                                                          suspend_for: str) -> None:
    login(client, "agent", lang=lang)
    url = f"/terminals/{fleet.terminals_a[0]}"
    token = csrf_token(client.get(url).text)
    wrong_serial = client.post(f"{url}/decommission", data={"csrf_token": token, "note": "退机",
                                                            "confirm_serial_number": "SN-TEST-0001"})
    assert_refused_in(lang, wrong_serial, retype)
    bills_for_dormant = client.post(f"{url}/suspend", data={"csrf_token": token, "reason": "dormant", "note": "x",
                                                            "unpaid_due_dates": "2024-05-01"})
    assert_refused_in(lang, bills_for_dormant, suspend_for)
    assert ok(client.get(f"/api/v1/terminals/{fleet.terminals_a[0]}", headers=fleet.headers("agent")))["status"] \
        == "active", "a refused form changes nothing"
