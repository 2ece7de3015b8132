"""Sessions end and merchants are not handed desk work: the desk's queue, hand-over, idle closing, plan B."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from posops.core.db import Database, utcnow
from posops.core.labels import read_said
from posops.core.models import AuditEvent
from posops.diagnosis import service
from posops.diagnosis.models import DiagnosisSession
from tests.conftest import Fleet
from tests.helpers import error_fields, login

SUSPENDED_FOR_ARREARS = "SN-TEST-0002"  # merchant A's; SN-TEST-0000 and -0001 are its working ones


def _post(client: TestClient, fleet: Fleet, path: str, role: str, body: dict[str, Any], status: int = 200) -> Any:
    response = client.post(path, json=body, headers=fleet.headers(role))
    assert response.status_code == status, response.text
    return response.json()


def _start(client: TestClient, fleet: Fleet, role: str, **body: Any) -> Any:
    return _post(client, fleet, "/api/v1/diagnoses", role, body, 201)


@pytest.mark.parametrize("body", [{}, {"text": ""}, {"text": "  "}])
def test_a_diagnosis_needs_the_complaint(client: TestClient, fleet: Fleet, body: dict[str, Any]) -> None:
    response = client.post("/api/v1/diagnoses", json=body, headers=fleet.headers("agent"))
    assert response.status_code == 422
    assert error_fields(response) == ["text"]


def test_a_merchant_waits_for_the_desk_instead_of_doing_its_work(client: TestClient, fleet: Fleet) -> None:
    doc = _start(client, fleet, "merchant", text="机器提示已停机,收不了款")
    step = doc["next_step"]
    assert step["by"] == "support" and doc["waiting_for_desk"] is True
    refused = client.post(f"/api/v1/diagnoses/{doc['id']}/steps", json={"step": step["id"], "outcome": "ok"},
                          headers=fleet.headers("merchant"))
    assert refused.status_code == 403 and refused.json()["detail"]["code"] == "diagnosis.error.desk_step"
    assert "客服" in refused.json()["detail"]["message"]["zh-CN"]
    assert "service desk" in refused.json()["detail"]["message"]["en"]
    queue = client.get("/api/v1/diagnoses/queue", headers=fleet.headers("agent")).json()
    assert [d["id"] for d in queue["waiting"]] == [doc["id"]]
    answered = _post(client, fleet, f"/api/v1/diagnoses/{doc['id']}/steps", "agent",
                     {"step": step["id"], "outcome": step["outcomes"][1]})
    assert answered["next_step"]["id"] != step["id"]
    again = client.get("/api/v1/diagnoses/queue", headers=fleet.headers("agent")).json()
    still = [d["id"] for d in again["waiting"]]
    assert still == ([doc["id"]] if answered["waiting_for_desk"] else [])


def test_a_desk_session_never_waits_for_itself(client: TestClient, fleet: Fleet) -> None:
    doc = _start(client, fleet, "agent", text="机器提示已停机,收不了款")
    assert doc["next_step"]["by"] == "support" and doc["waiting_for_desk"] is False


def test_the_person_can_stop_and_hand_over(client: TestClient, fleet: Fleet, db: Database) -> None:
    doc = _start(client, fleet, "merchant", text="刷卡没反应", terminal_id="SN-TEST-0000")
    done = _post(client, fleet, f"/api/v1/diagnoses/{doc['id']}/handover", "merchant", {"note": "请尽快联系我"})
    assert (done["status"], done["handover_reason"], done["next_step"]) == ("escalated", "requested", None)
    assert "客服" in done["explanation"]
    for path, body in ((f"/api/v1/diagnoses/{doc['id']}/handover", {}),
                       (f"/api/v1/diagnoses/{doc['id']}/steps", {"step": "restart_terminal", "outcome": "fixed"})):
        assert client.post(path, json=body, headers=fleet.headers("merchant")).status_code == 409
    queue = client.get("/api/v1/diagnoses/queue", headers=fleet.headers("technician")).json()
    assert [(d["id"], d["handover_reason"]) for d in queue["handed_over"]] == [(doc["id"], "requested")]
    assert queue["counts"]["escalated"] == 1
    with db.transaction() as session:
        events = {(e.entity_type, e.action, read_said(e.reason)) for e in session.scalars(select(AuditEvent))}
    assert ("diagnosis", "escalated", "请尽快联系我") in events
    assert ("terminal", "diagnosis_escalated", "handed over to the desk") in events
    timeline = client.get(f"/api/v1/terminals/{fleet.terminals_a[0]}/timeline", headers=fleet.headers("agent")).json()
    assert "handed over to the desk" in [e["reason"] for e in timeline], "the API says posops' own reasons in English"


def test_idle_sessions_close_as_abandoned(client: TestClient, fleet: Fleet, db: Database) -> None:
    idle = _start(client, fleet, "agent", text="不出小票")["id"]
    now = utcnow()
    assert service.close_idle(db, now, hours=1) == 0
    assert service.close_idle(db, now + timedelta(hours=2), hours=1) == 1
    with db.transaction() as session:
        row = session.get(DiagnosisSession, idle)
        assert row is not None and (row.status, row.closed_at is not None) == ("abandoned", True)
    read = client.get(f"/api/v1/diagnoses/{idle}", headers=fleet.headers("agent")).json()
    assert read["status"] == "abandoned" and read["next_step"] is None
    refused = client.post(f"/api/v1/diagnoses/{idle}/steps", json={"step": "reload_paper", "outcome": "fixed"},
                          headers=fleet.headers("agent"))
    assert refused.status_code == 409
    counts = client.get("/api/v1/diagnoses/queue", headers=fleet.headers("admin")).json()["counts"]
    assert counts["abandoned"] == 1 and counts["open"] == 0


def test_a_suspended_terminal_starts_from_its_suspension(client: TestClient, fleet: Fleet) -> None:
    doc = _start(client, fleet, "merchant", text="收不了款", terminal_id=SUSPENDED_FOR_ARREARS)
    assert doc["ranking"][0]["cause"] == "acct.arrears"
    suspension = doc["suspension"]
    assert suspension["reason"] == "arrears" and "缴清欠费" in suspension["needs"]
    assert suspension["reactivation_url"] == f"/terminals/{fleet.terminals_a[2]}"
    assert any("二维码" in way for way in doc["meanwhile"])
    assert any("SN-TEST-0000" in way and "SN-TEST-0001" in way for way in doc["meanwhile"])


def test_a_declined_card_needs_no_plan_b(client: TestClient, fleet: Fleet) -> None:
    doc = _start(client, fleet, "merchant", text="刷卡提示余额不足 51", terminal_id="SN-TEST-0000")
    assert doc["ranking"][0]["cause"] == "card.funds"
    assert doc["suspension"] is None and doc["meanwhile"] == []


def test_merchants_read_the_why_in_words_and_the_desk_sees_the_figures(client: TestClient, fleet: Fleet) -> None:
    merchant = _start(client, fleet, "merchant", text="刷卡没反应")["explanation"]
    desk = _start(client, fleet, "agent", text="刷卡没反应")["explanation"]
    assert not re.search(r"[0-9]", merchant) and "「" in merchant
    assert "分钟" in desk and "%" in desk


def test_a_long_merchant_session_proposes_the_hand_over(client: TestClient, fleet: Fleet,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "MERCHANT_STEP_BUDGET", 1)
    doc = _start(client, fleet, "merchant", text="刷卡没反应")
    assert doc["handover_proposed"] is False
    step = doc["next_step"]
    outcome = "not_fixed" if step["kind"] == "action" else "unknown"
    after = _post(client, fleet, f"/api/v1/diagnoses/{doc['id']}/steps", "merchant",
                  {"step": step["id"], "outcome": outcome})
    assert after["handover_proposed"] is True and after["status"] == "open"


def test_an_unsure_reading_offers_the_symptom_question(client: TestClient, fleet: Fleet, db: Database) -> None:
    sure = _start(client, fleet, "merchant", text="刷卡没反应")
    assert sure["symptom_question"] == []
    doc = _start(client, fleet, "merchant", text="机器坏了")
    offered = [c["symptom"] for c in doc["symptom_question"]]
    assert len(offered) >= 2 and all(c["name"] for c in doc["symptom_question"])
    picked = _post(client, fleet, f"/api/v1/diagnoses/{doc['id']}/symptom", "merchant", {"symptom": "printer"})
    assert picked["symptom"] == "printer" and picked["symptom_question"] == []
    assert picked["ranking"][0]["cause"].startswith("hw.printer")
    unknown = client.post(f"/api/v1/diagnoses/{doc['id']}/symptom", json={"symptom": "smoke"},
                          headers=fleet.headers("merchant"))
    assert unknown.status_code == 422
    with db.transaction() as session:
        actions = [e.action for e in session.scalars(select(AuditEvent).where(AuditEvent.entity_id == doc["id"]))]
    assert actions == ["start", "symptom"]


def test_a_merchant_may_accept_the_proposed_hand_over(client: TestClient, fleet: Fleet) -> None:
    doc = _start(client, fleet, "merchant", text="屏幕黑屏")
    done = _post(client, fleet, f"/api/v1/diagnoses/{doc['id']}/steps", "merchant",
                 {"step": "escalate", "outcome": "fixed"})
    assert (done["status"], done["handover_reason"]) == ("escalated", "repair")


def test_the_session_page_names_the_terminal_by_serial_number_and_tid(client: TestClient, fleet: Fleet) -> None:
    doc = _start(client, fleet, "merchant", text="刷卡没反应", terminal_id="SN-TEST-0000")
    login(client, "merchant")
    page = client.get(f"/diagnoses/{doc['id']}", headers={"accept": "text/html"}).text
    link = page.split('data-testid="terminal-link">')[1].split("</a>")[0]
    assert link == "终端 SN-TEST-0000（终端号 90000000）", "people know terminals by SN and TID, not by posops' id"
