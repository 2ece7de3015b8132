"""Every diagnosis route against every role, including a merchant reaching for another merchant's terminal."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Fleet

ROLES = ["merchant", "agent", "risk", "technician", "admin"]


def _session_on(client: TestClient, fleet: Fleet, terminal: str) -> tuple[str, str, str]:
    doc = client.post("/api/v1/diagnoses", json={"text": "刷卡没反应", "terminal_id": terminal},
                      headers=fleet.headers("admin")).json()
    return doc["id"], doc["next_step"]["id"], doc["next_step"]["outcomes"][0]


@pytest.mark.parametrize("role", ROLES)
def test_diagnosis_routes_per_role(client: TestClient, fleet: Fleet, role: str) -> None:
    other_terminal, own_terminal = "SN-TEST-0003", "SN-TEST-0000"
    cross = 404 if role == "merchant" else None
    headers = fleet.headers(role)
    outcomes: dict[str, tuple[int, int]] = {}

    def expect(name: str, status: int, expected: int) -> None:
        outcomes[name] = (status, expected)

    expect("start, no terminal", client.post("/api/v1/diagnoses", json={"text": "不出小票"}, headers=headers)
           .status_code, 201)
    expect("start, own terminal", client.post("/api/v1/diagnoses", json={"text": "x", "terminal_id": own_terminal},
                                              headers=headers).status_code, 201)
    expect("start, other terminal", client.post("/api/v1/diagnoses",
                                                json={"text": "x", "terminal_id": other_terminal},
                                                headers=headers).status_code, cross or 201)
    sid, step, outcome = _session_on(client, fleet, other_terminal)
    expect("read, other", client.get(f"/api/v1/diagnoses/{sid}", headers=headers).status_code, cross or 200)
    expect("answer, other", client.post(f"/api/v1/diagnoses/{sid}/steps", json={"step": step, "outcome": outcome},
                                        headers=headers).status_code, cross or 200)
    own_sid, own_step, own_outcome = _session_on(client, fleet, own_terminal)
    expect("read, own", client.get(f"/api/v1/diagnoses/{own_sid}", headers=headers).status_code, 200)
    expect("answer, own", client.post(f"/api/v1/diagnoses/{own_sid}/steps", headers=headers,
                                      json={"step": own_step, "outcome": own_outcome}).status_code, 200)
    expect("history, own", client.get(f"/api/v1/terminals/{fleet.terminals_a[0]}/diagnoses",
                                      headers=headers).status_code, 200)
    expect("history, other", client.get(f"/api/v1/terminals/{fleet.terminals_b[0]}/diagnoses",
                                        headers=headers).status_code, cross or 200)
    staff_sid = client.post("/api/v1/diagnoses", json={"text": "不出小票"}, headers=fleet.headers("agent")).json()["id"]
    expect("read, staff session without terminal", client.get(f"/api/v1/diagnoses/{staff_sid}", headers=headers)
           .status_code, cross or 200)
    wrong = {name: got for name, got in outcomes.items() if got[0] != got[1]}
    assert not wrong, f"(got, expected) for {role}: {wrong}"


def test_diagnosis_routes_need_a_caller(client: TestClient, fleet: Fleet) -> None:
    sid, step, outcome = _session_on(client, fleet, "SN-TEST-0000")
    for method, path, body in (("POST", "/api/v1/diagnoses", {"text": "x"}),
                               ("POST", f"/api/v1/diagnoses/{sid}/steps", {"step": step, "outcome": outcome}),
                               ("GET", f"/api/v1/diagnoses/{sid}", None),
                               ("GET", f"/api/v1/terminals/{fleet.terminals_a[0]}/diagnoses", None)):
        assert client.request(method, path, json=body).status_code == 401, path
