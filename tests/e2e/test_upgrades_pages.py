"""In Chromium: the desk registers a package, builds a campaign with a preview, a second agent approves it, and
the campaign page charts its first wave as terminals report their installs."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.e2e.browser import log_in
from tests.e2e.conftest import E2E_ADMIN_TOKEN

pytestmark = pytest.mark.e2e
ADMIN = {"Authorization": f"Bearer {E2E_ADMIN_TOKEN}"}
REGION = "成都"
"""The campaign is kept to one region's shops, away from the demo merchant the other browser tests use."""
VERSION = "9.1.0"
SCREENSHOT = "/tmp/upgrades_campaign.png"


def _desk(page: Any, base: str, username: str) -> Any:
    """A new wide browser window (its own cookies) signed in as a demo desk user."""
    context = page.context.browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    window = context.new_page()
    log_in(window, base, username)
    return window


def _model_in_region(page: Any, base: str) -> str:
    """The model most of the region's active terminals are."""
    listed = page.request.get(f"{base}/api/v1/terminals?status=active&region={REGION}&per_page=200", headers=ADMIN)
    assert listed.ok, listed.text()
    models = Counter(t["model"] for t in listed.json()["items"])
    assert models, f"the demo fleet has no active terminal in {REGION}"
    return models.most_common(1)[0][0]


def _report_installed(page: Any, base: str, campaign_id: int, serial_number: str) -> None:
    """The terminal, with its own token, reports each install step of the campaign's package."""
    found = page.request.get(f"{base}/api/v1/terminals?q={serial_number}", headers=ADMIN).json()["items"]
    issued = page.request.post(f"{base}/api/v1/terminals/{found[0]['id']}/telemetry-token", headers=ADMIN)
    assert issued.status == 201, issued.text()
    now = datetime.now(UTC).isoformat()
    steps = ("downloading", "downloaded", "installing", "installed")
    reports = [{"report_id": f"{serial_number}-{campaign_id}-{step}", "campaign_id": campaign_id, "step": step,
                "at": now} for step in steps]
    posted = page.request.post(f"{base}/api/v1/upgrades/reports", data={"reports": reports},
                               headers={"Authorization": f"Bearer {issued.json()['token']}"})
    assert posted.ok and posted.json()["results"][-1]["state"] == "installed", posted.text()


def test_a_campaign_is_built_with_a_preview_approved_by_a_second_agent_and_charted(live_server: str,
                                                                                 page: Any) -> None:
    model = _model_in_region(page, live_server)
    desk = _desk(page, live_server, "agent")
    desk.click("[data-testid=nav-upgrades]")
    desk.wait_for_url(f"{live_server}/upgrades/campaigns")
    desk.click("a[href='/upgrades/packages']")

    content = f"posops e2e package {VERSION} for {model}".encode()
    form = desk.locator("[data-testid=upload-form]")
    form.locator("select[name=kind]").select_option("app")
    form.locator("input[name=model]").fill(model)
    form.locator("input[name=version]").fill(VERSION)
    form.locator("input[name=size_bytes]").fill(str(len(content)))
    form.locator("input[name=sha256]").fill(hashlib.sha256(content).hexdigest())
    form.locator("textarea[name=notes_zh]").fill("修复签到超时；优化读卡速度")
    form.locator("input[name=file]").set_input_files(
        files=[{"name": "app.bin", "mimeType": "application/octet-stream", "buffer": content}])
    form.locator("[data-testid=upload-submit]").click()
    desk.wait_for_selector("[data-testid=package-added]")
    desk.click("[data-testid=package-added] a")

    desk.fill("input[name=name]", f"{REGION} {model} {VERSION} 分批升级")
    desk.fill("input[name=regions]", REGION)
    percents = desk.locator("input[name=wave_percent]")
    for index, value in enumerate(["20", "100", "", ""]):
        percents.nth(index).fill(value)
    desk.click("[data-testid=preview-button]")
    desk.wait_for_selector("[data-testid=preview]")
    counts = [int(n) for n in desk.locator("[data-testid=wave-count]").all_inner_texts()]
    summary = desk.locator("[data-testid=preview-summary]").inner_text()
    targets = int(re.findall(r"(\d+) 台将升级", summary)[0])
    assert len(counts) == 2 and sum(counts) == targets and counts[0] >= 1, (counts, summary)
    first_wave = desk.locator("[data-wave='0'] td.ug-mono").inner_text().split(", ")

    desk.click("[data-testid=create-button]")
    desk.wait_for_selector("[data-testid=approve-refused]")
    campaign_id = int(desk.url.rsplit("/", 1)[1])
    assert "您创建了这个升级任务" in desk.locator("[data-testid=approve-refused]").inner_text()
    assert desk.locator("[data-testid=campaign-status]").get_attribute("data-status") == "awaiting_approval"

    checker = _desk(page, live_server, "checker")
    checker.goto(f"{live_server}/upgrades/campaigns/{campaign_id}")
    checker.click("[data-testid=approve-button]")
    checker.wait_for_selector("[data-testid=campaign-status][data-status=running]")
    assert "checker" in checker.locator("[data-testid=approved-by]").inner_text()
    for serial_number in first_wave:
        _report_installed(page, live_server, campaign_id, serial_number)

    checker.reload()
    wave = checker.locator("[data-testid=wave][data-wave='0']")
    assert wave.locator("[data-testid=wave-charts] svg").count() == 2
    shown = f"已安装 {len(first_wave) / counts[0]:.0%}"  # the preview's sample of the wave: at most five of it
    assert shown in (wave.locator("[data-testid=wave-charts]").text_content() or "")
    assert "本批尚未开始" in checker.locator("[data-testid=wave][data-wave='1']").inner_text()
    assert checker.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "nothing overflows"
    checker.screenshot(path=SCREENSHOT, full_page=True)
