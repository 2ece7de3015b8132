"""Repair tickets through the API: from an escalated diagnosis to acceptance, with loaners, SLA and records."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from posops.core.db import Database, utcnow
from posops.core.errors import Conflict
from posops.core.models import AuditEvent, User
from posops.diagnosis import service as diagnosis
from posops.terminals.models import Merchant, MerchantNotice, Terminal
from posops.tickets import service
from posops.tickets.models import TechnicianProfile, Ticket
from tests.conftest import ADMIN_TOKEN, Fleet
from tests.helpers import error_fields
from tests.telemetry.heartbeats import full_payload
from tests.terminals.flows import ok

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def _post(client: TestClient, fleet: Fleet, path: str, role: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(path, json=body or {}, headers=fleet.headers(role))


def _open(client: TestClient, fleet: Fleet, terminal: int, role: str = "merchant", **body: Any) -> dict[str, Any]:
    return ok(_post(client, fleet, "/api/v1/tickets", role,
                    {"terminal_id": terminal, "description": "刷卡没反应", **body}), 201)


def _move(client: TestClient, fleet: Fleet, ticket: int, role: str, to: str, **extra: Any) -> Any:
    return _post(client, fleet, f"/api/v1/tickets/{ticket}/transitions", role, {"to": to, **extra})


def _pool_loaner(db: Database) -> int:
    """A provider pool account holding one spare terminal; returns the terminal id."""
    with db.transaction() as session:
        pool = Merchant(name="服务商备机库", legal_id="POOL0000000001", region="上海")
        session.add(pool)
        session.flush()
        device = Terminal(serial_number="SN-LOAN-0001", model="PAX A920", vendor="PAX", tid="99000001",
                          mid="898310000009999", merchant_id=pool.id, region="上海", status="active")
        session.add(device)
        session.flush()
        return device.id


def test_a_ticket_carries_the_record_the_warranty_and_its_sla(client: TestClient, fleet: Fleet, db: Database) -> None:
    terminal = fleet.terminals_a[0]
    with db.transaction() as session:
        row = session.get(Terminal, terminal)
        assert row is not None
        row.warranty_end = date.today() + timedelta(days=30)
    ticket = _open(client, fleet, terminal, channel="depot", priority="urgent")
    assert (ticket["status"], ticket["channel"], ticket["priority"], ticket["in_warranty"]) == (
        "new", "depot", "urgent", True)
    assert ticket["materials"]["serial_number"] == "SN-TEST-0000" and ticket["materials"]["model"] == "Sunmi P2"
    sla = ticket["sla"]
    assert sla["respond_by"] < sla["resolve_by"] and not sla["respond_breached"] and not sla["paused"]
    assert ticket["allowed"] == ["cancelled"], "a merchant may only cancel its own new report"


def test_bad_reports_are_refused_with_the_field(client: TestClient, fleet: Fleet) -> None:
    empty = _post(client, fleet, "/api/v1/tickets", "merchant", {"terminal_id": fleet.terminals_a[0],
                                                                  "description": "  "})
    assert empty.status_code == 422 and error_fields(empty) == ["description"]
    other = _post(client, fleet, "/api/v1/tickets", "merchant", {"terminal_id": fleet.terminals_b[0],
                                                                  "description": "坏了"})
    assert other.status_code == 404, "merchant A cannot report merchant B's terminal"
    technician = _post(client, fleet, "/api/v1/tickets", "technician", {"terminal_id": fleet.terminals_a[0],
                                                                         "description": "坏了"})
    assert technician.status_code == 403
    waiting = _move(client, fleet, _open(client, fleet, fleet.terminals_a[0])["id"], "agent", "waiting")
    assert waiting.status_code == 422
    assert "waiting_for is required" in waiting.json()["detail"]["message"]["en"]
    assert "等待" in waiting.json()["detail"]["message"]["zh-CN"]


def test_the_lifecycle_refuses_with_what_is_allowed(client: TestClient, fleet: Fleet) -> None:
    ticket = _open(client, fleet, fleet.terminals_a[0])["id"]
    wrong = _move(client, fleet, ticket, "agent", "repaired")
    assert wrong.status_code == 409
    detail = wrong.json()["detail"]
    assert detail["code"] == "illegal_transition" and set(detail["allowed"]) == {"triaged", "assigned", "cancelled"}
    assert _move(client, fleet, ticket, "merchant", "triaged").status_code == 403
    assert client.get(f"/api/v1/tickets/{ticket}", headers=fleet.headers("technician")).status_code == 404, \
        "a technician sees only the tickets assigned to them"
    assert client.get(f"/api/v1/tickets/{ticket}", headers=fleet.headers("merchant_b")).status_code == 404


def test_assignment_picks_the_regions_technician_with_the_fewest_open_tickets(client: TestClient, fleet: Fleet,
                                                                              db: Database) -> None:
    with db.transaction() as session:
        for name, regions in (("tech_sh_1", ["上海"]), ("tech_sh_2", ["上海"]), ("tech_bj", ["北京"])):
            user = User(username=name, role="technician", password_hash="x", display_name=name)
            session.add(user)
            session.flush()
            session.add(TechnicianProfile(user_id=user.id, regions=regions))
    first = ok(_post(client, fleet, f"/api/v1/tickets/{_open(client, fleet, fleet.terminals_a[0])['id']}/assign",
                     "agent"))
    second = ok(_post(client, fleet, f"/api/v1/tickets/{_open(client, fleet, fleet.terminals_a[1])['id']}/assign",
                      "agent"))
    beijing = ok(_post(client, fleet, f"/api/v1/tickets/{_open(client, fleet, fleet.terminals_b[0], 'agent')['id']}"
                                      "/assign", "agent"))
    assert (first["assignee"], second["assignee"], beijing["assignee"]) == ("tech_sh_1", "tech_sh_2", "tech_bj")
    assert first["status"] == "assigned" and first["sla"]["responded_at"] is not None
    named = _post(client, fleet, f"/api/v1/tickets/{first['id']}/assign", "agent", {"technician": "merchant"})
    assert named.status_code == 422 and "technician" in named.text


def test_waiting_pauses_the_resolution_clock(client: TestClient, fleet: Fleet) -> None:
    ticket = _open(client, fleet, fleet.terminals_a[0])["id"]
    ok(_post(client, fleet, f"/api/v1/tickets/{ticket}/assign", "agent", {"technician": "technician"}))
    ok(_move(client, fleet, ticket, "technician", "in_repair"))
    waiting = ok(_move(client, fleet, ticket, "technician", "waiting", waiting_for="parts"))
    assert (waiting["status"], waiting["waiting_for"]) == ("waiting", "parts")
    assert waiting["sla"]["paused"] and waiting["sla"]["resolve_by"] is None
    resumed = ok(_move(client, fleet, ticket, "technician", "in_repair"))
    assert not resumed["sla"]["paused"] and resumed["sla"]["resolve_by"] is not None


def test_escalated_diagnosis_to_accepted_repair_lifts_the_device_fault(client: TestClient, fleet: Fleet,
                                                                      db: Database) -> None:
    terminal = fleet.terminals_a[0]
    ok(_post(client, fleet, f"/api/v1/terminals/{terminal}/suspend", "agent",
             {"reason": "device_fault", "note": "读卡模块故障"}))
    diagnosis = ok(_post(client, fleet, "/api/v1/diagnoses", "merchant",
                         {"text": "刷卡没反应", "terminal_id": "SN-TEST-0000"}), 201)
    done = ok(_post(client, fleet, f"/api/v1/diagnoses/{diagnosis['id']}/handover", "merchant", {"note": "请上门"}))
    ticket_id = done["ticket_id"]
    assert isinstance(ticket_id, int)
    again = ok(client.get(f"/api/v1/diagnoses/{diagnosis['id']}", headers=fleet.headers("merchant")))
    assert again["id"] == diagnosis["id"]
    ticket = ok(client.get(f"/api/v1/tickets/{ticket_id}", headers=fleet.headers("agent")))
    assert ticket["diagnosis_id"] == diagnosis["id"] and ticket["symptom"] == "card_read"
    assert ticket["description"] == "刷卡没反应" and ticket["prefill"]["ranking"], "the merchant never retypes"
    assert ticket["suspected_cause"] == ticket["prefill"]["ranking"][0]["cause"]
    assert ticket["prefill"]["evidence"]["account_status"] == "ok"

    ok(_post(client, fleet, f"/api/v1/tickets/{ticket_id}/assign", "agent", {"technician": "technician"}))
    loaner = _pool_loaner(db)
    pool = ok(_post(client, fleet, "/api/v1/loaners", "agent", {"terminal_id": loaner}), 201)
    today = date.today()
    held = ok(_post(client, fleet, "/api/v1/loaners/reservations", "agent",
                    {"ticket_id": ticket_id, "loaner_id": pool["id"], "begins_on": str(today),
                     "ends_on": str(today + timedelta(days=5))}), 201)
    other = _open(client, fleet, fleet.terminals_a[1])["id"]
    clash = _post(client, fleet, "/api/v1/loaners/reservations", "agent",
                  {"ticket_id": other, "loaner_id": pool["id"], "begins_on": str(today + timedelta(days=5)),
                   "ends_on": str(today + timedelta(days=8))})
    assert clash.status_code == 409 and f"ticket #{ticket_id}" in clash.text
    later = ok(_post(client, fleet, "/api/v1/loaners/reservations", "agent",
                     {"ticket_id": other, "loaner_id": pool["id"], "begins_on": str(today + timedelta(days=6)),
                      "ends_on": str(today + timedelta(days=8))}), 201)
    assert later["status"] == "reserved"
    out = ok(_post(client, fleet, f"/api/v1/loaners/reservations/{held['id']}/hand-over", "agent"))
    assert out["status"] == "out"
    lent = ok(client.get(f"/api/v1/terminals/{loaner}", headers=fleet.headers("merchant")))
    assert lent["merchant_id"] == fleet.merchant_a and lent["mid"] == "898310000000000", "the loaner takes A's MID"

    ok(_move(client, fleet, ticket_id, "technician", "scheduled",
             scheduled_for=(utcnow() + timedelta(hours=3)).isoformat()))
    ok(_move(client, fleet, ticket_id, "technician", "in_repair"))
    worked = ok(_post(client, fleet, f"/api/v1/tickets/{ticket_id}/work", "technician",
                      {"minutes": 45, "confirmed_cause": "hw.reader_faulty", "outcome": "repaired",
                       "parts": [{"name": "读卡模块", "quantity": 1, "unit_cost_fen": 8500}], "note": "更换读卡模块"}))
    assert worked["work"][0]["parts"][0]["cost_fen"] == 8500
    repaired = ok(_move(client, fleet, ticket_id, "technician", "repaired"))
    assert repaired["status"] == "repaired" and repaired["proof"] is None
    assert repaired["allowed"] == ["in_repair"], "the technician cannot accept for the merchant"

    signed = utcnow() + timedelta(seconds=30)
    beat = full_payload(sn="SN-TEST-0000", seq=1, ts=signed.isoformat(),
                        last_signin={"at": signed.isoformat(), "ok": True})
    assert client.post("/api/v1/telemetry/heartbeats", json=beat, headers=ADMIN).status_code in (200, 201, 202)
    shown = ok(client.get(f"/api/v1/tickets/{ticket_id}", headers=fleet.headers("merchant")))
    assert shown["proof"]["kind"] == "sign_in" and shown["proof"]["source"] == "telemetry"

    accepted = ok(_post(client, fleet, f"/api/v1/tickets/{ticket_id}/acceptance", "merchant", {"note": "正常了"}))
    assert accepted["status"] == "accepted" and accepted["proof"]["kind"] == "sign_in"
    assert [r["status"] for r in accepted["reservations"]] == ["returned"]
    assert client.get(f"/api/v1/terminals/{loaner}", headers=fleet.headers("merchant")).status_code == 404, \
        "the returned loaner is back in the pool"
    lifecycle = ok(client.get(f"/api/v1/terminals/{terminal}/lifecycle", headers=fleet.headers("merchant")))
    assert lifecycle["status"] == "active" and lifecycle["must_sign_in"] is True

    records = ok(client.get(f"/api/v1/terminals/{terminal}/maintenance", headers=fleet.headers("merchant")))
    assert [(r["ticket_id"], r["technician"], r["cause"], r["cost_fen"], r["minutes"], r["outcome"])
            for r in records] == [(ticket_id, "technician", "hw.reader_faulty", 8500, 45, "repaired")]
    figures = ok(client.get("/api/v1/reliability?group_by=model", headers=fleet.headers("agent")))
    sunmi = next(g for g in figures["groups"] if g["group"] == "Sunmi P2")
    assert sunmi["failures"] == 1 and sunmi["repaired"] == 1 and sunmi["mttr_hours"] is not None
    assert "mttr_hours" in figures["definitions"]

    with db.transaction() as session:
        kinds = list(session.scalars(select(MerchantNotice.kind).where(MerchantNotice.merchant_id == fleet.merchant_a)
                                     .order_by(MerchantNotice.id)))
        actions = {(e.entity_type, e.action) for e in session.scalars(select(AuditEvent))}
    assert {"ticket_new", "ticket_assigned", "loaner_out", "ticket_repaired", "ticket_accepted", "reactivated"} <= \
        set(kinds)
    assert {("ticket", "open"), ("ticket", "move.repaired"), ("ticket", "loaner.hand_over"), ("terminal", "lend"),
            ("terminal", "maintenance"), ("reactivation_request", "approve"), ("terminal", "reactivate")} <= actions


def test_a_refused_acceptance_sends_the_ticket_back_to_repair(client: TestClient, fleet: Fleet) -> None:
    ticket = _open(client, fleet, fleet.terminals_a[0])["id"]
    ok(_post(client, fleet, f"/api/v1/tickets/{ticket}/assign", "agent", {"technician": "technician"}))
    ok(_move(client, fleet, ticket, "technician", "in_repair"))
    ok(_move(client, fleet, ticket, "technician", "repaired"))
    silent = _post(client, fleet, f"/api/v1/tickets/{ticket}/acceptance", "merchant", {"accepted": False})
    assert silent.status_code == 422
    assert "note is required when the repair is not accepted" in silent.json()["detail"]["message"]["en"]
    back = ok(_post(client, fleet, f"/api/v1/tickets/{ticket}/acceptance", "merchant",
                    {"accepted": False, "note": "还是读不了卡"}))
    assert back["status"] == "in_repair"
    assert _post(client, fleet, f"/api/v1/tickets/{ticket}/acceptance", "merchant_b", {}).status_code == 404


def test_the_ticket_list_filters_by_terminal_and_status(client: TestClient, fleet: Fleet) -> None:
    first = _open(client, fleet, fleet.terminals_a[0])["id"]
    _open(client, fleet, fleet.terminals_a[1])
    _open(client, fleet, fleet.terminals_b[0], "merchant_b")
    ok(_move(client, fleet, first, "agent", "triaged"))
    mine = ok(client.get("/api/v1/tickets", headers=fleet.headers("merchant")))
    assert mine["total"] == 2
    triaged = ok(client.get("/api/v1/tickets?status=triaged", headers=fleet.headers("agent")))
    assert [t["id"] for t in triaged["items"]] == [first]
    by_terminal = ok(client.get(f"/api/v1/tickets?terminal_id={fleet.terminals_a[1]}", headers=fleet.headers("agent")))
    assert by_terminal["total"] == 1 and by_terminal["items"][0]["terminal_id"] == fleet.terminals_a[1]
    assert client.get("/api/v1/tickets?status=nonsense", headers=fleet.headers("agent")).status_code == 422


def test_the_breach_scan_flags_missed_deadlines_once(client: TestClient, fleet: Fleet, db: Database) -> None:
    late, on_time = _open(client, fleet, fleet.terminals_a[0])["id"], _open(client, fleet, fleet.terminals_a[1])["id"]
    with db.transaction() as session:
        row = session.get(Ticket, late)
        assert row is not None
        row.respond_by = utcnow() - timedelta(minutes=1)
    assert service.flag_breaches(db, utcnow()) == 1
    assert service.flag_breaches(db, utcnow()) == 0, "a breach is flagged once"
    breached = ok(client.get("/api/v1/tickets?breached=true", headers=fleet.headers("agent")))
    assert [t["id"] for t in breached["items"]] == [late] and breached["items"][0]["sla"]["respond_breached"]
    assert on_time not in [t["id"] for t in breached["items"]]


def test_the_cause_a_technician_finds_is_learned_from(client: TestClient, fleet: Fleet, db: Database) -> None:
    admin = fleet.users["admin"]
    diagnosed = ok(_post(client, fleet, "/api/v1/diagnoses", "merchant",
                         {"text": "刷卡没反应", "terminal_id": "SN-TEST-0000"}), 201)
    ticket = ok(_post(client, fleet, f"/api/v1/diagnoses/{diagnosed['id']}/handover", "merchant"))["ticket_id"]
    with pytest.raises(Conflict, match="only 0 resolved"):
        diagnosis.learn(db, admin, min_cases=1)
    ok(_post(client, fleet, f"/api/v1/tickets/{ticket}/assign", "agent", {"technician": "technician"}))
    ok(_post(client, fleet, f"/api/v1/tickets/{ticket}/work", "technician",
             {"minutes": 30, "confirmed_cause": "hw.reader_dirty", "note": "清洁磁头"}))
    report = diagnosis.learn(db, admin, min_cases=1)
    assert report.cases == 1, "the escalated session counts once its true cause is known"


def test_a_free_loaner_is_offered_while_the_terminal_is_down(client: TestClient, fleet: Fleet, db: Database) -> None:
    def plan_b() -> list[str]:
        doc = ok(_post(client, fleet, "/api/v1/diagnoses", "merchant",
                       {"text": "刷卡没反应", "terminal_id": "SN-TEST-0000"}), 201)
        return list(doc["meanwhile"])

    assert plan_b() and not any("备用机" in way for way in plan_b()), "no pool, no loaner offered"
    pool = ok(_post(client, fleet, "/api/v1/loaners", "agent", {"terminal_id": _pool_loaner(db)}), 201)
    assert any("备用机" in way for way in plan_b())
    ticket = _open(client, fleet, fleet.terminals_a[1])["id"]
    ok(_post(client, fleet, "/api/v1/loaners/reservations", "agent",
             {"ticket_id": ticket, "loaner_id": pool["id"], "begins_on": str(date.today()),
              "ends_on": str(date.today() + timedelta(days=2))}), 201)
    assert not any("备用机" in way for way in plan_b()), "the only loaner is held today"


def test_an_unrepairable_device_is_replaced_and_the_new_one_keeps_the_tid(client: TestClient, fleet: Fleet,
                                                                         db: Database) -> None:
    old = fleet.terminals_a[0]
    ok(_post(client, fleet, f"/api/v1/terminals/{old}/suspend", "agent", {"reason": "device_fault", "note": "主板坏"}))
    ticket = _open(client, fleet, old)["id"]
    ok(_post(client, fleet, f"/api/v1/tickets/{ticket}/assign", "agent", {"technician": "technician"}))
    ok(_move(client, fleet, ticket, "technician", "in_repair"))
    ok(_move(client, fleet, ticket, "technician", "not_repairable", note="主板烧毁"))
    assert _move(client, fleet, ticket, "agent", "replaced").status_code == 422, "the new device is required"
    taken = _move(client, fleet, ticket, "agent", "replaced",
                  replacement={"serial_number": "SN-TEST-0003", "model": "PAX A920"})
    assert taken.status_code == 409, "a serial number already in the fleet cannot be the new device"
    replaced = ok(_move(client, fleet, ticket, "agent", "replaced",
                        replacement={"serial_number": "SN-NEW-0001", "model": "PAX A920", "vendor": "PAX"}))
    assert replaced["status"] == "replaced" and replaced["serial_number"] == "SN-NEW-0001"
    assert (replaced["tid"], replaced["terminal_id"] != old) == ("90000000", True)
    gone = ok(client.get(f"/api/v1/terminals/{old}/lifecycle", headers=fleet.headers("agent")))
    new = ok(client.get(f"/api/v1/terminals/{replaced['terminal_id']}/lifecycle", headers=fleet.headers("merchant")))
    assert gone["status"] == "decommissioned" and (new["status"], new["must_sign_in"]) == ("active", True)
    found = ok(client.get("/api/v1/terminals?q=90000000", headers=fleet.headers("agent")))
    assert "SN-NEW-0001" in [t["serial_number"] for t in found["items"]]
    records = ok(client.get(f"/api/v1/terminals/{old}/maintenance", headers=fleet.headers("agent")))
    assert [r["outcome"] for r in records] == ["replaced"], "the old device's record says how it ended"
    accepted = ok(_post(client, fleet, f"/api/v1/tickets/{ticket}/acceptance", "merchant", {}))
    assert accepted["status"] == "accepted"


def test_the_desk_sets_where_a_technician_works_and_assignment_follows(client: TestClient, fleet: Fleet,
                                                                       db: Database) -> None:
    with db.transaction() as session:
        session.add(User(username="tech_sh", role="technician", password_hash="x", display_name="tech_sh"))
    ok(client.put("/api/v1/technicians/technician", json={"regions": ["北京"]}, headers=fleet.headers("agent")))
    ok(client.put("/api/v1/technicians/tech_sh", json={"regions": ["上海", "上海"]}, headers=fleet.headers("agent")))
    listed = {t["username"]: t for t in ok(client.get("/api/v1/technicians", headers=fleet.headers("agent")))}
    assert listed["tech_sh"]["regions"] == ["上海"] and listed["technician"]["regions"] == ["北京"]
    shanghai = ok(_post(client, fleet, f"/api/v1/tickets/{_open(client, fleet, fleet.terminals_a[0])['id']}/assign",
                        "agent"))
    assert shanghai["assignee"] == "tech_sh"
    ok(client.put("/api/v1/technicians/tech_sh", json={"regions": ["上海"], "active": False},
                  headers=fleet.headers("agent")))
    fallback = ok(_post(client, fleet, f"/api/v1/tickets/{_open(client, fleet, fleet.terminals_a[1])['id']}/assign",
                        "agent"))
    assert fallback["assignee"] == "technician", "with nobody active in the region, anyone active takes it"
    assert client.put("/api/v1/technicians/merchant", json={"regions": []},
                      headers=fleet.headers("agent")).status_code == 404, "not a technician"
    assert client.put("/api/v1/technicians/tech_sh", json={"regions": ["x" * 65]},
                      headers=fleet.headers("agent")).status_code == 422
