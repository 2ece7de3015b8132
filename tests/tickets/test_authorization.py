"""Every repair route against every role: merchants keep to their own, technicians to their assigned tickets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from posops.core.db import Database
from posops.terminals.models import Merchant, Terminal
from tests import authorization as matrix
from tests.conftest import Fleet
from tests.terminals.flows import ok, pdf

ROLES = ["merchant", "agent", "risk", "technician", "admin"]


@dataclass
class Tickets:
    """Tickets in the states the routes need, a document, and a pool with one loaner and one spare terminal."""

    own: int
    other: int
    assigned: int
    repaired: int
    document: int
    spare_terminal: int
    loaner: int
    reservation: int


def _ticket(client: TestClient, fleet: Fleet, terminal: int) -> int:
    body = {"terminal_id": terminal, "description": "刷卡没反应"}
    return int(ok(client.post("/api/v1/tickets", json=body, headers=fleet.headers("agent")), 201)["id"])


def _advance(client: TestClient, fleet: Fleet, ticket: int, *states: str) -> None:
    ok(client.post(f"/api/v1/tickets/{ticket}/assign", json={"technician": "technician"},
                   headers=fleet.headers("agent")))
    for state in states:
        ok(client.post(f"/api/v1/tickets/{ticket}/transitions", json={"to": state}, headers=fleet.headers("agent")))


@pytest.fixture
def ticketed(client: TestClient, fleet: Fleet, db: Database) -> Fleet:
    """The fleet with tickets, a document and a loaner pool (on `fleet.tickets`)."""
    own, other = _ticket(client, fleet, fleet.terminals_a[0]), _ticket(client, fleet, fleet.terminals_b[0])
    assigned, repaired = _ticket(client, fleet, fleet.terminals_a[1]), _ticket(client, fleet, fleet.terminals_a[0])
    _advance(client, fleet, assigned, "in_repair")
    _advance(client, fleet, repaired, "in_repair", "repaired")
    document = ok(client.post(f"/api/v1/tickets/{own}/documents", data={"name": "购机凭证"}, files=pdf(),
                              headers=fleet.headers("merchant")), 201)["id"]
    with db.transaction() as session:
        pool = Merchant(name="备机库", legal_id="POOL0000000002", region="上海")
        session.add(pool)
        session.flush()
        devices = [Terminal(serial_number=f"SN-SPARE-{i}", model="PAX A920", tid=f"9900000{i}",
                            mid="898310000009999", merchant_id=pool.id, region="上海") for i in range(2)]
        session.add_all(devices)
        session.flush()
        spare, lent = devices[0].id, devices[1].id
    loaner = ok(client.post("/api/v1/loaners", json={"terminal_id": lent}, headers=fleet.headers("agent")), 201)["id"]
    reservation = ok(client.post("/api/v1/loaners/reservations", headers=fleet.headers("agent"), json={
        "ticket_id": assigned, "loaner_id": loaner, "begins_on": str(date.today()),
        "ends_on": str(date.today() + timedelta(days=3))}), 201)["id"]
    fleet.tickets = Tickets(own, other, assigned, repaired, document, spare, loaner,  # type: ignore[attr-defined]
                            reservation)
    return fleet


def _t(fleet: Fleet) -> Tickets:
    tickets: Tickets = fleet.tickets  # type: ignore[attr-defined]
    return tickets


def _expect(merchant: int, agent: int, risk: int, technician: int, admin: int) -> dict[str, int]:
    return dict(zip(ROLES, (merchant, agent, risk, technician, admin), strict=True))


def _later(days: int) -> str:
    return str(date.today() + timedelta(days=days))


ROUTES: list[matrix.Route] = [
    ("open, own terminal", "POST", lambda f: "/api/v1/tickets",
     lambda f: {"json": {"terminal_id": f.terminals_a[2], "description": "打印机不出纸"}},
     _expect(201, 201, 403, 403, 201)),
    ("open, other terminal", "POST", lambda f: "/api/v1/tickets",
     lambda f: {"json": {"terminal_id": f.terminals_b[1], "description": "x"}}, _expect(404, 201, 403, 403, 201)),
    ("list", "GET", lambda f: "/api/v1/tickets", lambda f: {}, _expect(200, 200, 200, 200, 200)),
    ("read, own", "GET", lambda f: f"/api/v1/tickets/{_t(f).own}", lambda f: {}, _expect(200, 200, 200, 404, 200)),
    ("read, other", "GET", lambda f: f"/api/v1/tickets/{_t(f).other}", lambda f: {},
     _expect(404, 200, 200, 404, 200)),
    ("read, assigned", "GET", lambda f: f"/api/v1/tickets/{_t(f).assigned}", lambda f: {},
     _expect(200, 200, 200, 200, 200)),
    ("move, own", "POST", lambda f: f"/api/v1/tickets/{_t(f).own}/transitions", lambda f: {"json": {"to": "triaged"}},
     _expect(403, 200, 403, 404, 200)),
    ("move, assigned", "POST", lambda f: f"/api/v1/tickets/{_t(f).assigned}/transitions",
     lambda f: {"json": {"to": "waiting", "waiting_for": "parts"}}, _expect(403, 200, 403, 200, 200)),
    ("assign", "POST", lambda f: f"/api/v1/tickets/{_t(f).own}/assign", lambda f: {"json": {}},
     _expect(403, 200, 403, 403, 200)),
    ("priority", "POST", lambda f: f"/api/v1/tickets/{_t(f).own}/priority", lambda f: {"json": {"priority": "high"}},
     _expect(403, 200, 403, 403, 200)),
    ("work, assigned", "POST", lambda f: f"/api/v1/tickets/{_t(f).assigned}/work",
     lambda f: {"json": {"minutes": 10, "note": "检查读卡器"}}, _expect(403, 200, 403, 200, 200)),
    ("accept, repaired", "POST", lambda f: f"/api/v1/tickets/{_t(f).repaired}/acceptance", lambda f: {"json": {}},
     _expect(200, 200, 403, 403, 200)),
    ("upload, own", "POST", lambda f: f"/api/v1/tickets/{_t(f).own}/documents",
     lambda f: {"data": {"name": "保修卡"}, "files": pdf()}, _expect(201, 201, 403, 404, 201)),
    ("download, own", "GET", lambda f: f"/api/v1/tickets/{_t(f).own}/documents/{_t(f).document}", lambda f: {},
     _expect(200, 200, 200, 404, 200)),
    ("maintenance, own", "GET", lambda f: f"/api/v1/terminals/{f.terminals_a[0]}/maintenance", lambda f: {},
     _expect(200, 200, 200, 200, 200)),
    ("maintenance, other", "GET", lambda f: f"/api/v1/terminals/{f.terminals_b[0]}/maintenance", lambda f: {},
     _expect(404, 200, 200, 200, 200)),
    ("reliability", "GET", lambda f: "/api/v1/reliability?group_by=region", lambda f: {},
     _expect(403, 200, 200, 200, 200)),
    ("technicians", "GET", lambda f: "/api/v1/technicians", lambda f: {}, _expect(403, 200, 403, 403, 200)),
    ("set a technician's regions", "PUT", lambda f: "/api/v1/technicians/technician",
     lambda f: {"json": {"regions": ["上海"]}}, _expect(403, 200, 403, 403, 200)),
    ("loaner pool", "GET", lambda f: "/api/v1/loaners", lambda f: {}, _expect(403, 200, 403, 200, 200)),
    ("add a loaner", "POST", lambda f: "/api/v1/loaners", lambda f: {"json": {"terminal_id": _t(f).spare_terminal}},
     _expect(403, 201, 403, 403, 201)),
    ("reserve", "POST", lambda f: "/api/v1/loaners/reservations",
     lambda f: {"json": {"ticket_id": _t(f).assigned, "loaner_id": _t(f).loaner, "begins_on": _later(10),
                         "ends_on": _later(12)}}, _expect(403, 201, 403, 403, 201)),
    ("hand over", "POST", lambda f: f"/api/v1/loaners/reservations/{_t(f).reservation}/hand-over", lambda f: {},
     _expect(403, 200, 403, 200, 200)),
    ("return", "POST", lambda f: f"/api/v1/loaners/reservations/{_t(f).reservation}/return", lambda f: {},
     _expect(403, 200, 403, 200, 200)),
]


@pytest.mark.parametrize("role", ROLES)
def test_every_api_route_answers_each_role_as_designed(client: TestClient, ticketed: Fleet, role: str) -> None:
    matrix.check_routes_answer_role(client, ticketed, role, ROUTES)


def test_anonymous_callers_get_401_on_every_api_route(client: TestClient, ticketed: Fleet) -> None:
    matrix.check_routes_refuse_anonymous(client, ticketed, ROUTES)


PAGES: list[matrix.Page] = [
    ("desk queue", "GET", lambda f: "/tickets", _expect(200, 200, 200, 303, 200)),
    ("desk queue, breached new", "GET", lambda f: "/tickets?status=new&breached=1", _expect(200, 200, 200, 303, 200)),
    ("technician's day", "GET", lambda f: "/tickets/mine", _expect(403, 403, 403, 200, 403)),
    ("report form", "GET", lambda f: "/tickets/new", _expect(200, 200, 403, 403, 200)),
    ("report form, own terminal", "GET", lambda f: "/tickets/new?terminal=SN-TEST-0000",
     _expect(200, 200, 403, 403, 200)),
    ("report form, other terminal", "GET", lambda f: "/tickets/new?terminal=SN-TEST-0003",
     _expect(404, 200, 403, 403, 200)),
    ("reliability", "GET", lambda f: "/tickets/reliability", _expect(403, 200, 200, 200, 200)),
    ("reliability by region", "GET", lambda f: "/tickets/reliability?group_by=region&days=90",
     _expect(403, 200, 200, 200, 200)),
    ("ticket, own", "GET", lambda f: f"/tickets/{_t(f).own}", _expect(200, 200, 200, 404, 200)),
    ("ticket, other", "GET", lambda f: f"/tickets/{_t(f).other}", _expect(404, 200, 200, 404, 200)),
    ("ticket, assigned", "GET", lambda f: f"/tickets/{_t(f).assigned}", _expect(200, 200, 200, 200, 200)),
    ("ticket, repaired", "GET", lambda f: f"/tickets/{_t(f).repaired}", _expect(200, 200, 200, 200, 200)),
    ("terminal page's repairs, own", "GET", lambda f: f"/terminals/{f.terminals_a[0]}",
     _expect(200, 200, 200, 200, 200)),
    ("terminal page's repairs, other", "GET", lambda f: f"/terminals/{f.terminals_b[0]}",
     _expect(404, 200, 200, 200, 200)),
]

FORMS: list[matrix.Form] = [
    ("open, own terminal", "POST", lambda f: "/tickets",
     lambda f: {"data": {"terminal": "SN-TEST-0002", "description": "打印机不出纸"}}, _expect(303, 303, 403, 403, 303)),
    ("open, other terminal", "POST", lambda f: "/tickets",
     lambda f: {"data": {"terminal": "SN-TEST-0004", "description": "x"}}, _expect(404, 303, 403, 403, 303)),
    ("open, empty description", "POST", lambda f: "/tickets",
     lambda f: {"data": {"terminal": "SN-TEST-0002", "description": " "}}, _expect(422, 422, 403, 403, 422)),
    ("move, own", "POST", lambda f: f"/tickets/{_t(f).own}/move", lambda f: {"data": {"to": "triaged"}},
     _expect(403, 303, 403, 404, 303)),
    ("move, assigned", "POST", lambda f: f"/tickets/{_t(f).assigned}/move",
     lambda f: {"data": {"to": "waiting", "waiting_for": "parts"}}, _expect(403, 303, 403, 303, 303)),
    ("assign", "POST", lambda f: f"/tickets/{_t(f).own}/assign", lambda f: {"data": {}},
     _expect(403, 303, 403, 403, 303)),
    ("priority", "POST", lambda f: f"/tickets/{_t(f).own}/priority", lambda f: {"data": {"priority": "high"}},
     _expect(403, 303, 403, 403, 303)),
    ("work, assigned", "POST", lambda f: f"/tickets/{_t(f).assigned}/work",
     lambda f: {"data": {"minutes": "10", "part_name": "读卡模块", "part_cost": "85.00", "note": "检查读卡器"}},
     _expect(403, 303, 403, 303, 303)),
    ("accept, repaired", "POST", lambda f: f"/tickets/{_t(f).repaired}/acceptance",
     lambda f: {"data": {"accepted": "1"}}, _expect(303, 303, 403, 403, 303)),
    ("upload, own", "POST", lambda f: f"/tickets/{_t(f).own}/documents",
     lambda f: {"data": {"name": "保修卡"}, "files": pdf()}, _expect(303, 303, 403, 404, 303)),
    ("reserve", "POST", lambda f: f"/tickets/{_t(f).assigned}/loaners",
     lambda f: {"data": {"begins_on": _later(10), "ends_on": _later(12)}}, _expect(403, 303, 403, 403, 303)),
    ("hand over", "POST", lambda f: f"/tickets/{_t(f).assigned}/loaners/{_t(f).reservation}/hand-over",
     lambda f: {"data": {}}, _expect(403, 303, 403, 303, 303)),
    ("return", "POST", lambda f: f"/tickets/{_t(f).assigned}/loaners/{_t(f).reservation}/return",
     lambda f: {"data": {}}, _expect(403, 303, 403, 303, 303)),
]


@pytest.mark.parametrize("role", ROLES)
def test_every_console_page_and_form_answers_each_role_as_designed(client: TestClient, ticketed: Fleet,
                                                                 role: str) -> None:
    matrix.check_pages_answer_role(client, ticketed, role, PAGES)
    matrix.check_forms_answer_role(client, ticketed, role, FORMS)


def test_every_console_page_and_form_sends_anonymous_visitors_to_login(client: TestClient, ticketed: Fleet) -> None:
    matrix.check_pages_send_anonymous_to_login(client, ticketed, PAGES)
    matrix.check_forms_send_anonymous_to_login(client, ticketed, FORMS)
