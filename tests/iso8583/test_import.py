"""Importing traffic: analyses attach to the terminals matched by TID, move their activity forward, audited, atomic."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from posops.core import audit
from posops.core.audit import AuditEntity
from posops.core.db import Database, utcnow
from posops.core.models import AuditEvent
from posops.iso8583 import service
from posops.iso8583.models import TerminalTrafficRecord, TrafficAnalysis
from posops.terminals.models import Terminal
from tests.conftest import Fleet
from tests.helpers import error_fields
from tests.iso8583.helpers import answer, purchase, sign_in
from tests.iso8583.traffic import TID_A0, TID_B, TID_TIMEOUT, TID_UNKNOWN, fleet_steps, log_text

URL = "/api/v1/traffic/analyses"


def _upload(client: TestClient, fleet: Fleet, text: str, name: str = "pos.log", role: str = "agent") -> Any:
    return client.post(URL, files={"file": (name, text.encode(), "text/plain")}, headers=fleet.headers(role))


def _terminal(db: Database, tid: str) -> Terminal:
    with db.transaction() as session:
        terminal = session.scalar(select(Terminal).where(Terminal.tid == tid))
        assert terminal is not None
        return terminal


def _iso(moment: str) -> datetime:
    return datetime.fromisoformat(moment)


def test_upload_attaches_each_known_terminal_and_reports_the_unknown(client: TestClient, fleet: Fleet,
                                                                    db: Database) -> None:
    start = utcnow().replace(microsecond=0) - timedelta(hours=2)
    response = _upload(client, fleet, log_text(fleet_steps(), start))
    assert response.status_code == 201, response.text
    report = response.json()
    assert {m["tid"] for m in report["matched"]} == {TID_A0, TID_TIMEOUT, TID_B}
    assert report["unknown_tids"] == [TID_UNKNOWN]
    assert report["frames"] == 13 and report["malformed"] == 0 and report["source_name"] == "pos.log"
    by_tid = {t["tid"]: t for t in report["terminals"]}
    a0 = by_tid[TID_A0]
    assert a0["evidence"] == {"response_code": "A0", "key_check": "work_key_invalid"}
    assert a0["traffic"]["last_outcome"]["code"] == "A0" and a0["traffic"]["last_outcome"]["zh"] == "MAC校验错"
    assert _iso(a0["last_approved_transaction_at"]) == start + timedelta(seconds=10)
    assert by_tid[TID_TIMEOUT]["traffic"]["timeouts"] == 1 and by_tid[TID_TIMEOUT]["traffic"]["reversals"] == 1
    assert by_tid[TID_B]["evidence"] == {"response_code": "51"}

    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(TrafficAnalysis)) == 1
        records = list(session.scalars(select(TerminalTrafficRecord)))
        assert sorted(r.tid for r in records) == sorted([TID_A0, TID_TIMEOUT, TID_B])
        assert session.scalar(select(Terminal).where(Terminal.tid == TID_UNKNOWN)) is None
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "traffic_import")))
        assert sorted(int(e.entity_id) for e in events) == sorted(r.terminal_id for r in records)
        assert all(e.actor == "agent" and e.reason == "pos.log" for e in events)
    # Only an approved payment counts as a transaction: the sign-in, the timeout and the 51 do not.
    assert _terminal(db, TID_A0).last_transaction_at == start + timedelta(seconds=10)
    assert _terminal(db, TID_TIMEOUT).last_transaction_at is None
    assert _terminal(db, TID_B).last_transaction_at is None


def test_raw_body_upload_is_named_by_its_content_disposition(client: TestClient, fleet: Fleet) -> None:
    headers = {**fleet.headers("technician"), "content-type": "application/octet-stream"}
    chinese = "attachment; filename*=UTF-8''%E4%B8%8A%E6%B5%B7.log"
    named = client.post(URL, content=log_text(fleet_steps()).encode(),
                        headers={**headers, "content-disposition": chinese})
    assert named.status_code == 201, named.text
    assert named.json()["source_name"] == "上海.log" and named.json()["analysed_by"] == "technician"
    unnamed = client.post(URL, content=log_text(fleet_steps()).encode(), headers=headers)
    assert unnamed.status_code == 201 and unnamed.json()["source_name"] == "upload"


def test_storm_settings_are_taken_from_the_query(client: TestClient, fleet: Fleet) -> None:
    steps = [step for n in range(2) for step in (
        (n * 5.0, ">", purchase(TID_B, f"00050{n}")), (n * 5.0 + 1, "<", answer(purchase(TID_B, f"00050{n}"), "51")))]
    default = client.post(URL, files={"file": ("a.log", log_text(steps))}, headers=fleet.headers("agent")).json()
    assert default["terminals"][0]["traffic"]["storms"] == []
    touchy = client.post(f"{URL}?storm_threshold=2", files={"file": ("a.log", log_text(steps))},
                         headers=fleet.headers("agent")).json()
    assert [s["code"] for s in touchy["terminals"][0]["traffic"]["storms"]] == ["51"]


def test_latest_traffic_is_the_newest_traffic_not_the_newest_import(client: TestClient, fleet: Fleet) -> None:
    now = utcnow()
    signin = sign_in(TID_A0, "000101")
    recent = [(0, ">", signin), (1, "<", answer(signin, "00"))]
    assert _upload(client, fleet, log_text(recent, now - timedelta(hours=1)), "today.log").status_code == 201
    assert _upload(client, fleet, log_text(fleet_steps(), now - timedelta(days=3)), "old.log").status_code == 201
    latest = client.get(f"/api/v1/terminals/{fleet.terminals_a[0]}/traffic", headers=fleet.headers("merchant"))
    assert latest.status_code == 200
    assert latest.json()["source_name"] == "today.log"
    assert latest.json()["evidence"] == {"response_code": "none"}


def test_last_transaction_never_moves_back_nor_into_the_future(client: TestClient, fleet: Fleet,
                                                               db: Database) -> None:
    now = utcnow().replace(microsecond=0)
    paid = purchase(TID_A0, "000200")
    steps = [(0, ">", paid), (1, "<", answer(paid, "00"))]
    _upload(client, fleet, log_text(steps, now - timedelta(days=1)))
    assert _terminal(db, TID_A0).last_transaction_at == now - timedelta(days=1)
    _upload(client, fleet, log_text(steps, now - timedelta(days=5)))
    assert _terminal(db, TID_A0).last_transaction_at == now - timedelta(days=1)
    future = _upload(client, fleet, log_text(steps, now + timedelta(days=2)))
    assert future.status_code == 201
    assert _terminal(db, TID_A0).last_transaction_at == now - timedelta(days=1)
    assert future.json()["terminals"][0]["last_approved_transaction_at"] is None
    stored = future.json()["terminals"][0]
    assert _iso(stored["last_seen"]) <= _iso(stored["analysed_at"])  # a clock ahead cannot make it newest forever


def test_a_sign_in_after_reactivation_clears_the_must_sign_in_mark(client: TestClient, fleet: Fleet,
                                                                  db: Database) -> None:
    now = utcnow()
    with db.transaction() as session:
        terminal = session.scalar(select(Terminal).where(Terminal.tid == TID_A0))
        assert terminal is not None
        terminal.must_sign_in = True
        audit.record(session, fleet.users["agent"], AuditEntity.TERMINAL, terminal.id, "reactivate",
                     before={"must_sign_in": False}, after={"must_sign_in": True})
    signin = sign_in(TID_A0, "000300")
    before_mark = [(0, ">", signin), (1, "<", answer(signin, "00"))]
    _upload(client, fleet, log_text(before_mark, now - timedelta(days=2)))
    assert _terminal(db, TID_A0).must_sign_in is True  # that sign-in happened before the reactivation
    _upload(client, fleet, log_text(before_mark, utcnow() + timedelta(seconds=1)))
    assert _terminal(db, TID_A0).must_sign_in is False


def test_an_import_is_one_transaction(client: TestClient, fleet: Fleet, db: Database,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = audit.record

    def failing_second(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(audit, "record", failing_second)
    with pytest.raises(RuntimeError):
        _upload(client, fleet, log_text(fleet_steps()))
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(TrafficAnalysis)) == 0
        assert session.scalar(select(func.count()).select_from(TerminalTrafficRecord)) == 0
        assert session.scalar(select(func.count()).where(AuditEvent.action == "traffic_import")) == 0
    assert _terminal(db, TID_A0).last_transaction_at is None


@pytest.mark.parametrize(("content", "reason"), [
    (b"", "empty"),
    (b"%PDF-1.4 not a log\n", "no ISO 8583 frames"),
    (b"\x0a\x0d\x0d\x0a" + bytes(60), "pcapng"),
])
def test_files_that_hold_no_traffic_are_refused_naming_the_file(client: TestClient, fleet: Fleet, db: Database,
                                                               content: bytes, reason: str) -> None:
    response = client.post(URL, files={"file": ("x.bin", content)}, headers=fleet.headers("agent"))
    assert response.status_code == 422
    assert error_fields(response) == ["file"] and reason in response.json()["detail"]["message"]["en"]
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(TrafficAnalysis)) == 0


def test_a_multipart_upload_needs_its_file_part(client: TestClient, fleet: Fleet) -> None:
    response = client.post(URL, data={"other": "x"}, files={"attachment": ("a.log", b"x")},
                           headers=fleet.headers("agent"))
    assert response.status_code == 422 and error_fields(response) == ["file"]
    assert "multipart part named 'file'" in response.json()["detail"]["message"]["en"]


def test_the_uploaded_file_is_analysed_from_a_private_temporary_file_then_deleted(
        client: TestClient, fleet: Fleet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    seen: list[tuple[Path, int]] = []
    real = service.read_frames

    def watching(path: Path, **kwargs: Any) -> Any:
        seen.append((path, path.parent.stat().st_mode & 0o777))
        return real(path, **kwargs)

    monkeypatch.setattr(service, "read_frames", watching)
    assert _upload(client, fleet, log_text(fleet_steps())).status_code == 201
    assert client.post(URL, content=log_text(fleet_steps()).encode(),
                       headers=fleet.headers("agent")).status_code == 201
    assert [spool in path.parents for path, _ in seen] == [True, True]
    assert {mode for _, mode in seen} == {0o700}
    assert list(spool.iterdir()) == []


def test_terminal_without_traffic_is_404(client: TestClient, fleet: Fleet) -> None:
    response = client.get(f"/api/v1/terminals/{fleet.terminals_a[1]}/traffic", headers=fleet.headers("agent"))
    assert response.status_code == 404
    assert response.json()["detail"]["message"]["en"] == "no traffic has been analysed for this terminal"
    assert response.json()["detail"]["code"] == "iso8583.error.no_traffic"


@pytest.mark.parametrize(("given", "kept"), [
    ("C:\\logs\\pos 1.log", "pos 1.log"),
    ("/var/log/../6222021234567890123.log", "622202*********0123.log"),
    ("a\x00b\nc.log", "abc.log"),
    ("", "upload"),
])
def test_source_names_keep_the_file_name_only_with_card_numbers_masked(given: str, kept: str) -> None:
    assert service.clean_source_name(given) == kept
