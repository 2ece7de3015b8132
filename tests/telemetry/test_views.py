"""Console pages: the terminal page's telemetry section and the incident pages, in both languages."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from posops.core.db import Database, utcnow
from posops.telemetry import service
from tests.conftest import Fleet
from tests.helpers import login
from tests.telemetry.heartbeats import section
from tests.telemetry.storage import add_terminals, failing, healthy, store


def test_a_terminal_that_never_reported_says_so(client: TestClient, fleet: Fleet) -> None:
    login(client, "merchant")
    page = client.get(f"/terminals/{fleet.terminals_a[0]}").text
    telemetry = page.split('data-testid="telemetry"')[1]
    assert "从未上报" in telemetry and 'data-testid="telemetry-charts"' not in page


def test_the_terminal_page_shows_state_charts_and_evidence(client: TestClient, db: Database, fleet: Fleet) -> None:
    now = utcnow()
    for minute in range(0, 30, 3):
        at = now - timedelta(minutes=30 - minute)
        store(db, [healthy("SN-TEST-0000", minute, at, battery=section("battery", pct=60 - minute),
                           printer=section("printer", paper="out"), screen_notice="打印机缺纸",
                           reader={"swipe_err": minute, "chip_err": 0, "tap_err": 0, "reads": 100 + 20 * minute})],
              at)
    login(client, "merchant")
    page = client.get(f"/terminals/{fleet.terminals_a[0]}").text
    assert '<span class="badge active" data-testid="telemetry-online">在线</span>' in page
    assert "33% · 用电池" in page and "4G 移动网络 · -90 dBm · 可连通收单主机" in page and "缺纸" in page
    charts = page.split('data-testid="telemetry-charts"')[1].split("</section>")[0]
    assert charts.count("<svg") == 3 and charts.count("<polyline") == 3
    known = page.split('data-testid="known-checks"')[1].split("</section>")[0]
    assert 'data-check="printer_paper" data-outcome="empty_or_reversed"' in known
    assert "printer_paper" not in known.replace('data-check="printer_paper"', "")  # named in words, not by id
    client.get("/lang/en")
    english = client.get(f"/terminals/{fleet.terminals_a[0]}").text
    assert "Online" in english and "Card read error rate" in english


def test_an_outage_is_shown_to_the_merchant_and_on_the_incident_page(client: TestClient, db: Database,
                                                                     fleet: Fleet) -> None:
    now = utcnow()
    serials = add_terminals(db, fleet.merchant_a, 12, prefix="VIEW", model="Landi A8", app="2.8.1")
    for minutes in (2, 1):
        at = now - timedelta(minutes=minutes)
        store(db, [failing(sn, minutes, at) for sn in serials], at)
        service.scan_incidents(db, at)
    login(client, "merchant")
    terminal = next(iter(serials.values()))
    page = client.get(f"/terminals/{terminal}").text
    notices = page.split('data-testid="incident-notice"')
    assert len(notices) == 3, "the area and the cohort"
    assert "上海地区的中国移动网络正在发生故障" in page and "这不是您设备的问题" in page
    incidents = client.get("/incidents").text
    assert "以下故障影响过您的终端" in incidents and "地区/运营商：上海 · 中国移动" in incidents
    incident_id = page.split('href="/incidents/')[1].split('"')[0]
    detail = client.get(f"/incidents/{incident_id}").text
    timeline = detail.split('data-testid="incident-timeline"')[1].split("</section>")[0]
    assert "<svg" in timeline and "<polyline" in timeline, "two scans, one line"
    assert detail.count('href="/terminals/') == 12 and "12 / 12 台（100%）" in detail


def test_a_halted_campaign_shows_on_the_incident_pages_with_its_campaign(client: TestClient, db: Database,
                                                                       fleet: Fleet) -> None:
    with db.transaction() as session:
        incident = service.open_upgrade_incident(
            session, service.SCANNER, campaign_id=9, version="3.3.0", terminals=40, failing=4,
            terminal_ids=fleet.terminals_a[:2], share=0.25, baseline=0.02, now=utcnow(), reason="health gate")
    login(client, "agent")
    listed = client.get("/incidents").text
    row = listed.split('data-testid="incident-table"')[1].split("</tr>")[1]
    assert "升级任务 #9 版本 3.3.0 健康检查暂停" in row and 'href="/upgrades/campaigns/9"' in row
    assert "4 / 40 台已升级（10%）" in row
    detail = client.get(f"/incidents/{incident}").text
    assert "升级任务 #9 版本 3.3.0 健康检查暂停" in detail.split('data-testid="incident-group"')[1].split("</dd>")[0]
    assert detail.count('href="/upgrades/campaigns/9"') == 2 and 'data-testid="incident-timeline"' not in detail
    assert "25%" in detail.split('data-testid="treated-rate"')[1][:20]
    assert "2%" in detail.split('data-testid="control-rate"')[1][:20]
    assert "推送的 3.3.0 版本" in detail and "升级暂停通知" in detail
    export = client.get("/incidents.csv").text
    assert "升级任务/版本" in export
    client.get("/lang/en")
    english = client.get(f"/incidents/{incident}").text
    assert "Campaign #9, version 3.3.0 halted by its health gate" in english and "See the campaign" in english
    assert "4 of 40 upgraded (10%)" in client.get("/incidents").text

    login(client, "merchant")
    mine = client.get(f"/incidents/{incident}").text
    assert "halted by its health gate" in mine and "/upgrades/campaigns/" not in mine
    assert 'data-testid="affected-terminals"' in mine
    login(client, "merchant_b")
    assert client.get(f"/incidents/{incident}").status_code == 404
