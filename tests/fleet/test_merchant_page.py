"""The merchant page: every section with its records, what each role sees of it, and the merchant list."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Fleet
from tests.fleet.conftest import Heard, Records
from tests.helpers import login


def _section(html: str, name: str) -> str:
    marker = f'data-testid="merchant-{name}"'
    assert marker in html, name
    return html.split(marker)[1].split("</section>")[0]


def test_every_section_lists_the_merchants_records(client: TestClient, heard: Heard, records: Records) -> None:
    fleet = heard.fleet
    login(client, "agent")
    page = client.get(f"/merchants/{fleet.merchant_a}")
    assert page.status_code == 200
    html = page.text
    assert '<h1 data-testid="merchant-name">甲商户</h1>' in html
    details = _section(html, "details")
    assert "91310000AAAA00001X" in details and "021-5555 1234" in details and "周先生" in details
    fee = _section(html, "fee-plan")
    assert "30.00 元" in fee and "10.00 元" in fee and "每日万分之 5，宽限 5 天" in fee and "HT-9" in fee
    terminals = _section(html, "terminals")
    assert "终端（3）" in terminals
    assert re.findall(r'<a href="/terminals/\d+">([^<]+)</a>', terminals) == ["SN-TEST-0000", "SN-TEST-0001",
                                                                            "SN-TEST-0002"]
    listed = terminals.split('<ul class="hits">')[1]
    assert re.findall(r'data-presence="(\w+)"', listed) == ["online", "offline", "never"]
    assert "已停机 2" in terminals and "在线 1" in terminals and "离线 1" in terminals and "从未上报 1" in terminals
    requests = _section(html, "requests")
    assert f'href="/reactivation-requests/{records.request}"' in requests and "长期未使用" in requests
    assert f'href="/onboarding/{records.application}"' in _section(html, "applications")
    screens = _section(html, "screen-notices")
    assert "终端屏幕提示（2）" in screens and "SN-TEST-0000" in screens and "SN-TEST-0002" in screens
    assert "终端已停机" in screens
    diagnoses = _section(html, "diagnoses")
    assert f'href="/diagnoses/{records.diagnosis}"' in diagnoses and "小票打出来是白纸" in diagnoses
    tickets = _section(html, "tickets")
    assert f'href="/tickets/{records.ticket}"' in tickets and f'href="/tickets/{records.assigned_ticket}"' in tickets
    assert f'href="/tickets/{records.other_ticket}"' not in tickets, "merchant B's ticket is not on A's page"
    assert "甲商户" in html and "乙商户" not in html


def test_a_merchant_opens_its_own_page_and_no_other(client: TestClient, heard: Heard, records: Records) -> None:
    fleet = heard.fleet
    login(client, "merchant")
    own = client.get(f"/merchants/{fleet.merchant_a}")
    assert own.status_code == 200 and 'data-testid="merchant-requests"' in own.text
    other = client.get(f"/merchants/{fleet.merchant_b}", headers={"accept": "text/html"})
    assert other.status_code == 404 and "乙商户" not in other.text
    missing = client.get("/merchants/999999", headers={"accept": "text/html"})
    assert missing.status_code == 404
    assert client.get("/merchants", headers={"accept": "text/html"}).status_code == 403


def test_a_technician_sees_no_requests_or_applications_and_only_assigned_tickets(
        client: TestClient, heard: Heard, records: Records) -> None:
    login(client, "technician")
    html = client.get(f"/merchants/{heard.fleet.merchant_a}").text
    assert 'data-testid="merchant-requests"' not in html and 'data-testid="merchant-applications"' not in html
    tickets = _section(html, "tickets")
    assert f'href="/tickets/{records.assigned_ticket}"' in tickets
    assert f'href="/tickets/{records.ticket}"' not in tickets
    assert "维修工单（1）" in tickets
    for ticket in (records.assigned_ticket, records.ticket):  # the same as the repair pages let them open
        expected = 200 if ticket == records.assigned_ticket else 404
        assert client.get(f"/tickets/{ticket}", headers={"accept": "text/html"}).status_code == expected


def test_the_page_is_in_english_too(client: TestClient, heard: Heard, records: Records) -> None:
    login(client, "agent", lang="en")
    html = client.get(f"/merchants/{heard.fleet.merchant_a}").text
    assert "Fee plan" in html and "CNY 30.00" in html and "Screen notices (2)" in html and "Repair tickets (2)" in html
    assert "By status:" in html and "Online 1" in html
    data = ("甲商户", "周先生", "上海", "小票打出来是白纸")
    for text in data:
        html = html.replace(text, "")
    assert not re.search(r"[\u4e00-\u9fff]", html.replace("中文", "")), "no Chinese but the data on an English page"


def test_a_merchant_without_records_says_so(client: TestClient, fleet: Fleet) -> None:
    login(client, "admin")
    html = client.get(f"/merchants/{fleet.merchant_b}").text
    assert "尚未登记费率方案。" in _section(html, "fee-plan")
    for name in ("requests", "applications", "screen-notices", "diagnoses", "tickets"):
        assert "暂无。" in _section(html, name), name


def _merchants(client: TestClient, query: str) -> list[str]:
    html = client.get(f"/merchants?{query}").text
    return re.findall(r'<a href="/merchants/\d+">([^<]+)</a>', html)


def test_the_merchant_list_filters_by_name_region_and_phone(client: TestClient, heard: Heard) -> None:
    login(client, "risk")
    assert _merchants(client, "") == ["甲商户", "乙商户"]
    assert _merchants(client, "name=乙") == ["乙商户"]
    assert _merchants(client, "region=上") == ["甲商户"]
    assert _merchants(client, "phone=021-5555") == ["甲商户"]
    assert _merchants(client, "phone=13800138002") == ["乙商户"], "the phone is stored as +86 138 0013 8002"
    assert _merchants(client, "name=乙&region=上海") == []
    page = client.get("/merchants").text
    assert "共 2 家" in page and f'href="/terminals?merchant_id={heard.fleet.merchant_a}">3</a>' in page
    assert client.get("/merchants?name=" + "x" * 65, headers={"accept": "text/html"}).status_code == 422


@pytest.mark.parametrize(("role", "status"), [("agent", 200), ("risk", 200), ("admin", 200), ("technician", 403),
                                              ("merchant", 403)])
def test_who_lists_merchants(client: TestClient, fleet: Fleet, role: str, status: int) -> None:
    login(client, role)
    assert client.get("/merchants", headers={"accept": "text/html"}).status_code == status
