"""Merchant and terminal routes: create, read, update, list filters, paging, CSV import and errors."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from posops.core.db import Database
from posops.core.models import AuditEvent
from posops.terminals.models import Terminal
from tests.conftest import Fleet
from tests.helpers import error_fields


def _new_terminal(fleet: Fleet, **overrides: Any) -> dict[str, Any]:
    body = {"serial_number": "NL910-000777", "model": "Newland N910", "vendor": "Newland", "tid": "33445566",
            "mid": "898310058120001", "merchant_id": fleet.merchant_a, "network_type": "wifi",
            "carrier": "中国联通", "region": "上海", "purchase_date": "2024-03-01", "warranty_end": "2027-03-01"}
    return {**body, **overrides}


def test_create_read_update_terminal_with_audit(client: TestClient, fleet: Fleet, db: Database) -> None:
    agent = fleet.headers("agent")
    created = client.post("/api/v1/terminals", json=_new_terminal(fleet), headers=agent)
    assert created.status_code == 201, created.text
    terminal = created.json()
    assert terminal["merchant_name"] == "甲商户"
    assert terminal["status"] == "active"
    assert terminal["created_at"].endswith("Z") or terminal["created_at"].endswith("+00:00")
    read = client.get(f"/api/v1/terminals/{terminal['id']}", headers=fleet.headers("merchant")).json()
    assert read["tid"] == "33445566"
    updated = client.patch(f"/api/v1/terminals/{terminal['id']}", json={"app_version": "5.1.2"}, headers=agent)
    assert updated.status_code == 200 and updated.json()["app_version"] == "5.1.2"
    with db.transaction() as session:
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "terminal",
                                                               AuditEvent.entity_id == str(terminal["id"]))
                                      .order_by(AuditEvent.id)))
    assert [e.action for e in events] == ["create", "update"]
    assert events[1].before is not None and events[1].before["app_version"] == ""
    assert events[1].after is not None and events[1].after["app_version"] == "5.1.2"
    assert events[1].actor == "agent" and events[1].actor_role == "agent"


def test_validation_errors_name_the_field(client: TestClient, fleet: Fleet) -> None:
    agent = fleet.headers("agent")
    bad_tid = client.post("/api/v1/terminals", json=_new_terminal(fleet, tid="12"), headers=agent)
    assert bad_tid.status_code == 422
    assert error_fields(bad_tid) == ["tid"]
    dates = client.post("/api/v1/terminals", json=_new_terminal(fleet, warranty_end="2020-01-01"), headers=agent)
    assert dates.status_code == 422 and "warranty_end" in dates.text
    no_merchant = client.post("/api/v1/terminals", json=_new_terminal(fleet, merchant_id=99999), headers=agent)
    assert no_merchant.status_code == 422
    assert error_fields(no_merchant) == ["merchant_id"]
    assert "no merchant 99999" in no_merchant.json()["detail"]["message"]["en"]
    reason = client.post("/api/v1/terminals", json=_new_terminal(fleet, status="suspended"), headers=agent)
    assert reason.status_code == 422 and "status_reason" in reason.text
    status_patch = client.patch(f"/api/v1/terminals/{fleet.terminals_a[0]}", json={"status": "active"},
                                headers=agent)
    assert status_patch.status_code == 422, "status changes belong to the lifecycle, not PATCH"
    paging = client.get("/api/v1/terminals?per_page=1000", headers=agent)
    assert paging.status_code == 422 and error_fields(paging) == ["per_page"]


def test_duplicates_are_409(client: TestClient, fleet: Fleet) -> None:
    agent = fleet.headers("agent")
    assert client.post("/api/v1/terminals", json=_new_terminal(fleet), headers=agent).status_code == 201
    same_serial = client.post("/api/v1/terminals", json=_new_terminal(fleet, tid="99887766"), headers=agent)
    assert same_serial.status_code == 409 and "serial number" in same_serial.json()["detail"]["message"]["en"]
    assert same_serial.json()["detail"]["code"] == "terminals.error.serial_number_taken"
    same_tid = client.post("/api/v1/terminals", json=_new_terminal(fleet, serial_number="OTHER-0001"), headers=agent)
    assert same_tid.status_code == 409 and "TID" in same_tid.json()["detail"]["message"]["en"]
    patch = client.patch(f"/api/v1/terminals/{fleet.terminals_a[0]}", json={"tid": "33445566"}, headers=agent)
    assert patch.status_code == 409
    merchant = client.post("/api/v1/merchants", json={"name": "重复", "legal_id": "91310000AAAA00001X"},
                           headers=agent)
    assert merchant.status_code == 409


def test_list_filters_search_and_paging(client: TestClient, fleet: Fleet) -> None:
    admin = fleet.headers("admin")

    def ids(query: str) -> list[int]:
        response = client.get(f"/api/v1/terminals?{query}", headers=admin)
        assert response.status_code == 200, response.text
        return [t["id"] for t in response.json()["items"]]

    assert ids(f"merchant_id={fleet.merchant_b}") == fleet.terminals_b
    assert ids("status=suspended") == [fleet.terminals_a[2]]
    assert ids("model=PAX%20A920") == [fleet.terminals_a[1], fleet.terminals_b[0]]
    assert ids("region=北京") == fleet.terminals_b
    assert ids("q=0003") == [fleet.terminals_b[0]]
    assert ids("q=90000004") == [fleet.terminals_b[1]]
    first = client.get("/api/v1/terminals?per_page=2&page=1", headers=admin).json()
    third = client.get("/api/v1/terminals?per_page=2&page=3", headers=admin).json()
    assert first["total"] == 5 and len(first["items"]) == 2 and len(third["items"]) == 1
    assert client.get("/api/v1/terminals?status=broken", headers=admin).status_code == 422


def test_missing_records_are_404(client: TestClient, fleet: Fleet) -> None:
    assert client.get("/api/v1/terminals/424242", headers=fleet.headers("admin")).status_code == 404
    assert client.get("/api/v1/merchants/424242", headers=fleet.headers("admin")).status_code == 404


def _count_terminals(db: Database) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count(Terminal.id))) or 0


def test_csv_import_all_or_nothing_with_line_numbers(client: TestClient, fleet: Fleet, db: Database) -> None:
    agent = {**fleet.headers("agent"), "content-type": "text/csv"}
    before = _count_terminals(db)
    bad = ("serial_number,model,tid,mid,merchant_legal_id,network_type\n"
           "LA-A8-000001,Landi A8,55550001,898310058120001,91310000AAAA00001X,4g\n"
           "LA-A8-000002,Landi A8,5555,898310058120001,91310000AAAA00001X,4g\n"
           "LA-A8-000001,Landi A8,55550003,898310058120001,91310000BBBB00002Y,wifi\n"
           "LA-A8-000005,Landi A8,55550005,898310058120001,91310000BBBB00002Y,satellite\n"
           "LA-A8-000004,Landi A8,55550004,898310058120001,NOSUCHMERCHANT,wifi\n")
    response = client.post("/api/v1/terminals/import", content=bad.encode(), headers=agent)
    assert response.status_code == 422
    problems = {(e["line"], e["field"]) for e in response.json()["detail"]["fields"]}
    assert problems == {(3, "tid"), (4, "serial_number"), (5, "network_type"), (6, "merchant_legal_id")}
    assert _count_terminals(db) == before, "a rejected file imports nothing"
    good = ("\ufeffserial_number,model,tid,mid,merchant_legal_id,network_type,purchase_date\n"
            "LA-A8-000001,Landi A8,55550001,898310058120001,91310000AAAA00001X,4g,2024-01-15\n"
            "LA-A8-000002,Landi A8,55550002,898310058120001,91310000BBBB00002Y,wifi,\n")
    files = {"file": ("fleet.csv", good.encode(), "text/csv")}
    imported = client.post("/api/v1/terminals/import", files=files, headers=fleet.headers("agent"))
    assert imported.status_code == 201, imported.text
    assert imported.json() == {"imported": 2}
    assert _count_terminals(db) == before + 2
    again = client.post("/api/v1/terminals/import", files=files, headers=fleet.headers("agent"))
    assert again.status_code == 422 and set(error_fields(again)) == {"serial_number", "tid"}


def test_csv_import_rejects_unknown_columns_and_empty_files(client: TestClient, fleet: Fleet) -> None:
    agent = {**fleet.headers("agent"), "content-type": "text/csv"}
    unknown = client.post("/api/v1/merchants/import", content=b"name,legal_id,colour\nA,91310000ZZZZ00009Q,red\n",
                          headers=agent)
    assert unknown.status_code == 422 and "colour" in unknown.text
    assert unknown.json()["detail"]["fields"][0]["line"] == 1
    empty = client.post("/api/v1/merchants/import", content=b"name,legal_id\n", headers=agent)
    assert empty.status_code == 422
    not_utf8 = client.post("/api/v1/merchants/import", content="name,legal_id\n商户,X\n".encode("gbk"),
                           headers=agent)
    assert not_utf8.status_code == 422 and "UTF-8" in not_utf8.text


def test_merchant_update_and_listing(client: TestClient, fleet: Fleet) -> None:
    agent = fleet.headers("agent")
    response = client.patch(f"/api/v1/merchants/{fleet.merchant_b}", json={"contact_phone": "+86 138 0000 0000"},
                            headers=agent)
    assert response.status_code == 200 and response.json()["contact_phone"] == "+86 138 0000 0000"
    bad_phone = client.patch(f"/api/v1/merchants/{fleet.merchant_b}", json={"contact_phone": "call me"},
                             headers=agent)
    assert bad_phone.status_code == 422 and error_fields(bad_phone) == ["contact_phone"]
    listed = client.get("/api/v1/merchants?q=乙", headers=agent).json()
    assert [m["id"] for m in listed["items"]] == [fleet.merchant_b]
