"""Reactivation requests through the API: what each reason needs, evidence, documents, rejection and resubmission."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from posops.core.config import Settings
from posops.core.db import Database
from posops.core.models import StoredDocument
from tests.conftest import Fleet
from tests.helpers import add_colleague, error_fields
from tests.terminals.flows import FEE_PLAN, PDF, PNG, ok, pdf


def _suspend(client: TestClient, fleet: Fleet, terminal: int, reason: str, role: str = "agent",
             **extra: object) -> None:
    ok(client.post(f"/api/v1/terminals/{terminal}/suspend", headers=fleet.headers(role),
                   json={"reason": reason, "note": "测试", **extra}))


def _request(client: TestClient, fleet: Fleet, terminal: int, role: str = "merchant") -> dict[str, Any]:
    return ok(client.post(f"/api/v1/terminals/{terminal}/reactivation-requests", headers=fleet.headers(role),
                          json={"note": "请复机"}), 201)


def _evidence(client: TestClient, fleet: Fleet, request_id: int, role: str, **body: object) -> Any:
    return client.post(f"/api/v1/reactivation-requests/{request_id}/evidence", headers=fleet.headers(role),
                       json=body)


def _codes(item: dict[str, Any]) -> list[str]:
    return [c["code"] for c in item["unmet"]]


def _approve(client: TestClient, fleet: Fleet, request_id: int, role: str = "agent") -> Any:
    return client.post(f"/api/v1/reactivation-requests/{request_id}/approve", headers=fleet.headers(role))


def test_arrears_without_a_fee_plan_or_bills_says_exactly_that(client: TestClient, fleet: Fleet) -> None:
    request = _request(client, fleet, fleet.terminals_a[2])  # suspended for arrears by the fixture, no details
    assert _codes(request) == ["fee_plan_missing", "unpaid_bills_missing"]
    ok(client.put(f"/api/v1/merchants/{fleet.merchant_a}/fee-plan", headers=fleet.headers("agent"), json=FEE_PLAN))
    assert _codes(ok(client.get(f"/api/v1/reactivation-requests/{request['id']}",
                                headers=fleet.headers("merchant")))) == ["unpaid_bills_missing"]
    bills = _evidence(client, fleet, request["id"], "merchant", kind="unpaid_bills", due_dates=["2024-05-01"])
    assert bills.status_code == 403 and "payment" in bills.json()["detail"]["allowed"]
    due = (date.today() - timedelta(days=20)).isoformat()
    item = ok(_evidence(client, fleet, request["id"], "agent", kind="unpaid_bills", due_dates=[due]))
    assert _codes(item) == ["arrears_unpaid", "payment_voucher_missing"]
    assert item["arrears"]["principal_fen"] == 4_000 and item["arrears"]["lines"][0]["days_overdue"] == 20


def test_a_partial_payment_leaves_the_rest_owed(client: TestClient, fleet: Fleet) -> None:
    ok(client.put(f"/api/v1/merchants/{fleet.merchant_a}/fee-plan", headers=fleet.headers("agent"), json=FEE_PLAN))
    _suspend(client, fleet, fleet.terminals_a[0], "arrears", unpaid_due_dates=[date.today().isoformat()])
    request = _request(client, fleet, fleet.terminals_a[0])
    assert request["arrears"]["total_fen"] == 0 and request["unmet"] == [], "a bill due today is not overdue yet"
    _suspend_two = fleet.terminals_a[1]
    _suspend(client, fleet, _suspend_two, "arrears",
             unpaid_due_dates=[(date.today() - timedelta(days=10)).isoformat()])
    owed = _request(client, fleet, _suspend_two)
    total = owed["arrears"]["total_fen"]
    paid = ok(_evidence(client, fleet, owed["id"], "merchant", kind="payment", amount_fen=total - 100,
                        voucher="TX-PART-1", paid_on=date.today().isoformat()))
    assert _codes(paid) == ["arrears_unpaid"] and paid["unmet"][0]["subject"] == "100"
    again = _evidence(client, fleet, owed["id"], "merchant", kind="payment", amount_fen=100, voucher="TX-PART-1",
                      paid_on=date.today().isoformat())
    assert again.status_code == 409, "the same voucher twice"
    future = _evidence(client, fleet, owed["id"], "merchant", kind="payment", amount_fen=100, voucher="TX-PART-2",
                       paid_on=(date.today() + timedelta(days=1)).isoformat())
    assert future.status_code == 422 and error_fields(future) == ["paid_on"]
    done = ok(_evidence(client, fleet, owed["id"], "merchant", kind="payment", amount_fen=100, voucher="TX-PART-2",
                        paid_on=date.today().isoformat()))
    assert done["unmet"] == [] and [p["voucher"] for p in done["payments"]] == ["TX-PART-1", "TX-PART-2"]


def test_risk_asks_for_documents_and_the_merchant_uploads_them(client: TestClient, fleet: Fleet,
                                                               settings: Settings, db: Database) -> None:
    terminal = fleet.terminals_a[0]
    _suspend(client, fleet, terminal, "risk_limit", role="risk", documents_requested=["情况说明"])
    request = _request(client, fleet, terminal)
    assert [(c["code"], c["subject"]) for c in request["unmet"]] == [("document_missing", "情况说明")]
    asked = ok(_evidence(client, fleet, request["id"], "risk", kind="documents_requested",
                         documents=["情况说明", "近三个月交易流水"]))
    assert [c["subject"] for c in asked["unmet"]] == ["情况说明", "近三个月交易流水"]
    assert _evidence(client, fleet, request["id"], "agent", kind="documents_requested",
                     documents=["x"]).status_code == 403
    upload = client.post(f"/api/v1/reactivation-requests/{request['id']}/documents", headers=fleet.headers("merchant"),
                         data={"name": "情况说明"}, files=pdf("说明.pdf"))
    document = ok(upload, 201)
    assert document["filename"] == "说明.pdf" and document["size_bytes"] == len(PDF)
    stored = list(Path(settings.var_dir, "uploads", "reactivation", str(request["id"])).iterdir())
    assert len(stored) == 1 and stored[0].read_bytes() == PDF
    download = client.get(f"/api/v1/reactivation-requests/{request['id']}/documents/{document['id']}",
                          headers=fleet.headers("risk"))
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert "attachment" in download.headers["content-disposition"]
    ok(client.post(f"/api/v1/reactivation-requests/{request['id']}/documents", headers=fleet.headers("merchant"),
                   data={"name": "近三个月交易流水"}, files={"file": ("flow.png", PNG, "image/png")}), 201)
    assert _approve(client, fleet, request["id"], "risk").status_code == 403  # it imposed the suspension
    assert ok(_approve(client, fleet, request["id"], add_colleague(db, fleet, "risk")))["status"] == "approved"


def test_uploads_refuse_wrong_types_and_sizes_and_leave_nothing_behind(client: TestClient, fleet: Fleet,
                                                                        settings: Settings, db: Database) -> None:
    request = _request(client, fleet, fleet.terminals_a[2])
    url = f"/api/v1/reactivation-requests/{request['id']}/documents"
    merchant = fleet.headers("merchant")
    cases = [({"file": ("a.exe", b"MZ\x90\x00", "application/octet-stream")}, "Only PDF"),
             ({"file": ("a.pdf", b"MZ\x90\x00", "application/pdf")}, "content"),
             ({"file": ("a.pdf", b"", "application/pdf")}, "empty"),
             ({"file": ("big.pdf", PDF + b"0" * (10 * 1024 * 1024), "application/pdf")}, "larger")]
    for files, words in cases:
        response = client.post(url, headers=merchant, data={"name": "凭证"}, files=files)
        assert response.status_code == 422, response.text
        assert error_fields(response) == ["file"] and words in response.json()["detail"]["message"]["en"]
    nameless = client.post(url, headers=merchant, files=pdf())
    assert nameless.status_code == 422 and error_fields(nameless) == ["name"]
    forbidden = client.post(url, headers=fleet.headers("technician"), data={"name": "凭证"}, files=pdf())
    assert forbidden.status_code == 403
    with db.transaction() as session:
        assert session.scalar(select(func.count(StoredDocument.id))) == 0
    folder = Path(settings.var_dir, "uploads", "reactivation", str(request["id"]))
    assert not folder.exists() or list(folder.iterdir()) == [], "a refused upload leaves no file"


def test_device_fault_waits_for_an_accepted_repair_ticket(client: TestClient, fleet: Fleet) -> None:
    _suspend(client, fleet, fleet.terminals_a[0], "device_fault")
    request = _request(client, fleet, fleet.terminals_a[0])
    assert _codes(request) == ["repair_no_ticket"]
    say_so = _evidence(client, fleet, request["id"], "agent", kind="repair_confirmed", note="修好了")
    assert say_so.status_code == 422, "an agent's word no longer lifts a device fault"
    ticket = ok(client.post("/api/v1/tickets", headers=fleet.headers("merchant"),
                            json={"terminal_id": fleet.terminals_a[0], "description": "读卡器坏了"}), 201)
    again = ok(client.get(f"/api/v1/reactivation-requests/{request['id']}", headers=fleet.headers("agent")))
    assert _codes(again) == ["repair_not_accepted"] and str(ticket["id"]) in again["unmet"][0]["en"]
    assert _approve(client, fleet, request["id"]).status_code == 409


def test_system_update_reads_the_version_the_terminal_reports(client: TestClient, fleet: Fleet) -> None:
    terminal = fleet.terminals_a[0]  # reports app version 3.2.1
    _suspend(client, fleet, terminal, "system_update", required_version="3.10.0")
    request = _request(client, fleet, terminal)
    assert _codes(request) == ["version_too_old"] and request["reported_version"] == "3.2.1"
    ok(client.patch(f"/api/v1/terminals/{terminal}", headers=fleet.headers("agent"), json={"app_version": "3.10.2"}))
    assert ok(_approve(client, fleet, request["id"]))["status"] == "approved"


def test_dormant_needs_the_merchant_to_reconfirm_identity(client: TestClient, fleet: Fleet) -> None:
    _suspend(client, fleet, fleet.terminals_a[0], "dormant")
    request = _request(client, fleet, fleet.terminals_a[0])
    assert _codes(request) == ["identity_not_reconfirmed"]
    wrong = _evidence(client, fleet, request["id"], "merchant", kind="identity", legal_id="91310000BBBB00002Y")
    assert wrong.status_code == 422 and error_fields(wrong) == ["legal_id"]
    confirmed = ok(_evidence(client, fleet, request["id"], "merchant", kind="identity",
                             legal_id="91310000aaaa00001x"))
    assert confirmed["unmet"] == [] and confirmed["identity_reconfirmed_by"] == "merchant"


def test_policy_and_other(client: TestClient, fleet: Fleet) -> None:
    _suspend(client, fleet, fleet.terminals_a[0], "policy", documents_requested=["新版商户协议"])
    policy = _request(client, fleet, fleet.terminals_a[0])
    assert _codes(policy) == ["document_missing"]
    _suspend(client, fleet, fleet.terminals_a[1], "other")
    other = _request(client, fleet, fleet.terminals_a[1], role="agent")
    assert _codes(other) == ["agent_confirmation_missing"] and other["requested_by"] == "agent"
    assert ok(_evidence(client, fleet, other["id"], "agent", kind="resolved_confirmed",
                        note="已核实"))["unmet"] == []


def test_reject_says_why_and_the_request_can_be_resubmitted(client: TestClient, fleet: Fleet) -> None:
    _suspend(client, fleet, fleet.terminals_a[0], "other")
    request = _request(client, fleet, fleet.terminals_a[0])
    blank = client.post(f"/api/v1/reactivation-requests/{request['id']}/reject", headers=fleet.headers("agent"),
                        json={"reason": "  "})
    assert blank.status_code == 422 and error_fields(blank) == ["reason"]
    rejected = ok(client.post(f"/api/v1/reactivation-requests/{request['id']}/reject", headers=fleet.headers("agent"),
                              json={"reason": "尚未核实原因"}))
    assert rejected["status"] == "rejected" and rejected["allowed_actions"] == ["resubmit"]
    notices = ok(client.get(f"/api/v1/notices?terminal_id={fleet.terminals_a[0]}", headers=fleet.headers("merchant")))
    assert notices[0]["kind"] == "reactivation_rejected" and "尚未核实原因" in notices[0]["body_zh"]
    fresh = client.post(f"/api/v1/terminals/{fleet.terminals_a[0]}/reactivation-requests",
                        headers=fleet.headers("merchant"), json={})
    assert fresh.status_code == 409 and "resubmit" in fresh.json()["detail"]["message"]["en"]
    assert "尚未核实原因" in fresh.json()["detail"]["message"]["zh-CN"], "says why it was rejected"
    again = client.post(f"/api/v1/reactivation-requests/{request['id']}/reject", headers=fleet.headers("agent"),
                        json={"reason": "再次驳回"})
    assert again.status_code == 409
    resubmitted = ok(client.post(f"/api/v1/reactivation-requests/{request['id']}/resubmit",
                                 headers=fleet.headers("merchant"), json={"note": "已说明"}))
    assert (resubmitted["status"], resubmitted["submissions"]) == ("submitted", 2)
    assert resubmitted["rejection_reason"] is None
    duplicate = client.post(f"/api/v1/terminals/{fleet.terminals_a[0]}/reactivation-requests",
                            headers=fleet.headers("merchant"), json={})
    assert duplicate.status_code == 409 and "already open" in duplicate.json()["detail"]["message"]["en"]
    assert duplicate.json()["detail"]["code"] == "reactivation.error.already_open"


def test_a_reason_change_is_caught_at_approval(client: TestClient, fleet: Fleet) -> None:
    _suspend(client, fleet, fleet.terminals_a[0], "other")
    request = _request(client, fleet, fleet.terminals_a[0])
    ok(_evidence(client, fleet, request["id"], "agent", kind="resolved_confirmed", note="ok"))
    ok(client.post(f"/api/v1/terminals/{fleet.terminals_a[0]}/suspension-reason", headers=fleet.headers("risk"),
                   json={"reason": "security", "note": "发现可疑交易"}))
    for role in ("agent", "risk"):
        refused = _approve(client, fleet, request["id"], role)
        assert refused.status_code == 409 and "changed" in refused.json()["detail"]["message"]["en"]
    ok(client.post(f"/api/v1/reactivation-requests/{request['id']}/reject", headers=fleet.headers("agent"),
                   json={"reason": "停机原因已变更为安全原因"}))
    resubmitted = ok(client.post(f"/api/v1/reactivation-requests/{request['id']}/resubmit",
                                 headers=fleet.headers("merchant"), json={}))
    assert resubmitted["reason"] == "security" and resubmitted["approvers"] == ["risk"]


def test_merchants_list_only_their_own_requests(client: TestClient, fleet: Fleet) -> None:
    _suspend(client, fleet, fleet.terminals_b[0], "other")
    _request(client, fleet, fleet.terminals_b[0], role="merchant_b")
    _request(client, fleet, fleet.terminals_a[2])
    mine = ok(client.get("/api/v1/reactivation-requests", headers=fleet.headers("merchant")))
    assert {r["merchant_id"] for r in mine["items"]} == {fleet.merchant_a} and mine["total"] == 1
    queue = ok(client.get("/api/v1/reactivation-requests?for_me=true", headers=fleet.headers("agent")))
    assert queue["total"] == 2
    assert ok(client.get("/api/v1/reactivation-requests?for_me=true", headers=fleet.headers("risk")))["total"] == 0
    bad = client.get("/api/v1/reactivation-requests?status=open", headers=fleet.headers("agent"))
    assert bad.status_code == 422 and error_fields(bad) == ["status"]
    submit_for_other = client.post(f"/api/v1/terminals/{fleet.terminals_b[0]}/reactivation-requests",
                                   headers=fleet.headers("merchant"), json={})
    assert submit_for_other.status_code == 404


def test_approval_of_an_active_terminal_and_bad_evidence(client: TestClient, fleet: Fleet) -> None:
    not_suspended = client.post(f"/api/v1/terminals/{fleet.terminals_a[0]}/reactivation-requests",
                                headers=fleet.headers("merchant"), json={})
    assert not_suspended.status_code == 409
    request = _request(client, fleet, fleet.terminals_a[2])
    bad = [({"kind": "gift"}, "body", "kind must be one of"),
           ({"kind": "payment", "amount_fen": -5, "voucher": "TX-1", "paid_on": "2024-01-01"}, "payment.amount_fen",
            "greater than 0"),
           ({"kind": "payment", "amount_fen": 5, "voucher": "x", "paid_on": "2024-01-01"}, "payment.voucher",
            "expected format")]
    for body, field, words in bad:
        response = _evidence(client, fleet, request["id"], "merchant", **body)
        assert response.status_code == 422 and error_fields(response) == [field], body
        assert words in response.json()["detail"]["message"]["en"], body
