"""Console pages of repairs: the desk queue, a merchant's own reports, a technician's day, the ticket page's forms."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from posops.core.db import Database, utcnow
from posops.tickets import service
from posops.tickets.models import Ticket
from tests.conftest import Fleet
from tests.helpers import csrf_token, login
from tests.terminals.flows import ok

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _open(client: TestClient, fleet: Fleet, terminal: int, role: str = "agent", text: str = "刷卡没反应") -> int:
    body = {"terminal_id": terminal, "description": text}
    return int(ok(client.post("/api/v1/tickets", json=body, headers=fleet.headers(role)), 201)["id"])


def _api(client: TestClient, fleet: Fleet, path: str, body: dict[str, Any] | None = None,
         role: str = "agent") -> dict[str, Any]:
    return ok(client.post(path, json=body or {}, headers=fleet.headers(role)))


def _to_repair(client: TestClient, fleet: Fleet, ticket: int) -> None:
    """Assign the ticket to the fleet's technician and start the repair."""
    _api(client, fleet, f"/api/v1/tickets/{ticket}/assign", {"technician": "technician"})
    _api(client, fleet, f"/api/v1/tickets/{ticket}/transitions", {"to": "in_repair"}, "technician")


def _row(html: str, ticket: int) -> str:
    """The list row (or item) of one ticket."""
    return html.split(f'data-ticket="{ticket}"')[1].split("</tr>")[0].split("</li>")[0]


def _section(html: str, testid: str) -> str:
    return html.split(f'data-testid="{testid}"')[1].split("</section>")[0]


def _signed_in(client: TestClient, username: str, page: str = "/tickets") -> str:
    login(client, username)
    return csrf_token(client.get(page).text)


def test_the_desk_queue_flags_a_ticket_past_its_deadline(client: TestClient, fleet: Fleet, db: Database) -> None:
    late, on_time = _open(client, fleet, fleet.terminals_a[0]), _open(client, fleet, fleet.terminals_a[1])
    with db.transaction() as session:
        row = session.get(Ticket, late)
        assert row is not None
        row.resolve_by = utcnow() - timedelta(minutes=5)
    login(client, "agent")
    queue = client.get("/tickets").text
    assert 'data-sla="overdue"' in _row(queue, late) and "逾期" in _row(queue, late)
    assert 'data-sla="overdue"' not in _row(queue, on_time)
    assert queue.index(f'data-ticket="{late}"') < queue.index(f'data-ticket="{on_time}"'), "nearest deadline first"
    assert "终端 SN-TEST-0000（终端号 90000000）" in _row(queue, late)
    service.flag_breaches(db, utcnow())
    breached = client.get("/tickets?breached=1").text
    assert f'data-ticket="{late}"' in breached and f'data-ticket="{on_time}"' not in breached
    ticket_page = client.get(f"/tickets/{late}").text
    assert 'data-testid="resolve-breached"' in ticket_page and "修复超时" in ticket_page


def test_a_merchant_sees_only_its_own_reports_with_what_happens_next(client: TestClient, fleet: Fleet) -> None:
    own = _open(client, fleet, fleet.terminals_a[0], "merchant")
    other = _open(client, fleet, fleet.terminals_b[0], "merchant_b")
    login(client, "merchant")
    page = client.get("/tickets").text
    assert 'data-testid="my-tickets"' in page and 'data-testid="ticket-table"' not in page, "not the desk queue"
    assert f'data-ticket="{own}"' in page and f'data-ticket="{other}"' not in page
    assert "SN-TEST-0003" not in page and "新报修" in _row(page, own) and "客服会尽快查看" in _row(page, own)
    assert client.get(f"/tickets/{other}", headers={"accept": "text/html"}).status_code == 404
    assert 'href="/tickets" data-testid="nav-tickets"' in page and "我的报修" in page
    client.get("/lang/en")
    english = client.get("/tickets").text
    assert "My repairs" in english and "Terminal SN-TEST-0000 (TID 90000000)" in english
    for page_text in (english, client.get(f"/tickets/{own}").text, client.get("/tickets/new").text):
        assert "tickets." not in page_text.replace('href="/tickets.csv', ""), "every message is in the catalogue"


