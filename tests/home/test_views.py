"""Each role's home page shows what the API's lists count for the same filters, and only what the caller may see."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta
from html import unescape
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Fleet
from tests.helpers import csrf_token, login
from tests.home.fleet import ADDRESS, CJK, HomeFleet, chart_rows, figure, has_figure, region_online, visible_text
from tests.terminals.flows import ok

DESK = ["agent", "risk", "admin"]
CONSOLE_ZONE = ZoneInfo("Asia/Shanghai")


def _api(client: TestClient, fleet: Fleet, role: str, path: str) -> Any:
    return ok(client.get(path, headers=fleet.headers(role)))


def _total(client: TestClient, fleet: Fleet, role: str, path: str) -> int:
    return int(_api(client, fleet, role, path)["total"])


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _sla_standings(tickets: list[dict[str, Any]]) -> Counter[str]:
    """Open tickets by SLA standing, worked out from what the API says of each: breached, today or later."""
    now = datetime.now(CONSOLE_ZONE)
    day_ends = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=CONSOLE_ZONE)
    standings: Counter[str] = Counter()
    for ticket in tickets:
        sla = ticket["sla"]
        if sla["respond_breached"] or sla["resolve_breached"]:
            standings["breached"] += 1
            continue
        pending = [_instant(sla["respond_by"]) if sla["responded_at"] is None else None,
                   _instant(sla["resolve_by"]) if sla["repaired_at"] is None else None]
        standings["today" if any(d is not None and d < day_ends for d in pending) else "later"] += 1
    return standings


def _presence(client: TestClient, fleet: Fleet, role: str) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]:
    """The caller's terminals and, by id, what their telemetry answer says (online True, False or None)."""
    terminals = _api(client, fleet, role, "/api/v1/terminals?per_page=200")["items"]
    return terminals, {t["id"]: _api(client, fleet, role, f"/api/v1/terminals/{t['id']}/telemetry") for t in terminals}


