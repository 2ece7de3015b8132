"""Telemetry and imported ISO 8583 traffic both tell a diagnosis things: the fresher source wins a check."""

from __future__ import annotations

from datetime import timedelta

from posops.core.db import Database, utcnow
from posops.diagnosis.service import fleet_evidence
from posops.iso8583.models import TerminalTrafficRecord, TrafficAnalysis
from posops.terminals.models import Terminal
from tests.conftest import Fleet
from tests.telemetry.storage import healthy, store

SN = "SN-TEST-0000"


def _import_traffic(db: Database, terminal_id: int) -> None:
    """Traffic seen two hours ago: the host answered A0 (MAC error) and the working key is invalid."""
    seen = utcnow() - timedelta(hours=2)
    with db.transaction() as session:
        analysis = TrafficAnalysis(source_name="pos.log", analysed_by="agent", frames=10, malformed=0,
                                   matched_terminals=1)
        session.add(analysis)
        session.flush()
        session.add(TerminalTrafficRecord(analysis_id=analysis.id, terminal_id=terminal_id, tid="90000000",
                                          first_seen=seen, last_seen=seen,
                                          evidence={"response_code": "A0", "key_check": "work_key_invalid"}))


def _evidence(db: Database, terminal_id: int) -> dict[str, str]:
    with db.transaction() as session:
        terminal = session.get(Terminal, terminal_id)
        assert terminal is not None
        return fleet_evidence(session, terminal)


def test_a_fresh_heartbeat_wins_over_older_traffic_and_a_stale_one_does_not(db: Database, fleet: Fleet) -> None:
    terminal = fleet.terminals_a[0]
    _import_traffic(db, terminal)
    assert _evidence(db, terminal)["response_code"] == "A0"
    now = utcnow()
    store(db, [healthy(SN, 1, now - timedelta(hours=1), last_rc="96")], now - timedelta(hours=1))
    stale = _evidence(db, terminal)
    assert stale["response_code"] == "A0", "an hour-old heartbeat says nothing about the last response"
    store(db, [healthy(SN, 2, now, last_rc="timeout")], now)
    fresh = _evidence(db, terminal)
    assert fresh["response_code"] == "timeout", "the heartbeat of a minute ago is newer than the traffic"
    assert fresh["key_check"] == "work_key_invalid", "what telemetry cannot tell, traffic still does"
    assert fresh["account_status"] == "ok" and fresh["battery_level"] == "ok"
