"""Storing heartbeats: over HTTP (one or an array, tokens, 422s) and as batches; idempotent; dead letters."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from posops.core.db import Database, utcnow
from posops.telemetry import service
from posops.telemetry.models import DeadLetter, HeartbeatRecord, TelemetrySnapshot
from tests.conftest import ADMIN_TOKEN, Fleet
from tests.helpers import error_fields
from tests.telemetry.heartbeats import full_payload, section
from tests.telemetry.storage import failing, healthy, store

URL = "/api/v1/telemetry/heartbeats"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
SN = "SN-TEST-0000"


def reasons(response: Any) -> list[tuple[str, str]]:
    """Each field a 422 blames with its English reason (a dead letter's reason, word for word)."""
    return list(zip(error_fields(response), [f["reason"] for f in response.json()["detail"]["fields"]], strict=True))


def count(db: Database, model: type) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def snapshot(db: Database, terminal_id: int) -> TelemetrySnapshot | None:
    with db.transaction() as session:
        return session.get(TelemetrySnapshot, terminal_id)


def dead_letters(db: Database) -> list[DeadLetter]:
    with db.transaction() as session:
        return list(session.scalars(select(DeadLetter).order_by(DeadLetter.id)))


def test_one_heartbeat_is_stored_with_its_snapshot(client: TestClient, fleet: Fleet, db: Database) -> None:
    payload = healthy(SN, 7, utcnow(), battery=section("battery", pct=33), vendor_extra={"kept": True})
    response = client.post(URL, json=payload, headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json() == {"received": 1, "stored": 1, "duplicates": 0, "rejected": []}
    with db.transaction() as session:
        row = session.get(HeartbeatRecord, (SN, 7))
        assert row is not None and row.terminal_id == fleet.terminals_a[0]
        assert row.battery_pct == 33 and row.signal_dbm == -90 and row.reads == 300 and row.read_errors == 1
        assert json.loads(row.payload)["vendor_extra"] == {"kept": True}, "unknown fields are kept"
    latest = snapshot(db, fleet.terminals_a[0])
    assert latest is not None and latest.seq == 7 and latest.app_version == "3.2.1" and not latest.failing


def test_an_array_is_stored_and_resending_it_changes_nothing(client: TestClient, fleet: Fleet,
                                                              db: Database) -> None:
    now = utcnow()
    batch = [healthy(SN, seq, now) for seq in (1, 2, 3)] + [healthy("SN-TEST-0003", 1, now)]
    first = client.post(URL, json=batch, headers=ADMIN).json()
    assert (first["received"], first["stored"], first["duplicates"]) == (4, 4, 0)
    before = snapshot(db, fleet.terminals_a[0])
    again = client.post(URL, json=batch, headers=ADMIN).json()
    assert (again["received"], again["stored"], again["duplicates"]) == (4, 0, 4)
    assert count(db, HeartbeatRecord) == 4
    after = snapshot(db, fleet.terminals_a[0])
    assert before is not None and after is not None
    assert (after.seq, after.last_seen_at) == (3, before.last_seen_at), "a resent heartbeat changes nothing"


def test_the_snapshot_only_moves_forward(db: Database, fleet: Fleet) -> None:
    now = utcnow()
    store(db, [healthy(SN, 10, now)], now)
    late = store(db, [failing(SN, 9, now)], now + timedelta(seconds=5))
    assert late.stored == 1, "an older heartbeat arriving late still goes into the history"
    latest = snapshot(db, fleet.terminals_a[0])
    assert latest is not None and latest.seq == 10 and not latest.failing
    store(db, [failing(SN, 11, now), healthy(SN, 12, now), failing(SN, 13, now)], now + timedelta(seconds=9))
    latest = snapshot(db, fleet.terminals_a[0])
    assert latest is not None and latest.seq == 13 and latest.failing
    assert latest.failure_reasons == "host_unreachable,rc:timeout"


def test_invalid_heartbeats_are_refused_with_field_and_reason_and_dead_lettered(client: TestClient, fleet: Fleet,
                                                                             db: Database) -> None:
    now = utcnow()
    bad = healthy(SN, 2, now, battery={"pct": 150, "charging": False, "power_source": "battery"})
    response = client.post(URL, json=bad, headers=ADMIN)
    assert response.status_code == 422
    assert reasons(response) == [("battery.pct", "Input should be less than or equal to 100")]
    [letter] = dead_letters(db)
    assert letter.source == "http" and letter.sn == SN and letter.reason.startswith("battery.pct:")
    assert json.loads(letter.payload)["battery"]["pct"] == 150
    assert count(db, HeartbeatRecord) == 0


def test_in_an_array_the_valid_ones_are_stored_and_each_problem_is_named(client: TestClient, fleet: Fleet,
                                                                        db: Database) -> None:
    now = utcnow()
    batch = [healthy(SN, 1, now), {"v": 1, "sn": SN, "seq": 2}, healthy("NO-SUCH-SN", 1, now)]
    response = client.post(URL, json=batch, headers=ADMIN)
    assert response.status_code == 422
    assert reasons(response) == [
        ("1.ts", "Field required"),
        ("2.sn", "unknown terminal serial number 'NO-SUCH-SN'")]
    assert count(db, HeartbeatRecord) == 1
    assert [(d.sn, d.reason) for d in dead_letters(db)] == [
        (SN, "ts: Field required"), ("NO-SUCH-SN", "unknown terminal serial number 'NO-SUCH-SN'")]
    client.post(URL, json=batch, headers=ADMIN)
    assert len(dead_letters(db)) == 2, "the same message is dead-lettered once"


def test_a_body_that_is_not_json_is_dead_lettered(client: TestClient, fleet: Fleet, db: Database) -> None:
    response = client.post(URL, content=b'{"v": 1, "sn": ', headers={**ADMIN, "content-type": "application/json"})
    assert response.status_code == 422
    [(field, reason)] = reasons(response)
    assert field == "payload" and reason.startswith("not valid JSON")
    assert [d.reason.startswith("not valid JSON") for d in dead_letters(db)] == [True]


def test_dead_letters_are_counted_by_reason(client: TestClient, fleet: Fleet) -> None:
    now = utcnow()
    client.post(URL, json=[healthy("X-1", 1, now), healthy("X-2", 1, now), {"v": 2}], headers=ADMIN)
    letters = client.get("/api/v1/telemetry/dead-letters", headers=fleet.headers("agent")).json()
    assert letters["total"] == 3
    assert letters["by_reason"] == {"unknown terminal serial number": 2, "v": 1}
    assert [item["sn"] for item in letters["items"]] == [None, "X-2", "X-1"]


def test_a_terminal_token_posts_only_its_own_heartbeats(client: TestClient, fleet: Fleet, db: Database) -> None:
    issued = client.post(f"/api/v1/terminals/{fleet.terminals_a[0]}/telemetry-token", headers=ADMIN)
    assert issued.status_code == 201
    token = issued.json()["token"]
    assert token.startswith("posterm_") and issued.json()["serial_number"] == SN
    terminal = {"Authorization": f"Bearer {token}"}
    now = utcnow()
    assert client.post(URL, json=healthy(SN, 1, now), headers=terminal).json()["stored"] == 1
    other = client.post(URL, json=[healthy(SN, 2, now), healthy("SN-TEST-0001", 1, now)], headers=terminal)
    assert other.status_code == 403 and "SN-TEST-0000" in other.json()["detail"]["message"]["en"]
    assert other.json()["detail"]["code"] == "telemetry.error.other_terminal"
    assert count(db, HeartbeatRecord) == 1, "nothing of a refused request is stored"
    reissued = client.post(f"/api/v1/terminals/{fleet.terminals_a[0]}/telemetry-token", headers=ADMIN).json()
    assert client.post(URL, json=healthy(SN, 3, now), headers=terminal).status_code == 401, "the old one is revoked"
    fresh = {"Authorization": f"Bearer {reissued['token']}"}
    assert client.post(URL, json=healthy(SN, 3, now), headers=fresh).status_code == 200
    assert client.delete(f"/api/v1/terminals/{fleet.terminals_a[0]}/telemetry-token",
                         headers=ADMIN).json() == {"revoked": 1}
    assert client.post(URL, json=healthy(SN, 4, now), headers=fresh).status_code == 401


def test_a_missing_or_unknown_token_is_401(client: TestClient, fleet: Fleet) -> None:
    payload = healthy(SN, 1, utcnow())
    assert client.post(URL, json=payload).status_code == 401
    assert client.post(URL, json=payload, headers={"Authorization": "Bearer posterm_nope"}).status_code == 401
    assert client.post(URL, json=payload, headers={"Authorization": "Bearer pos_nope"}).status_code == 401


def test_the_batch_use_case_dead_letters_and_never_raises_for_bad_messages(db: Database, fleet: Fleet) -> None:
    now = utcnow()
    messages = [service.Message.parse("mqtt", b"\xff\xfe", topic="posops/v1/terminals/SN-TEST-0000/heartbeat",
                                      sn_hint="SN-TEST-0000"),
                service.Message.parse("mqtt", json.dumps(full_payload(sn=SN, seq=5, ts=now.isoformat())).encode()),
                service.Message.parse("mqtt", json.dumps(full_payload(sn="GHOST", seq=5)).encode())]
    result = service.record_batch(db, messages, now)
    assert (result.received, result.stored, len(result.rejected)) == (3, 1, 2)
    assert [(r.index, r.sn) for r in result.rejected] == [(0, "SN-TEST-0000"), (2, "GHOST")]
    assert "not UTF-8" in result.rejected[0].reason
    again = service.record_batch(db, messages, now)
    assert (again.stored, again.duplicates) == (0, 1)
    assert len(dead_letters(db)) == 2


def test_a_request_holds_at_least_one_and_at_most_a_thousand_heartbeats(client: TestClient, fleet: Fleet,
                                                                        db: Database) -> None:
    now = utcnow()
    too_many = client.post(URL, json=[healthy(SN, seq, now) for seq in range(1001)], headers=ADMIN)
    assert too_many.status_code == 422 and error_fields(too_many) == ["body"]
    assert "at most 1000 heartbeats per request" in too_many.json()["detail"]["message"]["en"]
    empty = client.post(URL, json=[], headers=ADMIN)
    assert empty.status_code == 422 and error_fields(empty) == ["body"]
    assert count(db, HeartbeatRecord) == 0 and dead_letters(db) == []
