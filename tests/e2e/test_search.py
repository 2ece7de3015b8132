"""On a phone (390 × 844): the header's search box finds a terminal by its TID and a merchant by its name."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.browser import log_in

pytestmark = pytest.mark.e2e
TID = "10000005"  # the demo's fifth terminal
SHOP = "好邻居"  # part of the demo's first merchant's name, 上海静安好邻居便利店


def _fits_the_phone(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{page.url} is {width} px wide on a 390 px phone"


def _search(page: Any, text: str) -> None:
    box = page.locator("[data-testid=header-search] input[name=q]")
    assert box.is_visible()
    box.fill(text)
    with page.expect_navigation():
        page.locator("[data-testid=header-search] button[type=submit]").click()


def test_the_header_search_finds_a_terminal_by_tid_and_a_merchant_by_name(live_server: str, page: Any) -> None:
    log_in(page, live_server, "agent")
    _fits_the_phone(page)
    box = page.locator("[data-testid=header-search]").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, "the search box is on the screen"
    found = page.request.get(f"{live_server}/api/v1/fleet/terminals?q={TID}").json()["items"]
    terminal = next(t for t in found if t["tid"] == TID)

    _search(page, TID)  # one terminal has this TID: straight to its page
    assert page.url == f"{live_server}/terminals/{terminal['id']}"
    assert terminal["serial_number"] in page.locator("h1").inner_text()
    _fits_the_phone(page)

    _search(page, SHOP)
    assert page.url.startswith(f"{live_server}/search?q=")
    hits = page.locator("[data-testid=merchant-hit] a")
    assert hits.count() == 1 and hits.first.inner_text() == "上海静安好邻居便利店"
    _fits_the_phone(page)
    hits.first.click()
    page.wait_for_url(f"{live_server}/merchants/*")
    assert page.locator("[data-testid=merchant-name]").inner_text() == "上海静安好邻居便利店"
    assert page.locator("[data-testid=merchant-terminal]").count() > 0
    _fits_the_phone(page)


def test_a_merchant_finds_only_its_own_from_the_header(live_server: str, page: Any) -> None:
    log_in(page, live_server, "merchant")
    _search(page, "北京朝阳")  # another merchant's name
    assert page.locator("[data-testid=merchant-hit]").count() == 0
    assert page.locator("[data-testid=terminal-hit]").count() == 0
    _fits_the_phone(page)
    page.goto(f"{live_server}/terminals?sort=-last_seen")
    _fits_the_phone(page)
