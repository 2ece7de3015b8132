"""The fleet's terminal list: every filter, every sort order, presence from telemetry, on the API and the page."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from posops.core.db import Database
from posops.fleet import service
from posops.fleet.schemas import FleetFilters
from posops.terminals import service as terminals
from tests.conftest import Fleet
from tests.fleet.conftest import Heard
from tests.helpers import error_fields, login, make_terminal

ALL = ["SN-TEST-0000", "SN-TEST-0001", "SN-TEST-0002", "SN-TEST-0003", "SN-TEST-0004"]


def _serials(client: TestClient, fleet: Fleet, query: str, role: str = "admin") -> list[str]:
    response = client.get(f"/api/v1/fleet/terminals?{query}", headers=fleet.headers(role))
    assert response.status_code == 200, response.text
    return [t["serial_number"] for t in response.json()["items"]]


def _page_serials(html: str) -> list[str]:
    table = html.split('data-testid="terminal-table"')[1].split("</table>")[0] if "terminal-table" in html else ""
    return re.findall(r'<a href="/terminals/\d+">([^<]+)</a>', table)


FILTERS = [
    ("q=sn-test-0003", ["SN-TEST-0003"]),  # serial number, any case
    ("q=90000004", ["SN-TEST-0004"]),  # TID
    ("q=898310000000001", ["SN-TEST-0001"]),  # MID
    ("q=乙商", ["SN-TEST-0003", "SN-TEST-0004"]),  # merchant name
    ("q=0%25", []),  # a % is looked for as itself, not as a wildcard
    ("status=suspended", ["SN-TEST-0002"]),
    ("model=PAX%20A920", ["SN-TEST-0001", "SN-TEST-0003"]),
    ("region=北", ["SN-TEST-0003", "SN-TEST-0004"]),  # region: a substring
    ("reason=arrears", ["SN-TEST-0002"]),
    ("reason=dormant", []),
    ("presence=online", ["SN-TEST-0000", "SN-TEST-0004"]),
    ("presence=offline", ["SN-TEST-0001", "SN-TEST-0003"]),
    ("presence=never", ["SN-TEST-0002"]),
    ("presence=online&region=上海", ["SN-TEST-0000"]),
    ("q=SN-TEST&status=active&presence=offline", ["SN-TEST-0001", "SN-TEST-0003"]),
    ("q=%20%2090000001%20", ["SN-TEST-0001"]),  # spaces around what was read out do not count
]


def test_each_filter_narrows_the_list(client: TestClient, heard: Heard) -> None:
    wrong = {query: got for query, expected in FILTERS if (got := _serials(client, heard.fleet, query)) != expected}
    assert not wrong, wrong


def test_merchant_filter_and_a_merchant_user_see_only_their_own(client: TestClient, heard: Heard) -> None:
    fleet = heard.fleet
    assert _serials(client, fleet, f"merchant_id={fleet.merchant_b}") == ["SN-TEST-0003", "SN-TEST-0004"]
    assert _serials(client, fleet, "", role="merchant") == ALL[:3]
    assert _serials(client, fleet, "q=乙商户", role="merchant") == [], "another merchant's terminals stay hidden"
    assert _serials(client, fleet, f"merchant_id={fleet.merchant_b}", role="merchant") == []


SORTS = [
    ("", ALL),  # registration order
    ("serial_number", ALL),
    ("-serial_number", ALL[::-1]),
    ("tid", ALL),
    ("-tid", ALL[::-1]),
    ("merchant", ALL[3:] + ALL[:3]),  # 乙 (U+4E59) sorts before 甲 (U+7532); serial numbers break the tie
    ("-merchant", ALL[:3] + ALL[3:]),
    ("status", ["SN-TEST-0000", "SN-TEST-0001", "SN-TEST-0003", "SN-TEST-0004", "SN-TEST-0002"]),
    ("-status", ["SN-TEST-0002", "SN-TEST-0000", "SN-TEST-0001", "SN-TEST-0003", "SN-TEST-0004"]),
    ("last_seen", ["SN-TEST-0002", "SN-TEST-0001", "SN-TEST-0003", "SN-TEST-0004", "SN-TEST-0000"]),
    ("-last_seen", ["SN-TEST-0000", "SN-TEST-0004", "SN-TEST-0003", "SN-TEST-0001", "SN-TEST-0002"]),
]


def test_sort_orders(client: TestClient, heard: Heard) -> None:
    wrong = {sort: got for sort, expected in SORTS
             if (got := _serials(client, heard.fleet, f"sort={sort}" if sort else "")) != expected}
    assert not wrong, wrong


def test_presence_and_last_seen_come_from_the_latest_heartbeat(client: TestClient, heard: Heard) -> None:
    items = client.get("/api/v1/fleet/terminals", headers=heard.fleet.headers("agent")).json()["items"]
    by_serial = {t["serial_number"]: t for t in items}
    assert {sn: t["presence"] for sn, t in by_serial.items()} == {
        "SN-TEST-0000": "online", "SN-TEST-0001": "offline", "SN-TEST-0002": "never", "SN-TEST-0003": "offline",
        "SN-TEST-0004": "online"}
    assert by_serial["SN-TEST-0002"]["last_seen_at"] is None
    for sn, at in heard.last_seen.items():
        assert by_serial[sn]["last_seen_at"][:19] == at.isoformat()[:19]


def test_online_is_the_telemetry_threshold(db: Database, heard: Heard) -> None:
    """A terminal silent for 20 minutes is offline under the default 300 s, online when asked as of 19 minutes ago."""
    admin = heard.fleet.users["admin"]
    earlier = heard.last_seen["SN-TEST-0003"]
    page = service.list_terminals(db, admin, FleetFilters(q="SN-TEST-0003"), now=earlier)
    assert [t.presence for t in page.items] == ["online"]
    assert [t.presence for t in service.list_terminals(db, admin, FleetFilters(q="SN-TEST-0003")).items] \
        == ["offline"]


def test_paging_keeps_the_order_and_the_total(client: TestClient, heard: Heard) -> None:
    headers = heard.fleet.headers("admin")
    pages = [client.get(f"/api/v1/fleet/terminals?sort=-last_seen&per_page=2&page={n}", headers=headers).json()
             for n in (1, 2, 3)]
    assert [p["total"] for p in pages] == [5, 5, 5]
    assert [t["serial_number"] for p in pages for t in p["items"]] == [
        "SN-TEST-0000", "SN-TEST-0004", "SN-TEST-0003", "SN-TEST-0001", "SN-TEST-0002"]


INVALID = [
    ("status=broken", "status"), ("reason=tired", "reason"), ("presence=sometimes", "presence"),
    ("sort=colour", "sort"), ("sort=--tid", "sort"), ("merchant_id=abc", "merchant_id"),
    ("q=" + "x" * 65, "q"), ("per_page=1000", "per_page"),
]


def test_invalid_filter_values_are_422_on_the_api(client: TestClient, fleet: Fleet) -> None:
    for query, field in INVALID:
        response = client.get(f"/api/v1/fleet/terminals?{query}", headers=fleet.headers("agent"))
        assert response.status_code == 422, query
        assert field in error_fields(response), (query, error_fields(response))


def test_invalid_filter_values_are_the_console_error_page(client: TestClient, fleet: Fleet) -> None:
    login(client, "agent")
    for query, _ in INVALID[:-1]:  # per_page is the API's
        for path in ("/terminals", "/terminals.csv"):
            response = client.get(f"{path}?{query}", headers={"accept": "text/html"})
            assert response.status_code == 422, (path, query)
            assert 'data-testid="error-message"' in response.text


def test_the_page_filters_sorts_and_shows_presence(client: TestClient, heard: Heard) -> None:
    login(client, "agent")
    blank = client.get("/terminals?q=%20%20&status=&region=%20")
    assert blank.status_code == 200 and len(_page_serials(blank.text)) == 5, "blank fields filter nothing"
    page = client.get("/terminals?presence=offline&sort=-last_seen")
    assert page.status_code == 200
    assert _page_serials(page.text) == ["SN-TEST-0003", "SN-TEST-0001"]
    assert "共 2 台" in page.text
    cells = re.findall(r'data-presence="(\w+)"', page.text)
    assert cells == ["offline", "offline"]
    # the header being sorted descending leads to ascending and says so; the others keep the filters
    header = re.search(r'<th aria-sort="descending"><a href="([^"]+)"[^>]*data-sort="last_seen"', page.text)
    assert header is not None and header.group(1).replace("&amp;", "&") == "/terminals?presence=offline&sort=last_seen"
    serial_header = re.search(r'<a href="([^"]+)"[^>]*data-sort="serial_number"', page.text)
    assert serial_header is not None
    assert serial_header.group(1).replace("&amp;", "&") == "/terminals?presence=offline&sort=serial_number"
    ascending = client.get(header.group(1).replace("&amp;", "&"))
    assert _page_serials(ascending.text) == ["SN-TEST-0001", "SN-TEST-0003"]


def test_the_page_links_merchants_to_their_page(client: TestClient, fleet: Fleet) -> None:
    login(client, "agent")
    page = client.get("/terminals").text
    assert f'<a href="/merchants/{fleet.merchant_a}">甲商户</a>' in page
    assert f'<a href="/merchants/{fleet.merchant_b}">乙商户</a>' in page
    detail = client.get(f"/terminals/{fleet.terminals_a[0]}").text
    assert f'href="/merchants/{fleet.merchant_a}"' in detail
    only_b = client.get(f"/terminals?merchant_id={fleet.merchant_b}").text
    assert _page_serials(only_b) == ["SN-TEST-0003", "SN-TEST-0004"]
    assert 'data-testid="merchant-filter"' in only_b and "乙商户" in only_b


def test_the_page_is_in_english_too(client: TestClient, heard: Heard) -> None:
    login(client, "agent", lang="en")
    page = client.get("/terminals?presence=never").text
    assert "1 terminals" in page and "Never reported" in page and "Last seen" in page
    assert not re.search(r"[\u4e00-\u9fff]", page.replace("甲商户", "").replace("乙商户", "").replace("上海", "")
                         .replace("北京", "").replace("中文", "")), "no Chinese but the data on an English page"


def test_pages_past_the_first_keep_the_filters(client: TestClient, db: Database, fleet: Fleet) -> None:
    for i in range(30):
        make_terminal(db, fleet.merchant_a, serial_number=f"SN-MORE-{i:04d}", tid=f"8800{i:04d}", region="上海")
    login(client, "agent")
    first = client.get("/terminals?q=SN-MORE&sort=-serial_number").text
    assert _page_serials(first)[0] == "SN-MORE-0029" and len(_page_serials(first)) == 25
    link = re.search(r'<a href="([^"]+page=2)">', first)
    assert link is not None
    second = client.get(link.group(1).replace("&amp;", "&")).text
    assert _page_serials(second) == [f"SN-MORE-{i:04d}" for i in range(4, -1, -1)]


def _model_options(client: TestClient, username: str) -> list[str]:
    login(client, username)
    listing = client.get("/terminals").text
    select = listing.split('name="model"')[1].split("</select>")[0]
    return re.findall(r"<option(?![^>]*value=)[^>]*>([^<]*)</option>", select)  # not the "any model" option


def test_model_filter_lists_the_models_each_caller_can_see(client: TestClient, db: Database, fleet: Fleet) -> None:
    make_terminal(db, fleet.merchant_b, serial_number="SN-TEST-0900", tid="90000900", model="Ingenico Move5000",
                  vendor="Ingenico")
    assert terminals.terminal_models(db, fleet.users["agent"]) == ["Ingenico Move5000", "PAX A920", "Sunmi P2"]
    assert terminals.terminal_models(db, fleet.users["merchant"]) == ["PAX A920", "Sunmi P2"]
    assert _model_options(client, "agent") == ["Ingenico Move5000", "PAX A920", "Sunmi P2"]
    client.cookies.clear()
    assert _model_options(client, "merchant") == ["PAX A920", "Sunmi P2"], "another merchant's models stay hidden"
