"""Global search: each key a merchant reads out finds its terminal or merchant, scoped, grouped, linked."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from posops.core.db import Database
from tests.conftest import Fleet
from tests.fleet.conftest import Heard
from tests.helpers import error_fields, login, make_terminal


def _found(client: TestClient, fleet: Fleet, q: str, role: str = "agent") -> tuple[list[str], list[str], dict]:
    response = client.get("/api/v1/search", params={"q": q}, headers=fleet.headers(role))
    assert response.status_code == 200, response.text
    body = response.json()
    return ([t["serial_number"] for t in body["terminals"]["items"]], [m["name"] for m in body["merchants"]["items"]],
            body)


def test_each_key_finds_what_it_names(client: TestClient, heard: Heard) -> None:
    fleet = heard.fleet
    terminals, merchants, body = _found(client, fleet, "sn-test-0003")  # serial number, any case
    assert (terminals, merchants) == (["SN-TEST-0003"], [])
    assert body["terminals"]["items"][0]["matched"] == ["serial_number"]
    assert body["exact_terminal_id"] == fleet.terminals_b[0]
    terminals, _, body = _found(client, fleet, "90000004")  # TID
    assert terminals == ["SN-TEST-0004"] and body["terminals"]["items"][0]["matched"] == ["tid"]
    assert body["exact_terminal_id"] == fleet.terminals_b[1]
    terminals, _, body = _found(client, fleet, "898310000000001")  # MID: found, but not an exact hit
    assert terminals == ["SN-TEST-0001"] and body["terminals"]["items"][0]["matched"] == ["mid"]
    assert body["exact_terminal_id"] is None
    terminals, merchants, body = _found(client, fleet, "乙商")  # a part of a merchant's name
    assert (terminals, merchants) == ([], ["乙商户"]) and body["merchants"]["items"][0]["matched"] == ["name"]
    assert body["merchants"]["items"][0]["terminals"] == 2
    _, merchants, body = _found(client, fleet, "021 5555 1234")  # the phone as read out, spaces and all
    assert merchants == ["甲商户"] and body["merchants"]["items"][0]["matched"] == ["phone"]
    _, merchants, _ = _found(client, fleet, "13800138002")  # stored as +86 138 0013 8002
    assert merchants == ["乙商户"]
    _, merchants, _ = _found(client, fleet, "8002")  # the last four digits
    assert merchants == ["乙商户"]


def test_substrings_group_terminals_and_count_them(client: TestClient, heard: Heard) -> None:
    terminals, merchants, body = _found(client, heard.fleet, "9000000")
    assert terminals == ["SN-TEST-0000", "SN-TEST-0001", "SN-TEST-0002", "SN-TEST-0003", "SN-TEST-0004"]
    assert body["terminals"]["total"] == 5 and body["exact_terminal_id"] is None
    assert merchants == [], "a TID fragment is no phone number of any merchant here"


def test_a_merchant_user_finds_only_its_own(client: TestClient, heard: Heard) -> None:
    fleet = heard.fleet
    terminals, merchants, body = _found(client, fleet, "9000000", role="merchant")
    assert terminals == ["SN-TEST-0000", "SN-TEST-0001", "SN-TEST-0002"] and body["terminals"]["total"] == 3
    terminals, merchants, body = _found(client, fleet, "SN-TEST-0003", role="merchant")
    assert (terminals, merchants, body["exact_terminal_id"]) == ([], [], None)
    assert _found(client, fleet, "乙商户", role="merchant")[1] == []
    assert _found(client, fleet, "13800138002", role="merchant")[1] == []
    assert _found(client, fleet, "商户", role="merchant")[1] == ["甲商户"]
    assert _found(client, fleet, "商户", role="merchant_b")[1] == ["乙商户"]


def test_a_tid_shared_with_a_decommissioned_device_is_no_single_exact_hit(client: TestClient, db: Database,
                                                                          fleet: Fleet) -> None:
    make_terminal(db, fleet.merchant_a, serial_number="SN-OLD-0001", tid="90000001", status="decommissioned")
    terminals, _, body = _found(client, fleet, "90000001")
    assert terminals == ["SN-TEST-0001", "SN-OLD-0001"], "exact hits first, the one in service before the old one"
    assert body["exact_terminal_id"] is None


def test_the_api_refuses_an_empty_or_overlong_search(client: TestClient, fleet: Fleet) -> None:
    for params in ({}, {"q": ""}, {"q": "x" * 65}):
        response = client.get("/api/v1/search", params=params, headers=fleet.headers("agent"))
        assert response.status_code == 422, params
        assert error_fields(response) == ["q"]
    blank = client.get("/api/v1/search", params={"q": "   "}, headers=fleet.headers("agent"))
    assert blank.status_code == 422 and error_fields(blank) == ["q"]


def test_the_console_goes_straight_to_a_single_exact_hit(client: TestClient, heard: Heard) -> None:
    fleet = heard.fleet
    login(client, "agent")
    for q in ("SN-TEST-0002", "90000002", " sn-test-0002 "):
        response = client.get("/search", params={"q": q}, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == f"/terminals/{fleet.terminals_a[2]}"


def test_the_console_lists_groups_with_links(client: TestClient, heard: Heard) -> None:
    fleet = heard.fleet
    login(client, "agent")
    page = client.get("/search", params={"q": "商户"})
    assert page.status_code == 200
    merchants = page.text.split('data-testid="search-merchants"')[1]
    assert f'<a href="/merchants/{fleet.merchant_a}">甲商户</a>' in merchants
    assert f'<a href="/merchants/{fleet.merchant_b}">乙商户</a>' in merchants
    assert "没有找到终端。" in page.text.split('data-testid="search-merchants"')[0]
    page = client.get("/search", params={"q": "SN-TEST"})
    hits = re.findall(r'<li data-testid="terminal-hit"><a href="/terminals/(\d+)">([^<]+)</a>', page.text)
    assert [sn for _, sn in hits] == [f"SN-TEST-000{i}" for i in range(5)]
    assert {int(i) for i, _ in hits} == {*fleet.terminals_a, *fleet.terminals_b}
    assert "匹配：序列号" in page.text
    client.get("/lang/en")
    english = client.get("/search", params={"q": "商户"}).text
    assert "Merchants (2)" in english and "No terminal found." in english and "Matched: name" in english
    for text in ("商户", "甲", "乙", "周先生", "上海", "北京"):
        english = english.replace(text, "")
    assert not re.search(r"[\u4e00-\u9fff]", english.replace("中文", "")), "no Chinese but the data in English"


def test_the_console_says_when_nothing_matches_and_asks_when_empty(client: TestClient, fleet: Fleet) -> None:
    login(client, "merchant")
    empty = client.get("/search")
    assert empty.status_code == 200 and 'data-testid="search-prompt"' in empty.text
    nothing = client.get("/search", params={"q": "SN-TEST-0003"}, follow_redirects=False)
    assert nothing.status_code == 200, "another merchant's terminal is not an exact hit for a merchant"
    assert "没有找到终端。" in nothing.text and "没有找到商户。" in nothing.text
    assert "乙商户" not in nothing.text
    too_long = client.get("/search", params={"q": "x" * 65}, headers={"accept": "text/html"})
    assert too_long.status_code == 422 and 'data-testid="error-message"' in too_long.text


def test_many_hits_show_the_first_and_link_to_the_whole_list(client: TestClient, db: Database, fleet: Fleet) -> None:
    for i in range(25):
        make_terminal(db, fleet.merchant_a, serial_number=f"SN-MANY-{i:04d}", tid=f"7700{i:04d}")
    login(client, "agent")
    page = client.get("/search", params={"q": "SN-MANY"}).text
    assert len(re.findall(r'data-testid="terminal-hit"', page)) == 20
    assert "终端（25）" in page and 'href="/terminals?q=SN-MANY"' in page


def test_the_header_search_box_is_on_every_page_for_every_role(client: TestClient, fleet: Fleet) -> None:
    for role in ("merchant", "agent", "risk", "technician", "admin"):
        client.cookies.clear()
        login(client, role)
        header = client.get("/terminals").text.split("<main>")[0]
        assert '<form method="get" action="/search"' in header and 'name="q"' in header, role
    client.cookies.clear()
    assert 'action="/search"' not in client.get("/login").text, "not before signing in"