def test_signing_in_lands_on_the_home_page(client: TestClient, fleet: Fleet) -> None:
    token = csrf_token(client.get("/login").text)
    response = client.post("/login", data={"username": "agent", "password": "correct-horse-9", "csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert "<h1>今日工作</h1>" in client.get("/").text


@pytest.mark.parametrize("role", DESK)
def test_the_desk_figures_are_what_the_lists_count(client: TestClient, home: HomeFleet, role: str) -> None:
    fleet = home.fleet
    login(client, role)
    html = client.get("/").text
    assert "<title>今日工作 · posops</title>" in html and "<h1>今日工作</h1>" in html

    open_tickets = _api(client, fleet, role, "/api/v1/tickets?open=true&per_page=200")
    standings = _sla_standings(open_tickets["items"])
    suspended = _api(client, fleet, role, "/api/v1/terminals?status=suspended&per_page=200")
    terminals, telemetry = _presence(client, fleet, role)
    incidents = _api(client, fleet, role, "/api/v1/telemetry/incidents?status=open")
    expected = {
        "n-requests-waiting": ("/reactivation-requests?status=submitted&mine=0",
                               _total(client, fleet, role, "/api/v1/reactivation-requests?status=submitted")),
        "n-applications-submitted": ("/onboarding?status=submitted",
                                     _total(client, fleet, role, "/api/v1/onboarding/applications?status=submitted")),
        "n-applications-reviewing": ("/onboarding?status=under_review", _total(
            client, fleet, role, "/api/v1/onboarding/applications?status=under_review")),
        "n-incidents-open": ("/incidents?status=open", len(incidents)),
        "n-tickets-open": ("/tickets", open_tickets["total"]),
        "n-tickets-breached": ("/tickets?breached=1",
                               _total(client, fleet, role, "/api/v1/tickets?open=true&breached=true")),
        "n-tickets-due-today": ("/tickets?due=today", standings["today"]),
        "n-tickets-due-later": ("/tickets?due=later", standings["later"]),
        "n-suspended": ("/terminals?status=suspended", suspended["total"]),
        "n-offline": ("/terminals?presence=offline", sum(1 for t in telemetry.values() if t["online"] is False)),
        "n-never": ("/terminals?presence=never", sum(1 for t in telemetry.values() if t["online"] is None)),
        **{f"n-suspended-{reason}": (f"/terminals?status=suspended&reason={reason}", n)
           for reason, n in Counter(t["status_reason"] for t in suspended["items"]).items()},
    }
    for_me = _total(client, fleet, role, "/api/v1/reactivation-requests?status=submitted&for_me=true")
    if role == "admin":  # an administrator decides no reactivation: no "waiting for me" figure
        assert not has_figure(html, "n-requests-for-me")
    else:
        expected["n-requests-for-me"] = ("/reactivation-requests?status=submitted", for_me)
    assert {testid: figure(html, testid) for testid in expected} == expected
    assert standings["breached"] == expected["n-tickets-breached"][1], "the breached flags are what the list filters"
    assert sum(standings.values()) == open_tickets["total"]
    # the API's own due filter agrees with the page and with the SLA fields of every ticket
    assert _total(client, fleet, role, "/api/v1/tickets?due=today") == standings["today"]
    assert _total(client, fleet, role, "/api/v1/tickets?due=later") == standings["later"]
    # the fleet has something on every card, so the page could not pass by showing zeros
    nothing = [testid for testid, (_, n) in expected.items() if n == 0 and testid != "n-requests-for-me"]
    assert nothing == []
    assert len(terminals) > expected["n-offline"][1] + expected["n-never"][1]


def test_the_desk_charts_draw_the_fleet(client: TestClient, home: HomeFleet) -> None:
    fleet = home.fleet
    login(client, "agent")
    html = client.get("/").text
    terminals, telemetry = _presence(client, fleet, "agent")
    assert chart_rows(html, "status") == dict(Counter(t["status"] for t in terminals))
    assert re.search(r'<a href="/terminals\?status=suspended" class="home-chart-row" data-key="suspended"', html)

    in_service = [t for t in terminals if t["status"] != "decommissioned"]
    assert chart_rows(html, "regions") == dict(Counter(t["region"] for t in in_service))
    online: Counter[str] = Counter()
    for t in in_service:
        online[t["region"]] += telemetry[t["id"]]["online"] is True
    assert region_online(html) == dict(online)

    def running(t: dict[str, Any]) -> str:
        heartbeat = telemetry[t["id"]].get("heartbeat")
        return (heartbeat or {}).get("software", {}).get("app") or t["app_version"]

    assert chart_rows(html, "versions") == {f"v:{v}": n for v, n in Counter(running(t) for t in in_service).items()}
    # three diagnoses in the last 30 days (two printer, one card reader); the 40-day-old power fault is left out
    assert chart_rows(html, "faults") == {"printer": 2, "card_read": 1}
    section = html.split('data-testid="chart-faults"')[1].split("</section>")[0]
    assert "打印故障" in section and "读卡不灵" in section


def test_the_desk_page_speaks_one_language(client: TestClient, home: HomeFleet) -> None:
    login(client, "agent")
    chinese = client.get("/").text
    client.get("/lang/en")
    english = client.get("/").text
    assert "Today's work" in visible_text(english) and "Receipt printer does not print" in english
    data = {t["region"] for t in _api(client, home.fleet, "agent", "/api/v1/terminals?per_page=200")["items"]} - {""}
    text = visible_text(english)
    for value in data:
        text = text.replace(value, " ")
    assert CJK.findall(text) == [], "an English page with Chinese words that are not data"
    for page in (chinese, english):
        assert re.findall(r"\bhome\.[a-z_.]+", visible_text(page)) == [], "a message key shown untranslated"


def test_the_desk_lists_count_what_the_page_says(client: TestClient, home: HomeFleet) -> None:
    login(client, "agent")
    html = client.get("/").text
    for testid in ("n-tickets-breached", "n-tickets-due-today", "n-tickets-due-later"):
        href, number = figure(html, testid)
        listed = client.get(href).text
        assert f'data-testid="ticket-total">共 {number} 张<' in listed, testid
        assert listed.count("<tr data-ticket=") == number, testid
    href, number = figure(html, "n-requests-waiting")
    assert client.get(href).text.count('href="/reactivation-requests/') >= number > 0


def _steps(html: str) -> set[tuple[str, str, str]]:
    return {(kind, serial, unescape(href)) for kind, serial, href in re.findall(
        r'<li data-step="([a-z_]+)" data-serial="([^"]+)">\s*<a href="([^"]+)"', html)}


@pytest.mark.parametrize("merchant", ["merchant", "merchant_b"])
def test_a_merchant_sees_its_own_terminals_and_what_to_do(client: TestClient, home: HomeFleet, merchant: str) -> None:
    fleet = home.fleet
    login(client, merchant)
    html = client.get("/").text
    assert "<h1>我的终端</h1>" in html
    terminals, telemetry = _presence(client, fleet, merchant)
    mine = {t["serial_number"] for t in terminals}
    shown = set(re.findall(r'<tr data-serial="([^"]+)"', html))
    assert shown == mine and mine
    for serial in set(home.terminal_ids) - mine:
        assert serial not in html, f"{merchant} sees another merchant's terminal {serial}"

    requests = _api(client, fleet, merchant, "/api/v1/reactivation-requests?per_page=200")["items"]
    open_requests = {r["terminal_id"]: r for r in sorted(requests, key=lambda r: r["id"])
                     if r["status"] in ("submitted", "rejected")}
    repaired = _api(client, fleet, merchant, "/api/v1/tickets?status=repaired&per_page=200")["items"]
    under_repair = {t["terminal_id"] for t in _api(client, fleet, merchant, "/api/v1/tickets?open=true")["items"]}
    expected_steps = set()
    for t in terminals:
        request = open_requests.get(t["id"])
        if t["status"] == "suspended" and t["status_reason"] == "device_fault" and t["id"] in under_repair \
                and request is None:
            pass  # accepting the repair reactivates it
        elif t["status"] == "suspended" and request is None:
            expected_steps.add(("request_reactivation", t["serial_number"], f"/terminals/{t['id']}"))
        elif t["status"] == "suspended" and request["status"] == "rejected":
            expected_steps.add(("resubmit_request", t["serial_number"], f"/reactivation-requests/{request['id']}"))
        state = telemetry[t["id"]]
        if t["status"] == "active" and (state["online"] is False or state.get("failing")):
            expected_steps.add(("diagnose", t["serial_number"], f"/diagnoses/new?terminal_id={t['serial_number']}"))
    expected_steps |= {("accept_repair", r["serial_number"], f"/tickets/{r['id']}") for r in repaired}
    assert _steps(html) == expected_steps and expected_steps
    if merchant == "merchant":
        assert 'data-serial="SN-HOME-0001"' not in html.split('data-testid="next-steps"')[1].split("</section>")[0]

    applications = Counter(a["status"] for a in _api(
        client, fleet, merchant, "/api/v1/onboarding/applications?per_page=200")["items"])
    expected = {
        "n-terminals": ("/terminals", len(terminals)),
        "n-suspended": ("/terminals?status=suspended", sum(1 for t in terminals if t["status"] == "suspended")),
        "n-offline": ("/terminals?presence=offline", sum(1 for t in telemetry.values() if t["online"] is False)),
        "n-never": ("/terminals?presence=never", sum(1 for t in telemetry.values() if t["online"] is None)),
        "n-requests-submitted": ("/reactivation-requests?status=submitted", _total(
            client, fleet, merchant, "/api/v1/reactivation-requests?status=submitted")),
        "n-requests-rejected": ("/reactivation-requests?status=rejected", _total(
            client, fleet, merchant, "/api/v1/reactivation-requests?status=rejected")),
        "n-tickets-open": ("/tickets?open=1", _total(client, fleet, merchant, "/api/v1/tickets?open=true")),
        "n-tickets-repaired": ("/tickets?status=repaired", len(repaired)),
        **{f"n-applications-{s}": (f"/onboarding?status={s}", n) for s, n in applications.items() if s != "live"},
    }
    assert {testid: figure(html, testid) for testid in expected} == expected
    for testid in ("n-tickets-open", "n-tickets-repaired"):  # 我的报修 narrowed as the figure says
        href, number = figure(html, testid)
        assert client.get(href).text.count('<li data-ticket="') == number, testid


def test_a_merchants_page_in_english(client: TestClient, home: HomeFleet) -> None:
    login(client, "merchant", lang="en")
    html = client.get("/").text
    assert "<h1>My terminals</h1>" in html and "Offline: start a diagnosis" in html
    text = visible_text(html).replace("甲商户", " ")
    assert CJK.findall(text) == []


def test_a_technician_sees_only_their_visits_soonest_first(client: TestClient, home: HomeFleet) -> None:
    fleet = home.fleet
    login(client, "technician")
    html = client.get("/").text
    assert "<h1>我的上门任务</h1>" in html
    queue = _api(client, fleet, "technician", "/api/v1/tickets?open=true&per_page=200")["items"]
    assert figure(html, "n-visits") == ("/tickets/mine", len(queue))

    def deadline(ticket: dict[str, Any]) -> datetime:
        sla = ticket["sla"]
        due = sla["respond_by"] if sla["responded_at"] is None else sla["resolve_by"] if sla["repaired_at"] is None \
            else None
        return _instant(due) or datetime.max.replace(tzinfo=CONSOLE_ZONE)

    rows = [int(n) for n in re.findall(r'<tr data-ticket="(\d+)"', html)]
    assert rows == [t["id"] for t in sorted(queue, key=lambda t: (deadline(t), t["id"]))]
    assert rows[:3] == [home.due_today, home.due_later, home.repaired]
    assert ADDRESS in html.split(f'<tr data-ticket="{home.due_today}"')[1].split("</tr>")[0]
    assert home.others_visit not in rows and home.unassigned not in rows
    today = next(t for t in queue if t["id"] == home.due_today)
    shown_due = _instant(today["sla"]["resolve_by"])
    assert shown_due is not None
    assert shown_due.astimezone(CONSOLE_ZONE).strftime("%Y-%m-%d %H:%M") in html.split('<tr data-ticket=')[1]
