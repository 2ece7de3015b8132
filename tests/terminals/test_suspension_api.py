"""Suspension, re-labelling, activation and decommissioning through the API: who may, what a refusal says."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from posops.core.db import Database
from posops.core.models import AuditEvent
from posops.terminals.models import MerchantNotice, Suspension, Terminal
from posops.terminals.service import account_status_evidence
from tests.conftest import Fleet
from tests.helpers import add_colleague, error_fields
from tests.terminals.flows import ok


def _suspend(client: TestClient, fleet: Fleet, role: str, terminal_id: int, reason: str, **extra: object) -> object:
    return client.post(f"/api/v1/terminals/{terminal_id}/suspend", headers=fleet.headers(role),
                       json={"reason": reason, "note": "测试", **extra})


def test_security_and_risk_limit_are_for_risk_only(client: TestClient, fleet: Fleet) -> None:
    terminal = fleet.terminals_a[0]
    refused = _suspend(client, fleet, "agent", terminal, "security")
    assert refused.status_code == 403
    detail = refused.json()["detail"]
    assert detail["code"] == "not_allowed" and "suspend" in detail["allowed"]
    assert "安全原因" in detail["message"]["zh-CN"]
    assert ok(_suspend(client, fleet, "risk", terminal, "security"))["status_reason"] == "security"


def test_an_agent_cannot_lift_a_risk_suspension(client: TestClient, fleet: Fleet, db: Database) -> None:
    terminal = fleet.terminals_a[0]
    ok(_suspend(client, fleet, "risk", terminal, "risk_limit"))
    relabel = client.post(f"/api/v1/terminals/{terminal}/suspension-reason", headers=fleet.headers("agent"),
                          json={"reason": "other", "note": "改为其他"})
    assert relabel.status_code == 403
    request = ok(client.post(f"/api/v1/terminals/{terminal}/reactivation-requests", headers=fleet.headers("merchant"),
                             json={}), 201)
    assert request["approvers"] == ["risk"] and request["unmet"] == []
    approve = client.post(f"/api/v1/reactivation-requests/{request['id']}/approve", headers=fleet.headers("agent"))
    assert approve.status_code == 403 and approve.json()["detail"]["code"] == "not_allowed"
    colleague = add_colleague(db, fleet, "risk")  # the risk user who suspended it may not lift it alone
    assert ok(client.post(f"/api/v1/reactivation-requests/{request['id']}/approve",
                          headers=fleet.headers(colleague)))["status"] == "approved"


def test_illegal_transitions_are_409_and_say_what_is_allowed(client: TestClient, fleet: Fleet) -> None:
    suspended = fleet.terminals_a[2]
    again = _suspend(client, fleet, "agent", suspended, "other")
    assert again.status_code == 409
    detail = again.json()["detail"]
    assert detail["code"] == "illegal_transition" and detail["state"] == "suspended"
    assert set(detail["allowed"]) == {"change_reason", "reactivate", "decommission"}
    assert "可执行的操作" in detail["message"]["zh-CN"] and "you may" in detail["message"]["en"]
    activate = client.post(f"/api/v1/terminals/{fleet.terminals_a[0]}/activate", headers=fleet.headers("agent"),
                           json={})
    assert activate.status_code == 409 and activate.json()["detail"]["allowed"] == ["suspend", "decommission"]


def test_bad_input_names_the_field(client: TestClient, fleet: Fleet) -> None:
    terminal = fleet.terminals_a[0]
    cases = [({"reason": "sleepy", "note": "x"}, "reason"),
             ({"reason": "arrears", "note": ""}, "note"),
             ({"reason": "arrears", "note": "x", "unpaid_due_dates": ["2024-13-01"]}, "unpaid_due_dates"),
             ({"reason": "arrears", "note": "x", "unpaid_due_dates": ["2024-05-01", "2024-05-01"]},
              "unpaid_due_dates"),
             ({"reason": "system_update", "note": "x", "required_version": "latest please"}, "required_version"),
             ({"reason": "arrears", "note": "x", "colour": "red"}, "colour")]
    for body, field in cases:
        response = client.post(f"/api/v1/terminals/{terminal}/suspend", headers=fleet.headers("agent"), json=body)
        assert response.status_code == 422, body
        assert field in {f.split(".")[0] for f in error_fields(response)}, (body, response.json())
    mismatch = _suspend(client, fleet, "agent", terminal, "dormant", unpaid_due_dates=["2024-05-01"])
    assert mismatch.status_code == 422 and "only for an arrears" in mismatch.json()["detail"]["message"]["en"]
    assert ok(client.get(f"/api/v1/terminals/{terminal}", headers=fleet.headers("agent")))["status"] == "active"


def test_suspension_is_recorded_audited_and_noticed_in_one_go(client: TestClient, fleet: Fleet,
                                                              db: Database) -> None:
    terminal = fleet.terminals_a[0]
    ok(_suspend(client, fleet, "agent", terminal, "system_update", required_version="3.3.0"))
    lifecycle = ok(client.get(f"/api/v1/terminals/{terminal}/lifecycle", headers=fleet.headers("merchant")))
    assert lifecycle["suspension"]["required_version"] == "3.3.0"
    assert lifecycle["allowed_actions"] == [] and lifecycle["suspend_reasons"] == []
    screen = ok(client.get(f"/api/v1/terminals/{terminal}/screen-notice", headers=fleet.headers("merchant")))
    assert screen["zh-CN"][1] == "原因：需要系统升级" and screen["en"][0] == "TERMINAL SUSPENDED"
    with db.transaction() as session:
        suspension = session.scalars(select(Suspension).where(Suspension.terminal_id == terminal)).one()
        notice = session.scalars(select(MerchantNotice).where(MerchantNotice.terminal_id == terminal)).one()
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "suspend")).one()
    assert (suspension.suspended_by, suspension.suspended_by_role, suspension.ended_at) == ("agent", "agent", None)
    assert "3.3.0" in notice.body_zh and notice.merchant_id == fleet.merchant_a
    assert event.entity_id == str(terminal) and event.after is not None and event.after["required_version"] == "3.3.0"


def test_relabel_ends_the_old_suspension_and_decommission_ends_the_last(client: TestClient, fleet: Fleet,
                                                                        db: Database) -> None:
    terminal = fleet.terminals_a[0]
    ok(_suspend(client, fleet, "agent", terminal, "arrears"))
    ok(client.post(f"/api/v1/terminals/{terminal}/suspension-reason", headers=fleet.headers("risk"),
                   json={"reason": "security", "note": "可疑交易"}))
    ok(client.post(f"/api/v1/terminals/{terminal}/decommission", headers=fleet.headers("admin"),
                   json={"note": "退机", "confirm_serial_number": "SN-TEST-0000"}))
    with db.transaction() as session:
        rows = list(session.scalars(select(Suspension).where(Suspension.terminal_id == terminal)
                                    .order_by(Suspension.id)))
        status = session.get(Terminal, terminal)
        assert status is not None and status.status == "decommissioned"
    assert [(r.reason, r.end_action) for r in rows] == [("arrears", "change_reason"), ("security", "decommission")]
    assert all(r.ended_at is not None for r in rows)
    dead = client.post(f"/api/v1/terminals/{terminal}/suspend", headers=fleet.headers("agent"),
                       json={"reason": "other", "note": "x"})
    assert dead.status_code == 409 and dead.json()["detail"]["allowed"] == []


def test_merchants_see_only_their_own_notices_and_timelines(client: TestClient, fleet: Fleet) -> None:
    ok(_suspend(client, fleet, "agent", fleet.terminals_b[0], "arrears"))
    ok(_suspend(client, fleet, "agent", fleet.terminals_a[0], "dormant"))
    mine = ok(client.get("/api/v1/notices", headers=fleet.headers("merchant")))
    assert {n["merchant_id"] for n in mine} == {fleet.merchant_a}
    theirs = client.get(f"/api/v1/terminals/{fleet.terminals_b[0]}/timeline", headers=fleet.headers("merchant"))
    assert theirs.status_code == 404 and "甲" not in theirs.text


def test_account_status_evidence_for_the_diagnosis(db: Database) -> None:
    expected = {("active", None): "ok", ("onboarding", None): "not_registered",
                ("decommissioned", None): "not_registered", ("suspended", "arrears"): "arrears",
                ("suspended", "risk_limit"): "risk_limited", ("suspended", "security"): "risk_limited",
                ("suspended", "dormant"): "dormant", ("suspended", "policy"): "policy_hold",
                ("suspended", "other"): "policy_hold", ("suspended", "device_fault"): "ok",
                ("suspended", "system_update"): "ok"}
    with db.transaction() as session:
        for (status, reason), outcome in expected.items():
            terminal = Terminal(status=status, status_reason=reason)
            assert account_status_evidence(session, terminal) == outcome, (status, reason)


def test_decommissioning_needs_a_reason_and_the_serial_number_retyped(client: TestClient, fleet: Fleet) -> None:
    terminal, url = fleet.terminals_a[0], f"/api/v1/terminals/{fleet.terminals_a[0]}/decommission"
    agent = fleet.headers("agent")
    silent = client.post(url, headers=agent, json={"confirm_serial_number": "SN-TEST-0000"})
    assert silent.status_code == 422 and error_fields(silent) == ["note"]
    wrong = client.post(url, headers=agent, json={"note": "退机", "confirm_serial_number": "SN-TEST-0001"})
    assert wrong.status_code == 422 and error_fields(wrong) == ["confirm_serial_number"]
    assert "SN-TEST-0000" in wrong.json()["detail"]["message"]["en"]
    still = ok(client.get(f"/api/v1/terminals/{terminal}/lifecycle", headers=agent))
    assert still["status"] == "active", "a refused decommission changes nothing"
    done = ok(client.post(url, headers=agent, json={"note": "退机", "confirm_serial_number": " SN-TEST-0000 "}))
    assert done["status"] == "decommissioned"
