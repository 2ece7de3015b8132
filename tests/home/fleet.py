"""A fleet with something on every card of the home pages, and what the tests read back from a page."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from html import unescape
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from posops.core.auth import Role
from posops.core.db import Database, utcnow
from posops.core.models import User
from posops.diagnosis.models import DiagnosisSession
from posops.onboarding.models import OnboardingApplication
from posops.telemetry.analytics import IncidentStatus
from posops.telemetry.models import Incident
from posops.terminals.models import Terminal
from posops.tickets.models import Ticket
from posops.tickets.service import day_ends
from tests.conftest import Fleet
from tests.helpers import make_terminal
from tests.telemetry.storage import failing, healthy, store
from tests.terminals.flows import ok
from tests.terminals.seed import Seeded, seed_lifecycle

ADDRESS = "上海市静安区南京西路 1 号"


@dataclass
class HomeFleet:
    """Ids of what the home fleet holds on top of the conftest fleet and the lifecycle seed."""

    fleet: Fleet
    seeded: Seeded
    breached: int
    due_today: int
    due_later: int
    repaired: int
    """Merchant B's repaired ticket, waiting for its acceptance."""
    under_repair: int
    """Merchant A's terminal suspended for a device fault, with an open ticket and no request."""
    unassigned: int
    others_visit: int
    """A ticket assigned to another technician (tech2)."""
    terminal_ids: dict[str, int]
    """Serial number → id of every terminal."""


def _ticket(client: TestClient, fleet: Fleet, terminal: int, text: str = "刷卡没反应") -> int:
    body = {"terminal_id": terminal, "description": text}
    return int(ok(client.post("/api/v1/tickets", json=body, headers=fleet.headers("agent")), 201)["id"])


def _assign(client: TestClient, fleet: Fleet, ticket: int, technician: str = "technician") -> None:
    ok(client.post(f"/api/v1/tickets/{ticket}/assign", json={"technician": technician},
                   headers=fleet.headers("agent")))


def _move(client: TestClient, fleet: Fleet, ticket: int, *states: str) -> None:
    for state in states:
        ok(client.post(f"/api/v1/tickets/{ticket}/transitions", json={"to": state}, headers=fleet.headers("agent")))


def _set(db: Database, ticket_id: int, **values: Any) -> None:
    with db.transaction() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        for name, value in values.items():
            setattr(ticket, name, value)


