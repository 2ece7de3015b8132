"""CSV export of every console list: exactly the filtered rows of every page, headers in the page's language."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from posops.core import export
from posops.core.db import Database
from posops.core.paging import Page
from posops.fleet import service
from posops.fleet.schemas import FleetFilters, TerminalSort
from posops.terminals.models import Terminal
from tests.conftest import Fleet
from tests.fleet.conftest import Heard, Records
from tests.helpers import login
from tests.telemetry.test_authorization import incident  # noqa: F401  (fixture)
from tests.terminals.flows import ok

CJK = re.compile(r"[\u4e00-\u9fff]")


def _rows(response: Response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbf"), "a byte-order mark, so Excel reads UTF-8"
    return list(csv.reader(io.StringIO(response.content.decode("utf-8").removeprefix("\ufeff"))))


def _column(rows: list[list[str]], header: str) -> list[str]:
    index = rows[0].index(header)
    return [row[index] for row in rows[1:]]


def test_terminals_export_the_filtered_rows_of_every_page(client: TestClient, db: Database, heard: Heard) -> None:
    fleet = heard.fleet
    with db.transaction() as session:  # 450 more: more rows than the API or the page give at once
        session.add_all([Terminal(serial_number=f"SN-BULK-{i:04d}", model="Landi A8", tid=f"6600{i:04d}",
                                  mid=f"89831000066{i:04d}", merchant_id=fleet.merchant_b, region="北京",
                                  status="active") for i in range(450)])
    login(client, "agent")
    everything = _rows(client.get("/terminals.csv"))
    assert len(everything) == 1 + 455
    assert _column(everything, "序列号")[:5] == [f"SN-TEST-000{i}" for i in range(5)], "the list's own order"
    offline = _rows(client.get("/terminals.csv?presence=offline&sort=-last_seen"))
    assert _column(offline, "序列号") == ["SN-TEST-0003", "SN-TEST-0001"]
    assert _column(offline, "在线状态") == ["离线", "离线"]
    bulk = _rows(client.get("/terminals.csv?q=SN-BULK&model=Landi%20A8&sort=-serial_number"))
    assert _column(bulk, "序列号") == [f"SN-BULK-{i:04d}" for i in range(449, -1, -1)]
    assert set(_column(bulk, "商户")) == {"乙商户"} and set(_column(bulk, "状态")) == {"正常"}
    assert _column(bulk, "商户号 MID")[0] == "898310000660449", "identifiers are written as they are"
    suspended = _rows(client.get("/terminals.csv?status=suspended&reason=arrears"))
    assert suspended[1][:3] == ["SN-TEST-0002", "90000002", "898310000000002"]
    assert _column(suspended, "停机原因") == ["欠费"] and _column(suspended, "在线状态") == ["从未上报"]


def test_the_terminal_export_stops_at_its_limit(db: Database, heard: Heard) -> None:
    rows = service.export_terminals(db, heard.fleet.users["agent"], FleetFilters(sort=TerminalSort.LAST_SEEN_DESC),
                                    limit=2)
    assert [t.serial_number for t in rows] == ["SN-TEST-0000", "SN-TEST-0004"]


def test_headers_follow_the_page_language(client: TestClient, heard: Heard) -> None:
    login(client, "agent")
    chinese = _rows(client.get("/terminals.csv?q=SN-TEST-0000"))
    assert chinese[0] == ["序列号", "终端号 TID", "商户号 MID", "型号", "商户", "地区", "应用版本", "状态", "停机原因",
                          "在线状态", "最后上报"]
    assert chinese[1][7] == "正常" and chinese[1][9] == "在线"
    client.get("/lang/en")
    english = _rows(client.get("/terminals.csv?q=SN-TEST-0000"))
    assert english[0] == ["Serial number", "Terminal ID (TID)", "Merchant ID (MID)", "Model", "Merchant", "Region",
                          "App version", "Status", "Reason", "Presence", "Last seen"]
    assert english[1][7] == "Active" and english[1][9] == "Online"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", english[1][10]), "a local time, to the minute"


def test_the_file_is_named_for_the_list_and_the_day(client: TestClient, fleet: Fleet) -> None:
    login(client, "admin")
    response = client.get("/merchants.csv")
    disposition = response.headers["content-disposition"]
    assert re.fullmatch(r'attachment; filename="merchants-\d{8}\.csv"', disposition), disposition
    assert export.file_name("terminals", date(2026, 3, 1)) == "terminals-20260301.csv"


def test_merchants_export_the_filtered_rows(client: TestClient, heard: Heard) -> None:
    login(client, "risk")
    rows = _rows(client.get("/merchants.csv?phone=13800138002"))
    assert rows == [["商户名称", "证照号码", "地区", "联系人", "联系电话", "终端", "已停机"],
                    ["乙商户", "91310000BBBB00002Y", "北京", "周先生", "'+86 138 0013 8002", "2", "0"]]
    assert len(_rows(client.get("/merchants.csv"))) == 3
    client.get("/lang/en")
    assert _rows(client.get("/merchants.csv?name=甲"))[0][:2] == ["Name", "Licence or id no."]


def _numbers(response: Response) -> list[int]:
    return [int(n) for n in _column(_rows(response), _rows(response)[0][0])]


def test_requests_applications_and_tickets_export_what_their_page_lists(client: TestClient, heard: Heard,
                                                                        records: Records) -> None:
    login(client, "agent")
    assert _numbers(client.get("/reactivation-requests.csv?mine=0")) == [records.request]
    assert _numbers(client.get("/reactivation-requests.csv?mine=0&status=approved")) == []
    assert _numbers(client.get("/onboarding.csv")) == [records.application]
    assert _numbers(client.get("/onboarding.csv?status=live")) == []
    desk = _rows(client.get("/tickets.csv"))
    assert sorted(int(n) for n in _column(desk, "单号")) == sorted([records.ticket, records.assigned_ticket,
                                                                   records.other_ticket])
    assert _numbers(client.get("/tickets.csv?status=assigned")) == [records.assigned_ticket]
    client.cookies.clear()
    login(client, "merchant", lang="en")
    mine = _rows(client.get("/tickets.csv"))
    assert mine[0][:3] == ["Ticket", "Serial number", "Terminal ID (TID)"]
    assert sorted(int(n) for n in _column(mine, "Ticket")) == sorted([records.ticket, records.assigned_ticket])
    assert _numbers(client.get("/reactivation-requests.csv")) == [records.request]
    en = _rows(client.get("/reactivation-requests.csv"))
    assert not CJK.search(",".join(en[0])) and _column(en, "Reason") == ["Dormant"]


def test_incidents_export_what_the_list_shows(client: TestClient, fleet: Fleet, incident: int) -> None:  # noqa: F811
    login(client, "agent")
    listed = re.findall(r'<a href="/incidents/(\d+)">#', client.get("/incidents").text)
    rows = _rows(client.get("/incidents.csv"))
    assert [n for n in _column(rows, "编号")] == listed and str(incident) in listed
    assert _rows(client.get("/incidents.csv?status=closed"))[1:] == []
    client.cookies.clear()
    login(client, "merchant_b")
    assert _rows(client.get("/incidents.csv"))[1:] == [], "merchant B's terminals were not affected"


def test_the_diagnosis_queue_exports_both_lists_without_a_card_number(client: TestClient, fleet: Fleet) -> None:
    pan = "6222021234567890123"
    started = ok(client.post("/api/v1/diagnoses", headers=fleet.headers("merchant"),
                             json={"text": f"卡号 {pan} 刷不了", "terminal_id": "SN-TEST-0000"}), 201)
    ok(client.post(f"/api/v1/diagnoses/{started['id']}/handover", json={}, headers=fleet.headers("merchant")))
    login(client, "agent")
    response = client.get("/diagnoses/queue.csv")
    rows = _rows(response)
    assert rows[0][:2] == ["所在列表", "故障描述"]
    assert [row[0] for row in rows[1:]] == ["已转客服处理"]
    assert pan not in response.text and "622202*********0123" in rows[1][1]
    assert rows[1][2] == "SN-TEST-0000"


@pytest.mark.parametrize("path", ["/terminals", "/merchants", "/tickets", "/reactivation-requests", "/onboarding",
                                  "/incidents", "/diagnoses/queue"])
def test_every_list_links_its_export_and_states_the_limit(client: TestClient, fleet: Fleet, path: str) -> None:
    login(client, "admin")
    html = client.get(path).text
    link = re.search(r'<a href="([^"]+)" data-testid="export-csv">导出 CSV</a>', html)
    assert link is not None and link.group(1) == f"{path}.csv", path
    assert f"最多 {export.EXPORT_MAX_ROWS} 行" in html
    assert client.get(link.group(1)).headers["content-type"] == "text/csv; charset=utf-8"


def test_the_export_link_carries_the_pages_query(client: TestClient, fleet: Fleet) -> None:
    login(client, "agent")
    html = client.get("/terminals?status=active&sort=-tid").text
    link = re.search(r'<a href="([^"]+)" data-testid="export-csv">', html)
    assert link is not None and link.group(1).replace("&amp;", "&") == "/terminals.csv?status=active&sort=-tid"
    html = client.get("/tickets?status=new&breached=1").text
    link = re.search(r'<a href="([^"]+)" data-testid="export-csv">', html)
    assert link is not None and link.group(1).replace("&amp;", "&") == "/tickets.csv?status=new&breached=1"


def _pages(total: int, calls: list[tuple[int, int]]) -> object:
    def fetch(page: int, per_page: int) -> Page[int]:
        calls.append((page, per_page))
        start = (page - 1) * per_page
        return Page[int](items=list(range(start, min(start + per_page, total))), total=total, page=page,
                         per_page=per_page)
    return fetch


def test_every_page_walks_the_pages_and_stops_at_the_limit() -> None:
    calls: list[tuple[int, int]] = []
    rows = export.every_page(_pages(450, calls))  # type: ignore[arg-type]
    assert calls == [(1, 200)], "the first page is read at once, so a refusal comes before the download"
    assert list(rows) == list(range(450)) and calls == [(1, 200), (2, 200), (3, 200)]
    calls.clear()
    assert list(export.every_page(_pages(450, calls), limit=250)) == list(range(250))  # type: ignore[arg-type]
    assert calls == [(1, 200), (2, 200)]
    calls.clear()
    assert list(export.every_page(_pages(0, calls))) == [] and calls == [(1, 200)]  # type: ignore[arg-type]
    assert list(export.first_rows(range(10), limit=3)) == [0, 1, 2]


def test_cells_never_carry_a_full_card_number_nor_a_formula() -> None:
    assert export.cell_text("卡号6222021234567890123") == "卡号622202*********0123"
    assert export.cell_text("4111-1111-1111-1111 declined") == "411111******1111 declined"
    assert export.cell_text("898310000000001", verbatim=True) == "898310000000001"
    assert export.cell_text("898310000000001") == "898310*****0001", "free text is masked whatever it is"
    assert export.cell_text("13800138001") == "13800138001", "eleven digits are no card number"
    assert export.cell_text("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert export.cell_text("@SUM(A1)", verbatim=True) == "'@SUM(A1)"
    assert export.cell_text(None) == "" and export.cell_text(42) == "42"
    assert export.cell_text(date(2026, 3, 1)) == "2026-03-01"
