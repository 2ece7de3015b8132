"""In Chromium on a phone: a terminal's own token posts heartbeats; its page shows it online, with charts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.browser import log_in

pytestmark = pytest.mark.e2e
TERMINAL = 1  # the first merchant's



def _heartbeat(sn: str, seq: int, at: datetime, battery: int) -> dict[str, Any]:
    return {"v": 1, "sn": sn, "seq": seq, "ts": at.isoformat(),
            "battery": {"pct": battery, "charging": False, "power_source": "battery"},
            "network": {"type": "4g", "signal_dbm": -95 - seq % 7, "ip": "10.0.0.8", "host_reachable": True},
            "software": {"app": "3.2.1", "firmware": "PayDroid 8.1.0"},
            "reader": {"swipe_err": seq // 3, "chip_err": 0, "tap_err": 0, "reads": 50 * seq},
            "printer": {"paper": "low", "head_temp_ok": True}, "last_rc": "00"}


def test_heartbeats_posted_by_the_terminal_show_on_its_page(live_server: str, page: Any) -> None:
    log_in(page, live_server, "admin")
    issued = page.request.post(f"{live_server}/api/v1/terminals/{TERMINAL}/telemetry-token")
    assert issued.status == 201, issued.text()
    sn, token = issued.json()["serial_number"], issued.json()["token"]
    now = datetime.now(UTC)
    known = page.request.get(f"{live_server}/api/v1/terminals/{TERMINAL}/telemetry").json()
    first = (known.get("seq") or 0) + 1  # the demo fleet's terminals have reported already
    batch = [_heartbeat(sn, first + n, now - timedelta(seconds=10 * (11 - n)), 89 - n) for n in range(12)]
    posted = page.request.post(f"{live_server}/api/v1/telemetry/heartbeats", data=batch,
                               headers={"Authorization": f"Bearer {token}"})
    assert posted.status == 200 and posted.json()["stored"] == 12, posted.text()

    page.click("[data-testid=nav-incidents]")
    page.wait_for_url(f"{live_server}/incidents")
    assert page.locator("h1").inner_text() == "故障事件"

    page.click("button:has-text('退出')")
    log_in(page, live_server, "merchant")
    page.goto(f"{live_server}/terminals/{TERMINAL}")
    assert page.locator("[data-testid=telemetry-online]").inner_text() == "在线"
    assert page.locator("[data-testid=nav-incidents]").count() == 0, "the incidents link is for staff"
    charts = page.locator("[data-testid=telemetry-charts] svg")
    assert charts.count() == 3
    box = charts.first.bounding_box()
    assert box is not None and box["width"] <= 390, "a chart fits the phone's width"
    assert "<polyline" in charts.first.inner_html()
    assert "78% · " in page.locator("[data-testid=telemetry]").inner_text(), "the latest battery level"
