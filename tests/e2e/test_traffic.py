"""In Chromium on a phone-sized screen: an agent imports a traffic log; the terminal page shows what it proved."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from posops.core.db import utcnow
from tests.e2e.browser import log_in
from tests.iso8583.helpers import answer, purchase, sign_in
from tests.iso8583.traffic import log_text

pytestmark = pytest.mark.e2e
DEMO_TID, DEMO_TERMINAL_ID = "10000001", 1
"""The demo fleet numbers its TIDs from 10000001, in the order of terminal ids. The demo imports traffic of its
own up to a few minutes before it was loaded: the log here is newer, so the page shows it."""
PHONE_WIDTH = 390



def _fits_the_phone(browser: Any) -> bool:
    return bool(browser.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH)


def test_agent_imports_a_log_and_the_terminal_page_shows_it(live_server: str, page: Any,
                                                          tmp_path: Path) -> None:
    signin, mac = sign_in(DEMO_TID, "000001"), purchase(DEMO_TID, "000002")
    log = tmp_path / "shop-7.log"
    log.write_text(log_text([(0, ">", signin), (0.4, "<", answer(signin, "00")),
                             (30, ">", mac), (30.5, "<", answer(mac, "A0"))], utcnow() - timedelta(minutes=1)))
    log_in(page, live_server, "agent")
    page.goto(live_server + "/traffic/upload")
    page.set_input_files("input[name=file]", str(log))
    page.click("[data-testid=upload-form] button[type=submit]")
    report = page.locator("[data-testid=matched-terminals]")
    assert DEMO_TID in report.inner_text() and "key_check=work_key_invalid" in report.inner_text()
    assert _fits_the_phone(page)

    page.click(f"[data-testid=matched-terminals] a[href='/terminals/{DEMO_TERMINAL_ID}']")
    page.wait_for_url(f"{live_server}/terminals/{DEMO_TERMINAL_ID}")
    outcome = page.locator("[data-testid=traffic-last-outcome]").inner_text()
    assert "A0" in outcome and "MAC校验错" in outcome and "MAC verification failed" not in outcome, "zh-CN only"
    evidence = page.locator("[data-testid=traffic-evidence] li[data-check=response_code]")
    assert evidence.get_attribute("data-outcome") == "A0" and evidence.inner_text() == "应答码：MAC校验错"
    assert _fits_the_phone(page)
