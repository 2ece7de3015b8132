"""A terminal's whole life through the API: onboarding, active, suspended for arrears, refused, paid, reactivated."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient

from tests.conftest import Fleet
from tests.terminals.flows import merchant_application, ok, suspend_for_arrears, take_live


def test_onboarding_to_reactivation_with_every_step_on_the_timeline(client: TestClient, fleet: Fleet) -> None:
    merchant, agent = fleet.headers("merchant"), fleet.headers("agent")

    application = merchant_application(client, fleet)
    assert application["status"] == "submitted"
    assert application["unified_licence"] is True, "merchant A's licence carries a unified social credit code"
    live = take_live(client, fleet, application["id"])
    assert live["status"] == "live" and live["merchant_id"] == fleet.merchant_a
    [terminal_id] = live["terminal_ids"]
    terminal = ok(client.get(f"/api/v1/terminals/{terminal_id}", headers=merchant))
    assert (terminal["status"], terminal["application_id"]) == ("active", application["id"])
    assert terminal["activated_at"] is not None
    plan = ok(client.get(f"/api/v1/merchants/{fleet.merchant_a}/fee-plan", headers=merchant))
    assert plan["monthly_fee_fen"] == 3_000 and plan["contract_ref"] == ""

    suspended = suspend_for_arrears(client, fleet, terminal_id)
    assert (suspended["status"], suspended["status_reason"]) == ("suspended", "arrears")
    assert suspended["screen_notice"]["zh-CN"][0] == "终端已停机"
    notice = ok(client.get(f"/api/v1/notices?terminal_id={terminal_id}", headers=merchant))[0]
    assert notice["kind"] == "suspended" and "80.00" in notice["body_zh"], "two bills of 40.00 yuan are owed"

    request = ok(client.post(f"/api/v1/terminals/{terminal_id}/reactivation-requests", headers=merchant,
                             json={"note": "请尽快复机"}), 201)
    assert [c["code"] for c in request["unmet"]] == ["arrears_unpaid", "payment_voucher_missing"]
    owed = request["arrears"]["total_fen"]
    assert request["arrears"]["principal_fen"] == 8_000 and request["arrears"]["penalty_fen"] > 0

    refused = client.post(f"/api/v1/reactivation-requests/{request['id']}/approve", headers=agent)
    assert refused.status_code == 409
    detail = refused.json()["detail"]
    assert detail["code"] == "conditions_not_met" and detail["allowed"] == ["reject"]
    assert [c["code"] for c in detail["unmet"]] == ["arrears_unpaid", "payment_voucher_missing"]
    assert "未缴清" in detail["message"]["zh-CN"] and "unpaid" in detail["message"]["en"]
    assert ok(client.get(f"/api/v1/terminals/{terminal_id}", headers=agent))["status"] == "suspended"

    paid = ok(client.post(f"/api/v1/reactivation-requests/{request['id']}/evidence", headers=merchant,
                          json={"kind": "payment", "amount_fen": owed, "voucher": "TX20240630001",
                                "paid_on": date.today().isoformat()}))
    assert paid["unmet"] == [] and paid["arrears"]["remaining_fen"] == 0

    assert client.post(f"/api/v1/reactivation-requests/{request['id']}/approve", headers=merchant).status_code == 403
    approved = ok(client.post(f"/api/v1/reactivation-requests/{request['id']}/approve", headers=agent))
    assert approved["status"] == "approved" and approved["decided_by"] == "agent"
    lifecycle = ok(client.get(f"/api/v1/terminals/{terminal_id}/lifecycle", headers=merchant))
    assert (lifecycle["status"], lifecycle["must_sign_in"]) == ("active", True)
    assert "签到" in "".join(lifecycle["screen_notice"]["zh-CN"])

    timeline = ok(client.get(f"/api/v1/terminals/{terminal_id}/timeline", headers=merchant))
    steps = [(e["entity_type"], e["action"], e["actor"]) for e in timeline]
    expected = [
        ("onboarding_application", "create", "merchant"),
        ("onboarding_application", "material.provide", "merchant"),
        ("onboarding_application", "submit", "merchant"),
        ("onboarding_application", "start_review", "agent"),
        ("onboarding_application", "material.verify", "agent"),
        ("onboarding_application", "approve", "agent"),
        ("onboarding_application", "sign_contract", "agent"),
        ("onboarding_application", "install", "agent"),
        ("onboarding_application", "train", "agent"),
        ("onboarding_application", "go_live", "agent"),
        ("terminal", "create", "agent"),
        ("terminal", "activate", "agent"),
        ("onboarding_application", "bind", "agent"),
        ("terminal", "suspend", "agent"),
        ("reactivation_request", "submit", "merchant"),
        ("reactivation_request", "evidence.payment", "merchant"),
        ("reactivation_request", "approve", "agent"),
        ("terminal", "reactivate", "agent"),
    ]
    deduplicated = [s for i, s in enumerate(steps) if i == 0 or s != steps[i - 1]]
    assert deduplicated == expected
    suspend = next(e for e in timeline if e["action"] == "suspend")
    assert suspend["before"]["status"] == "active" and suspend["after"]["status_reason"] == "arrears"
    assert suspend["reason"] == "两个月服务费未缴" and suspend["actor_role"] == "agent"
    reactivate = timeline[-1]
    assert reactivate["before"]["status"] == "suspended" and reactivate["after"]["must_sign_in"] is True
