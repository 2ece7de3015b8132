"""A card-read fault goes from the merchant's diagnosis to an accepted repair, through the desk and a technician."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest

from posops.core.db import utcnow
from tests.e2e.browser import log_in
from tests.e2e.conftest import E2E_ADMIN_TOKEN

pytestmark = pytest.mark.e2e
ADMIN = {"Authorization": f"Bearer {E2E_ADMIN_TOKEN}"}


def _as(page: Any, base: str, username: str, width: int = 390) -> Any:
    """A new browser window (its own cookies) signed in as a demo user."""
    context = page.context.browser.new_context(viewport={"width": width, "height": 900})
    other = context.new_page()
    log_in(other, base, username)
    return other


def _untouched_terminal(page: Any, base: str) -> dict[str, Any]:
    """One of the merchant's active terminals that no other browser test uses and that has no open ticket."""
    mine = page.request.get(f"{base}/api/v1/terminals?status=active&per_page=100").json()["items"]
    for terminal in reversed(mine[1:]):  # the other tests take the list's first row
        opened = page.request.get(f"{base}/api/v1/tickets?terminal_id={terminal['id']}&open=true").json()
        if opened["total"] == 0:
            return dict(terminal)
    raise AssertionError("the demo merchant has no spare active terminal")


def test_a_card_read_fault_is_repaired_accepted_and_lifts_the_suspension(live_server: str, page: Any) -> None:
    api = page.request
    log_in(page, live_server, "merchant")
    terminal = _untouched_terminal(page, live_server)
    terminal_id = terminal["id"]
    desk = _as(page, live_server, "agent", width=1440)
    suspended = desk.request.post(f"{live_server}/api/v1/terminals/{terminal_id}/suspend",
                                  data={"reason": "device_fault", "note": "读卡模块故障"})
    assert suspended.ok, suspended.text()

    page.goto(f"{live_server}/terminals/{terminal_id}")
    page.click("[data-testid=diagnose-terminal]")
    page.fill("textarea[name=text]", "刷卡没反应")
    page.click("main button[type=submit]")
    page.click("[data-testid=handover-button]")
    page.wait_for_selector("[data-testid=diagnosis-ticket]")
    page.click("[data-testid=ticket-link]")
    ticket_id = int(re.search(r"/tickets/(\d+)", page.url).group(1))  # type: ignore[union-attr]
    assert page.locator("[data-testid=ticket-description]").inner_text() == "刷卡没反应"
    assert page.locator("[data-testid=prefill-ranking] tr").count() >= 2, "the diagnosis came with the ticket"

    desk.goto(f"{live_server}/tickets/{ticket_id}")
    desk.click("[data-testid=assign-form] button[type=submit]")
    assert desk.locator("[data-testid=ticket-assignee]").inner_text() == "tech", "上海's technician"
    desk.click("[data-testid=reserve-form] button[type=submit]")
    desk.click("[data-testid=hand-over-form] button[type=submit]")
    reservation = api.get(f"{live_server}/api/v1/tickets/{ticket_id}", headers=ADMIN).json()["reservations"][0]
    assert reservation["status"] == "out"
    other = next(t for t in api.get(f"{live_server}/api/v1/tickets?open=true", headers=ADMIN).json()["items"]
                 if t["id"] != ticket_id)
    clash = api.post(f"{live_server}/api/v1/loaners/reservations", headers=ADMIN, data={
        "ticket_id": other["id"], "loaner_id": reservation["loaner_id"], "begins_on": str(date.today()),
        "ends_on": str(date.today() + timedelta(days=1))})
    assert clash.status == 409, "the loaner is out for our ticket these days"

    tech = _as(page, live_server, "tech")
    tech.goto(f"{live_server}/tickets/mine")
    tech.click(f"a[href='/tickets/{ticket_id}']")
    tech.click("[data-testid=move-in_repair]")
    tech.fill("[data-testid=work-form] input[name=minutes]", "40")
    tech.select_option("[data-testid=work-form] select[name=confirmed_cause]", "hw.reader_faulty")
    tech.select_option("[data-testid=work-form] select[name=outcome]", "repaired")
    tech.fill("[data-testid=work-form] input[name=part_name]", "读卡模块")
    tech.fill("[data-testid=work-form] input[name=part_cost]", "85")
    tech.click("[data-testid=work-submit]")
    assert "¥85.00" in tech.locator("[data-testid=work-cost]").inner_text()
    tech.click("[data-testid=move-repaired]")

    signed = utcnow().isoformat()
    beat = {"v": 1, "sn": terminal["serial_number"], "seq": 1, "ts": signed, "last_signin": {"at": signed, "ok": True}}
    assert api.post(f"{live_server}/api/v1/telemetry/heartbeats", headers=ADMIN, data=beat).ok

    page.reload()
    proof = page.locator("[data-testid=proof]").inner_text()
    assert "维修后已签到成功" in proof and "来自终端心跳" in proof, "the sign-in after the repair is the proof"
    page.click("[data-testid=accept]")
    assert page.locator("[data-testid=ticket-facts]").get_by_text("已验收").count() == 1
    lifecycle = api.get(f"{live_server}/api/v1/terminals/{terminal_id}/lifecycle", headers=ADMIN).json()
    assert lifecycle["status"] == "active", "the accepted repair lifted the device-fault suspension"

    page.goto(f"{live_server}/terminals/{terminal_id}")
    records = page.locator("[data-testid=maintenance-records] tbody tr")
    assert records.count() >= 1 and "读卡模块" in records.first.inner_text()
    desk.goto(f"{live_server}/tickets/reliability")
    row = desk.locator("[data-testid=reliability-table] tr", has_text=terminal["model"])
    assert row.count() >= 1 and re.search(r"\d+(\.\d)?", row.first.inner_text())
