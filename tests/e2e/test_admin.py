"""An administrator creates a user in Chromium, the user signs in, the admin disables them, and they are signed out."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.e2e.browser import log_in

pytestmark = pytest.mark.e2e
PHONE = 390


def _fits_the_phone(page: Any) -> bool:
    """Whether the page is no wider than the phone's screen (nothing to scroll sideways)."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_a_disabled_user_is_sent_to_the_login_page_on_their_next_page(live_server: str, page: Any) -> None:
    username = f"e2e-{uuid.uuid4().hex[:6]}"
    password = "e2e-pass-2468"
    log_in(page, live_server, "admin")
    page.click("[data-testid=nav-admin]")
    page.wait_for_url(live_server + "/admin/users")
    assert _fits_the_phone(page)
    form = page.locator("[data-testid=create-user-form]")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=display_name]").fill("夜班客服")
    form.locator("select[name=role]").select_option("agent")
    form.locator("input[name=password]").fill(password)
    form.locator("input[name=password_again]").fill(password)
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{live_server}/admin/users/{username}?done=created")
    assert page.locator("[data-testid=done]").inner_text() == "用户已创建。"
    assert _fits_the_phone(page)

    context = page.context.browser.new_context(viewport={"width": PHONE, "height": 844})
    person = context.new_page()
    person.goto(live_server + "/login")
    person.fill("input[name=username]", username)
    person.fill("input[name=password]", password)
    person.click("form[action='/login'] button[type=submit]")
    person.wait_for_url(lambda url: not url.startswith(live_server + "/login"))
    person.goto(live_server + "/terminals")
    assert person.url == live_server + "/terminals", "signed in"

    page.click("[data-testid=disable] summary")
    page.click("[data-testid=disable-form] button[type=submit]")
    page.wait_for_url(f"{live_server}/admin/users/{username}?done=disabled")
    assert page.locator("[data-testid=user-state]").inner_text() == "已停用"

    person.reload()
    assert person.url.startswith(live_server + "/login"), person.url
    context.close()


def test_the_admin_pages_fit_a_phone_and_a_token_is_shown_once(live_server: str, page: Any) -> None:
    log_in(page, live_server, "admin")
    page.goto(live_server + "/admin/users/agent")
    page.fill("[data-testid=create-token-form] input[name=name]", "对账脚本")
    page.click("[data-testid=create-token-form] button[type=submit]")
    token = page.locator("[data-testid=token-value]").inner_text()
    assert token.startswith("pos_")
    assert _fits_the_phone(page), "a long token wraps instead of widening the page"
    page.goto(live_server + "/admin/users/agent")
    assert token not in page.content()
    for path in ("/admin/merchants", "/admin/import"):
        page.goto(live_server + path)
        for summary in page.locator("details summary").all():
            summary.click()  # the columns' explanations open too
        assert _fits_the_phone(page), path
    page.goto(live_server + "/admin/merchants")
    page.locator("[data-testid=merchant-table] a").first.click()
    assert _fits_the_phone(page)
