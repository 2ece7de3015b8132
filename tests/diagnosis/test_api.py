"""The diagnosis REST contract: start, answer steps, read, scoping, fleet evidence, hand-over and learning."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from posops.core.db import Database
from posops.core.models import AuditEvent
from tests.conftest import Fleet
from tests.helpers import error_fields


def _start(client: TestClient, fleet: Fleet, role: str = "agent", **body: Any) -> Any:
    response = client.post("/api/v1/diagnoses", json=body, headers=fleet.headers(role))
    assert response.status_code == 201, response.text
    return response.json()


def _answer(client: TestClient, fleet: Fleet, sid: str, step: str, outcome: str, role: str = "agent") -> Any:
    response = client.post(f"/api/v1/diagnoses/{sid}/steps", json={"step": step, "outcome": outcome},
                           headers=fleet.headers(role))
    assert response.status_code == 200, response.text
    return response.json()


def test_start_answers_in_the_contract_shape(client: TestClient, fleet: Fleet) -> None:
    doc = _start(client, fleet, text="打印出来是白纸")
    assert set(doc) >= {"id", "status", "symptom", "ranking", "next_step", "explanation"}
    assert doc["status"] == "open" and doc["symptom"] == "printer"
    probabilities = [r["probability"] for r in doc["ranking"]]
    assert probabilities == sorted(probabilities, reverse=True) and 0.5 < sum(probabilities) <= 1.0001
    assert doc["ranking"][0]["cause"].startswith("hw.printer")
    step = doc["next_step"]
    assert step["kind"] in ("check", "action") and step["title"] and step["guidance"]
    assert step["outcomes"] == (["fixed", "not_fixed", "unknown"] if step["kind"] == "action" else step["outcomes"])


def test_a_session_runs_to_resolution_and_keeps_every_step(client: TestClient, fleet: Fleet, db: Database) -> None:
    doc = _start(client, fleet, text="paper comes out blank", evidence={"printer_paper": "empty_or_reversed"})
    sid = doc["id"]
    assert doc["next_step"] == {**doc["next_step"], "kind": "action", "id": "reload_paper"}
    done = _answer(client, fleet, sid, "reload_paper", "fixed")
    assert done["status"] == "resolved" and done["next_step"] is None
    again = client.post(f"/api/v1/diagnoses/{sid}/steps", json={"step": "print_test", "outcome": "ok"},
                        headers=fleet.headers("agent"))
    assert again.status_code == 409
    detail = client.get(f"/api/v1/diagnoses/{sid}", headers=fleet.headers("agent")).json()
    steps = [(s["step"], s["outcome"], s["answered_by"]) for s in detail["steps"]]
    assert steps == [("reload_paper", "fixed", "agent")]
    assert detail["resolved_action"] == "reload_paper" and detail["closed_at"]
    with db.transaction() as session:
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.entity_id == sid)))
    assert actions == ["start", "resolved"]


def test_wrong_step_or_outcome_is_422_naming_the_field(client: TestClient, fleet: Fleet) -> None:
    sid = _start(client, fleet, text="刷卡没反应")["id"]
    for body, field in (({"step": "no_such_step", "outcome": "ok"}, "step"),
                        ({"step": "power_led", "outcome": "purple"}, "outcome"),
                        ({"step": "clean_reader", "outcome": "ok"}, "outcome")):
        response = client.post(f"/api/v1/diagnoses/{sid}/steps", json=body, headers=fleet.headers("agent"))
        assert response.status_code == 422, body
        assert error_fields(response) == [field]
    bad_start = client.post("/api/v1/diagnoses", json={"text": "x", "evidence": {"power_led": "blue"}},
                            headers=fleet.headers("agent"))
    assert bad_start.status_code == 422 and error_fields(bad_start) == ["evidence.power_led"]
    assert bad_start.json()["detail"]["message"]["en"].endswith("check power_led has no outcome 'blue'")
    bad_symptom = client.post("/api/v1/diagnoses", json={"text": "x", "symptom": "smoke"},
                              headers=fleet.headers("agent"))
    assert bad_symptom.status_code == 422


def test_unknown_answers_are_accepted_and_not_asked_again(client: TestClient, fleet: Fleet) -> None:
    doc = _start(client, fleet, text="POS机连不上网")
    asked = []
    for _ in range(6):
        step = doc["next_step"]
        if step is None or step["kind"] != "check":
            break
        asked.append(step["id"])
        doc = _answer(client, fleet, doc["id"], step["id"], "unknown")
    assert len(asked) == len(set(asked)), asked


def test_escalation_is_recorded_against_the_terminal(client: TestClient, fleet: Fleet, db: Database) -> None:
    terminal = fleet.terminals_a[0]
    doc = _start(client, fleet, text="屏幕黑屏", terminal_id="SN-TEST-0000")
    assert doc["terminal_id"] == terminal
    done = _answer(client, fleet, doc["id"], "escalate", "fixed")
    assert done["status"] == "escalated"
    with db.transaction() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "terminal",
                                                        AuditEvent.action == "diagnosis_escalated")).one()
    assert event.entity_id == str(terminal) and event.after == {"diagnosis": doc["id"], "reason": "repair"}
    history = client.get(f"/api/v1/terminals/{terminal}/diagnoses", headers=fleet.headers("merchant")).json()
    assert [h["id"] for h in history] == [doc["id"]] and history[0]["status"] == "escalated"


def test_a_suspended_terminal_brings_its_account_status(client: TestClient, fleet: Fleet) -> None:
    doc = _start(client, fleet, text="机器突然不能用了", terminal_id="90000002")
    detail = client.get(f"/api/v1/diagnoses/{doc['id']}", headers=fleet.headers("agent")).json()
    assert detail["fleet_evidence"] == {"account_status": "arrears"}
    assert doc["ranking"][0]["cause"] == "acct.arrears"
    assert doc["next_step"]["id"] != "account_status", "what the fleet knows is not asked"


def test_merchants_only_diagnose_and_read_their_own(client: TestClient, fleet: Fleet) -> None:
    other = client.post("/api/v1/diagnoses", json={"text": "刷卡没反应", "terminal_id": "SN-TEST-0003"},
                        headers=fleet.headers("merchant"))
    assert other.status_code == 404
    theirs = _start(client, fleet, role="merchant_b", text="刷卡没反应", terminal_id="SN-TEST-0003")
    assert client.get(f"/api/v1/diagnoses/{theirs['id']}", headers=fleet.headers("merchant")).status_code == 404
    step = theirs["next_step"]
    answer = client.post(f"/api/v1/diagnoses/{theirs['id']}/steps", headers=fleet.headers("merchant"),
                         json={"step": step["id"], "outcome": step["outcomes"][0]})
    assert answer.status_code == 404
    assert client.get(f"/api/v1/diagnoses/{theirs['id']}", headers=fleet.headers("merchant_b")).status_code == 200
    assert client.get(f"/api/v1/terminals/{fleet.terminals_b[0]}/diagnoses",
                      headers=fleet.headers("merchant")).status_code == 404


def test_english_guidance_on_request(client: TestClient, fleet: Fleet) -> None:
    zh = _start(client, fleet, text="刷卡没反应")
    en = client.post("/api/v1/diagnoses?lang=en", json={"text": "刷卡没反应"}, headers=fleet.headers("agent")).json()
    assert zh["next_step"]["id"] == en["next_step"]["id"]
    assert zh["next_step"]["title"] != en["next_step"]["title"]
    assert en["next_step"]["title"].isascii()


def test_learning_refits_from_resolved_sessions(client: TestClient, fleet: Fleet, db: Database,
                                                monkeypatch: Any) -> None:
    for _ in range(12):
        sid = _start(client, fleet, text="不出小票")["id"]
        _answer(client, fleet, sid, "clean_printhead", "fixed")
    for _ in range(10):
        sid = _start(client, fleet, text="不出小票")["id"]
        _answer(client, fleet, sid, "reload_paper", "fixed")
    before = _start(client, fleet, text="不出小票")["ranking"]
    from posops.cli import app
    from posops.core.config import get_settings

    monkeypatch.setenv("POSOPS_DATABASE_URL", db.url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["kb", "learn", "--min-cases", "20"])
        get_settings.cache_clear()
        too_few = CliRunner().invoke(app, ["kb", "learn", "--min-cases", "500"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "learned from 22" in result.output
    after = _start(client, fleet, text="不出小票")["ranking"]
    p_before = {r["cause"]: r["probability"] for r in before}
    p_after = {r["cause"]: r["probability"] for r in after}
    assert p_after["hw.printer_head"] > p_before["hw.printer_head"]
    assert too_few.exit_code == 2 and "at least 500" in too_few.output