def build_home_fleet(client: TestClient, db: Database, fleet: Fleet, var_dir: Path) -> HomeFleet:
    """Lifecycle records, heartbeats (online, offline, failing, never), tickets in every SLA standing,
    diagnoses by symptom and incidents, for both merchants."""
    seeded = seed_lifecycle(db, fleet, var_dir)
    now = utcnow()
    store(db, [healthy("SN-TEST-0000", 1, now), failing("SN-SEED-0003", 1, now),
               healthy("SN-TEST-0004", 1, now, software={"app": "3.1.0", "firmware": "PayDroid 8.1.0"})], now)
    an_hour_ago = now - timedelta(hours=1)
    store(db, [healthy("SN-TEST-0001", 1, an_hour_ago),
               healthy("SN-TEST-0003", 1, an_hour_ago, software={"app": "3.3.0", "firmware": "PayDroid 8.1.0"})],
          an_hour_ago)
    with db.transaction() as session:
        tech2 = User(username="tech2", role=Role.TECHNICIAN.value, password_hash="", display_name="tech2")
        session.add(tech2)
        session.add_all([
            Incident(dimension="area", group_first="上海", group_second="中国移动", status=IncidentStatus.OPEN,
                     opened_at=now - timedelta(minutes=30), baseline=0.02, terminals=20, failing=9, peak_share=0.45),
            Incident(dimension="cohort", group_first="PAX A920", group_second="3.2.0", status=IncidentStatus.CLOSED,
                     opened_at=now - timedelta(days=2), closed_at=now - timedelta(days=1), baseline=0.02,
                     terminals=10, failing=0, peak_share=0.3)])
    a0, a1, b0, b1 = fleet.terminals_a[0], fleet.terminals_a[1], fleet.terminals_b[0], fleet.terminals_b[1]
    ends = day_ends(now)
    breached = _ticket(client, fleet, a0)
    _set(db, breached, respond_breached=True)
    due_later = _ticket(client, fleet, seeded.t_active, "屏幕不亮")  # opened first, due last: order is by deadline
    _assign(client, fleet, due_later)
    _set(db, due_later, resolve_by=ends + timedelta(days=2))
    due_today = _ticket(client, fleet, a1, "打印机不出纸")
    _assign(client, fleet, due_today)
    _set(db, due_today, resolve_by=now + (ends - now) / 2)
    repaired = _ticket(client, fleet, b0, "读卡器坏了")
    _assign(client, fleet, repaired)
    _move(client, fleet, repaired, "in_repair", "repaired")
    unassigned = _ticket(client, fleet, b1, "无法签到")
    _set(db, unassigned, respond_by=ends + timedelta(days=1))
    others_visit = _ticket(client, fleet, seeded.t_decommission, "键盘失灵")
    _assign(client, fleet, others_visit, "tech2")
    under_repair = make_terminal(db, fleet.merchant_a, serial_number="SN-HOME-0001", tid="77770001",
                                 status="suspended", status_reason="device_fault")
    _ticket(client, fleet, under_repair, "主板故障")
    with db.transaction() as session:  # where the due-today visit goes: the address it was installed at
        application = session.get(OnboardingApplication, seeded.apps["contracted"])
        terminal = session.get(Terminal, a1)
        assert application is not None and terminal is not None
        application.address, terminal.application_id = ADDRESS, application.id
    for symptom, merchant_terminal in (("printer", "SN-TEST-0000"), ("printer", "SN-TEST-0003"),
                                       ("card_read", "SN-TEST-0001")):
        ok(client.post("/api/v1/diagnoses", json={"text": "终端有问题", "symptom": symptom,
                                                  "terminal_id": merchant_terminal},
                       headers=fleet.headers("agent")), 201)
    with db.transaction() as session:  # a fault older than the chart's 30 days
        session.add(DiagnosisSession(id=uuid.uuid4().hex, created_by="agent", text="旧故障", symptom="power",
                                     state={}, created_at=now - timedelta(days=40)))
    terminals = ok(client.get("/api/v1/terminals?per_page=200", headers=fleet.headers("admin")))["items"]
    return HomeFleet(fleet, seeded, breached, due_today, due_later, repaired, under_repair, unassigned, others_visit,
                     {t["serial_number"]: t["id"] for t in terminals})


# reading a page -----------------------------------------------------------------------------------


def figure(html: str, testid: str) -> tuple[str, int]:
    """The link and the number of the figure marked ``data-testid=testid`` (``<a href data-testid><b>n</b>``)."""
    match = re.search(r'<a href="([^"]*)" data-testid="' + re.escape(testid) + r'"><b>(\d+)</b>', html)
    assert match is not None, f"no figure {testid} on the page"
    return unescape(match.group(1)), int(match.group(2))


def has_figure(html: str, testid: str) -> bool:
    """Whether the page shows the figure ``testid``."""
    return f'data-testid="{testid}"' in html


def chart_rows(html: str, chart: str) -> dict[str, int]:
    """``data-key`` → ``data-value`` (bars) or ``data-total`` (stacked rows) of one chart's rows."""
    section = html.split(f'data-testid="chart-{chart}"', 1)[1].split("</section>", 1)[0]
    rows = re.findall(r'class="home-chart-row" data-key="([^"]*)" data-(?:value|total)="(\d+)"', section)
    return {unescape(key): int(value) for key, value in rows}


def region_online(html: str) -> dict[str, int]:
    """Region → terminals drawn online in the region chart."""
    section = html.split('data-testid="chart-regions"', 1)[1].split("</section>", 1)[0]
    found = {}
    for key, body in re.findall(r'data-key="([^"]*)" data-total="\d+">(.*?)</g>', section):
        online = re.search(r'data-tone="ok" data-value="(\d+)"', body)
        found[unescape(key)] = int(online.group(1)) if online else 0
    return found


def visible_text(html: str) -> str:
    """The words a person reads in the page's content (the header's language switch left out): no style, no tags."""
    body = html.split("<main>", 1)[-1]
    body = re.sub(r"<style>.*?</style>", " ", body, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", body))


CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
