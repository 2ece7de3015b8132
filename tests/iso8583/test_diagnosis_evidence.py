"""The diagnosis engine uses a terminal's imported traffic: it does not ask what the traffic already proves."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from posops.core.db import utcnow
from tests.conftest import Fleet
from tests.iso8583.helpers import answer, sign_in
from tests.iso8583.traffic import TID_A0, fleet_steps, log_text

COMPLAINT = "签到失败"


def _diagnose(client: TestClient, fleet: Fleet, terminal: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"text": COMPLAINT} if terminal is None else {"text": COMPLAINT, "terminal_id": terminal}
    response = client.post("/api/v1/diagnoses", json=body, headers=fleet.headers("agent"))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def _import(client: TestClient, fleet: Fleet, text: str) -> None:
    response = client.post("/api/v1/traffic/analyses", files={"file": ("pos.log", text)},
                           headers=fleet.headers("agent"))
    assert response.status_code == 201, response.text


def test_an_a0_in_the_traffic_sends_the_engine_straight_to_signing_in_again(client: TestClient,
                                                                         fleet: Fleet) -> None:
    before = _diagnose(client, fleet, TID_A0)
    assert before["next_step"]["id"] == "response_code"  # without traffic, the engine has to ask
    _import(client, fleet, log_text(fleet_steps()))
    after = _diagnose(client, fleet, TID_A0)
    assert after["next_step"]["id"] == "re_sign_in" and after["next_step"]["kind"] == "action"
    assert after["ranking"][0]["cause"] == "sw.keys"
    detail = client.get(f"/api/v1/diagnoses/{after['id']}", headers=fleet.headers("agent")).json()
    assert detail["fleet_evidence"]["response_code"] == "A0"
    assert detail["fleet_evidence"]["key_check"] == "work_key_invalid"
    assert detail["steps"] == []


def test_a_diagnosis_without_a_terminal_or_of_another_terminal_is_not_told(client: TestClient,
                                                                         fleet: Fleet) -> None:
    _import(client, fleet, log_text(fleet_steps()))
    assert _diagnose(client, fleet, None)["next_step"]["id"] == "response_code"
    assert _diagnose(client, fleet, "SN-TEST-0004")["next_step"]["id"] == "response_code"
    # merchant A's other terminal is suspended for arrears: its own record speaks first…
    suspended = _diagnose(client, fleet, "SN-TEST-0002")
    assert suspended["next_step"]["id"] == "pay_arrears"
    detail = client.get(f"/api/v1/diagnoses/{suspended['id']}", headers=fleet.headers("agent")).json()
    # …and the A0 its sibling terminal sent is not taken for its own
    assert "response_code" not in detail["fleet_evidence"] and "key_check" not in detail["fleet_evidence"]


def test_newer_traffic_replaces_the_evidence(client: TestClient, fleet: Fleet) -> None:
    _import(client, fleet, log_text(fleet_steps(), utcnow() - timedelta(hours=5)))
    request = sign_in(TID_A0, "000900")
    _import(client, fleet, log_text([(0, ">", request), (0.3, "<", answer(request, "00"))],
                                    utcnow() - timedelta(minutes=5)))
    detail = client.get(f"/api/v1/diagnoses/{_diagnose(client, fleet, TID_A0)['id']}",
                        headers=fleet.headers("agent")).json()
    assert detail["fleet_evidence"].get("response_code") == "none"
    assert "key_check" not in detail["fleet_evidence"]


def test_traffic_older_than_a_month_is_not_evidence(client: TestClient, fleet: Fleet) -> None:
    _import(client, fleet, log_text(fleet_steps(), utcnow() - timedelta(days=31)))
    after = _diagnose(client, fleet, TID_A0)
    assert after["next_step"]["id"] == "response_code"