def test_a_technician_sees_todays_visit_first(client: TestClient, fleet: Fleet) -> None:
    today_visit, later = _open(client, fleet, fleet.terminals_a[0]), _open(client, fleet, fleet.terminals_a[1])
    unassigned = _open(client, fleet, fleet.terminals_b[0])
    for ticket in (today_visit, later):
        _api(client, fleet, f"/api/v1/tickets/{ticket}/assign", {"technician": "technician"})
    token = _signed_in(client, "technician", "/tickets/mine")
    assert client.get("/tickets", follow_redirects=False).headers["location"] == "/tickets/mine"
    day = utcnow().astimezone(SHANGHAI).date()
    scheduled = client.post(f"/tickets/{today_visit}/move", follow_redirects=False, data={
        "csrf_token": token, "to": "scheduled", "scheduled_for": f"{day.isoformat()}T23:30"})
    assert scheduled.status_code == 303 and scheduled.headers["location"] == f"/tickets/{today_visit}"
    stored = ok(client.get(f"/api/v1/tickets/{today_visit}", headers=fleet.headers("agent")))["scheduled_for"]
    assert datetime.fromisoformat(stored) == datetime.combine(day, datetime.min.time().replace(hour=23, minute=30),
                                                              tzinfo=SHANGHAI), "read as Asia/Shanghai wall time"
    page = client.get("/tickets/mine").text
    visits, rest = _section(page, "today-visits"), _section(page, "queue-rest")
    assert f'data-ticket="{today_visit}"' in visits and "23:30" in visits
    assert f'data-ticket="{later}"' not in visits and f'data-ticket="{later}"' in rest
    assert f'data-ticket="{unassigned}"' not in page, "only the tickets assigned to them"
    assert 'href="/tickets/mine" data-testid="nav-tickets"' in page


def test_the_ticket_page_shows_the_diagnosis_and_only_the_forms_the_viewer_may_use(client: TestClient,
                                                                                   fleet: Fleet) -> None:
    started = ok(client.post("/api/v1/diagnoses", json={"text": "刷卡没反应", "terminal_id": "SN-TEST-0000"},
                             headers=fleet.headers("merchant")), 201)
    step = started["next_step"]
    answer = {"step": step["id"], "outcome": step["outcomes"][-1]}
    _api(client, fleet, f"/api/v1/diagnoses/{started['id']}/steps", answer, "merchant")
    ticket = _api(client, fleet, f"/api/v1/diagnoses/{started['id']}/handover", {"note": "请上门"},
                  "merchant")["ticket_id"]
    found = ok(client.get(f"/api/v1/tickets/{ticket}", headers=fleet.headers("agent")))["prefill"]
    _to_repair(client, fleet, ticket)
    _api(client, fleet, f"/api/v1/tickets/{ticket}/transitions", {"to": "repaired"}, "technician")

    login(client, "merchant")
    page = client.get(f"/tickets/{ticket}").text
    prefill = _section(page, "prefill")
    assert found["ranking"][0]["name"]["zh-CN"] in _section(page, "prefill").split('data-testid="prefill-ranking"')[1]
    assert found["steps"][0]["title"]["zh-CN"] in prefill.split('data-testid="prefill-steps"')[1]
    assert 'data-testid="prefill-evidence"' in prefill and "刷卡没反应" in prefill
    assert 'data-testid="acceptance-form"' in page and 'data-testid="refuse"' in page
    for form in ("assign-form", "priority-form", "work-form", "reserve-form", "move-form"):
        assert f'data-testid="{form}"' not in page, form
    assert "还没有看到维修后的签到或交易" in _section(page, "proof")

    token = csrf_token(page)
    silent = client.post(f"/tickets/{ticket}/acceptance", data={"csrf_token": token, "accepted": "0"})
    assert silent.status_code == 422 and "请说明仍有什么问题" in silent.text
    accepted = client.post(f"/tickets/{ticket}/acceptance", data={"csrf_token": token, "accepted": "1"},
                           follow_redirects=False)
    assert accepted.status_code == 303
    assert ok(client.get(f"/api/v1/tickets/{ticket}", headers=fleet.headers("agent")))["status"] == "accepted"

    login(client, "agent")
    desk = client.get(f"/tickets/{ticket}").text
    assert 'data-testid="acceptance-form"' not in desk and 'data-testid="move-closed"' in desk


