"""In Chromium: an agent suspends a terminal; its merchant requests reactivation and sees what is missing."""

from __future__ import annotations

from typing import Any

import pytest

from posops.demo import MERCHANTS
from tests.e2e.browser import log_in

pytestmark = pytest.mark.e2e
FIRST_MERCHANT_TERMINALS = (1, 7, 13)
"""The demo gives the first merchant the 1st, 7th and 13th terminal."""



def test_agent_suspends_and_merchant_sees_what_reactivation_needs(live_server: str, page: Any) -> None:
    log_in(page, live_server, "agent")
    for terminal_id in FIRST_MERCHANT_TERMINALS:
        page.goto(f"{live_server}/terminals/{terminal_id}")
        if page.locator("[data-testid=terminal-status]").inner_text() == "正常":
            break
    else:
        pytest.fail("the demo fleet has no active terminal for the first merchant")
    form = page.locator("[data-testid=suspend-form]")
    form.locator("select[name=reason]").select_option("dormant")
    form.locator("textarea[name=note]").fill("超过 90 天无交易")
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{live_server}/terminals/{terminal_id}")
    assert page.locator("[data-testid=terminal-status]").inner_text() == "已停机"
    assert "原因：长期未使用" in page.locator("[data-testid=screen-notice]").inner_text()
    page.click("button:has-text('退出')")
    page.wait_for_url(live_server + "/login")

    log_in(page, live_server, "merchant")
    page.goto(f"{live_server}/terminals/{terminal_id}")
    assert "长期没有交易" in page.locator("[data-testid=notices]").inner_text()
    page.locator("[data-testid=request-form] button[type=submit]").click()
    page.wait_for_url(f"{live_server}/reactivation-requests/*")
    missing = page.locator("[data-testid=missing-list] li")
    assert missing.all_inner_texts() == ["商户尚未重新确认身份。"]

    identity = page.locator("[data-testid=evidence-identity]")
    identity.locator("input[name=legal_id]").fill(MERCHANTS[0][1])
    identity.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("[data-testid=missing-list]").count() == 0
    assert "条件已满足" in page.locator("[data-testid=conditions-met]").inner_text()
