"""A person signs in through the real login page in Chromium and sees the terminal list."""

from __future__ import annotations

from typing import Any

import pytest

from posops.demo import DEMO_PASSWORDS
from posops.demo_repairs import LOANER_MODELS

pytestmark = pytest.mark.e2e


def test_agent_signs_in_and_sees_the_terminal_list(live_server: str, page: Any) -> None:
    page.goto(live_server + "/terminals")
    assert page.url.startswith(live_server + "/login")
    page.fill("input[name=username]", "agent")
    page.fill("input[name=password]", DEMO_PASSWORDS["agent"])
    page.click("button[type=submit]")
    page.wait_for_url(live_server + "/terminals")
    fleet = 60 + len(LOANER_MODELS)  # the demo's 60 terminals and its loaner pool
    assert page.locator("[data-testid=terminal-total]").inner_text() == f"共 {fleet} 台"
    rows = page.locator("[data-testid=terminal-table] tbody tr")
    assert rows.count() == 25
    page.click("[data-testid=lang-switch]")
    page.wait_for_load_state()
    assert page.locator("[data-testid=terminal-total]").inner_text() == f"{fleet} terminals"


def test_merchant_sees_only_its_own_terminals(live_server: str, page: Any) -> None:
    page.goto(live_server + "/login")
    page.fill("input[name=username]", "merchant")
    page.fill("input[name=password]", DEMO_PASSWORDS["merchant"])
    page.click("button[type=submit]")
    page.wait_for_url(live_server + "/")  # signing in lands on the home page
    page.goto(live_server + "/terminals")
    merchants = set(page.locator("[data-testid=terminal-table] tbody td:nth-child(4)").all_inner_texts())
    assert merchants == {"上海静安好邻居便利店"}


def test_wrong_password_stays_on_login_with_a_message(live_server: str, page: Any) -> None:
    page.goto(live_server + "/login")
    page.fill("input[name=username]", "tech")
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    assert page.locator("[role=alert]").inner_text() == "用户名或密码错误"