def test_the_work_form_reads_the_parts_cost_in_yuan_and_stores_fen(client: TestClient, fleet: Fleet) -> None:
    ticket = _open(client, fleet, fleet.terminals_a[0])
    _to_repair(client, fleet, ticket)
    token = _signed_in(client, "technician", f"/tickets/{ticket}")
    form = {"csrf_token": token, "minutes": "45", "confirmed_cause": "hw.reader_faulty", "part_name": "读卡模块",
            "part_quantity": "2", "part_cost": "85.50", "outcome": "repaired", "note": "更换读卡模块"}
    bad = client.post(f"/tickets/{ticket}/work", data={**form, "part_cost": "85.555"})
    assert bad.status_code == 422
    assert "配件单价以元填写" in bad.text.split('data-testid="refusal"')[1].split("</div>")[0]
    assert ok(client.get(f"/api/v1/tickets/{ticket}", headers=fleet.headers("agent")))["work"] == []
    saved = client.post(f"/tickets/{ticket}/work", data=form, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == f"/tickets/{ticket}"
    [entry] = ok(client.get(f"/api/v1/tickets/{ticket}", headers=fleet.headers("agent")))["work"]
    assert entry["parts"] == [{"name": "读卡模块", "quantity": 2, "unit_cost_fen": 8550, "cost_fen": 17100}]
    assert (entry["minutes"], entry["confirmed_cause"], entry["outcome"]) == (45, "hw.reader_faulty", "repaired")
    log = _section(client.get(f"/tickets/{ticket}").text, "work-log")
    assert "¥85.50" in log and "¥171.00" in log and "读卡模块损坏或老化" in log


def test_an_empty_description_is_refused_in_chinese_and_opens_nothing(client: TestClient, fleet: Fleet) -> None:
    login(client, "merchant")
    form = client.get("/tickets/new?terminal=SN-TEST-0000").text
    assert "终端 SN-TEST-0000（终端号 90000000）" in form
    token = csrf_token(form)
    empty = client.post("/tickets", data={"csrf_token": token, "terminal": "SN-TEST-0000", "description": "   "})
    assert empty.status_code == 422
    assert "请填写故障描述" in empty.text.split('data-testid="error-description"')[1].split("</p>")[0]
    assert ok(client.get("/api/v1/tickets", headers=fleet.headers("agent")))["total"] == 0
    other = client.post("/tickets", data={"csrf_token": token, "terminal": "SN-TEST-0003", "description": "坏了"})
    assert other.status_code == 404 and "找不到这台终端" in other.text, "merchant B's terminal is not A's to report"
    created = client.post("/tickets", data={"csrf_token": token, "terminal": "SN-TEST-0000", "description": "打不开机",
                                            "channel": "depot"}, follow_redirects=False)
    assert created.status_code == 303
    [ticket] = ok(client.get("/api/v1/tickets", headers=fleet.headers("agent")))["items"]
    assert created.headers["location"] == f"/tickets/{ticket['id']}"
    assert (ticket["description"], ticket["channel"], ticket["priority"]) == ("打不开机", "depot", "normal")


def test_the_terminal_page_lists_the_maintenance_record_after_a_repair(client: TestClient, fleet: Fleet) -> None:
    terminal = fleet.terminals_a[0]
    login(client, "merchant")
    before = _section(client.get(f"/terminals/{terminal}").text, "repairs")
    assert "没有维修记录" in before and 'href="/tickets/new?terminal=SN-TEST-0000"' in before
    ticket = _open(client, fleet, terminal)
    _to_repair(client, fleet, ticket)
    _api(client, fleet, f"/api/v1/tickets/{ticket}/work", {
        "minutes": 30, "confirmed_cause": "hw.reader_faulty", "outcome": "repaired",
        "parts": [{"name": "读卡模块", "quantity": 1, "unit_cost_fen": 8500}]}, "technician")
    during = _section(client.get(f"/terminals/{terminal}").text, "repairs")
    assert f'href="/tickets/{ticket}"' in during.split('data-testid="open-tickets"')[1] and "没有维修记录" in during
    _api(client, fleet, f"/api/v1/tickets/{ticket}/transitions", {"to": "repaired"}, "technician")
    after = _section(client.get(f"/terminals/{terminal}").text, "repairs")
    records = after.split('data-testid="maintenance-records"')[1]
    assert "technician" in records and "读卡模块损坏或老化" in records and "读卡模块 ×1" in records
    assert "¥ 85.00" in records and "已修复" in records


def test_the_reliability_page_shows_mttr_by_model_with_its_definitions(client: TestClient, fleet: Fleet) -> None:
    ticket = _open(client, fleet, fleet.terminals_a[0])
    _to_repair(client, fleet, ticket)
    _api(client, fleet, f"/api/v1/tickets/{ticket}/transitions", {"to": "repaired"}, "technician")
    login(client, "agent")
    page = client.get("/tickets/reliability").text
    table = _section(page, "reliability-table")
    sunmi = table.split('data-group="Sunmi P2"')[1].split("</tr>")[0]
    pax = table.split('data-group="PAX A920"')[1].split("</tr>")[0]
    assert '<td data-label="故障次数">1</td>' in sunmi and '<td data-label="故障次数">0</td>' in pax
    assert 'class="bar"' in _section(page, "failure-chart") and "平均修复时间" in _section(page, "definitions")
    by_region = client.get("/tickets/reliability?group_by=region").text
    assert 'data-group="上海"' in by_region and 'data-group="Sunmi P2"' not in by_region
    login(client, "merchant")
    assert client.get("/tickets/reliability", headers={"accept": "text/html"}).status_code == 403


def test_the_desk_replaces_an_unrepairable_device_from_the_ticket_page(client: TestClient, fleet: Fleet) -> None:
    ticket = _open(client, fleet, fleet.terminals_a[0])
    _to_repair(client, fleet, ticket)
    _api(client, fleet, f"/api/v1/tickets/{ticket}/transitions", {"to": "not_repairable"}, "technician")
    token = _signed_in(client, "agent", f"/tickets/{ticket}")
    page = client.get(f"/tickets/{ticket}").text
    assert 'data-testid="replace-form"' in page and 'data-testid="move-replaced"' not in page
    form = {"csrf_token": token, "to": "replaced", "replacement_model": "PAX A920", "replacement_vendor": "PAX"}
    taken = client.post(f"/tickets/{ticket}/move", data={**form, "replacement_serial": "SN-TEST-0003"})
    assert taken.status_code == 409 and 'data-testid="refusal"' in taken.text
    done = client.post(f"/tickets/{ticket}/move", data={**form, "replacement_serial": "SN-NEW-0009"},
                       follow_redirects=False)
    assert done.status_code == 303
    replaced = client.get(f"/tickets/{ticket}").text
    assert "终端 SN-NEW-0009（终端号 90000000）" in replaced and "SN-TEST-0000" in _section(replaced, "materials")
