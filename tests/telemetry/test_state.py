"""A terminal's telemetry state: online from last-seen time, chart history, retention, fleet for the simulator."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from posops.core.db import Database, utcnow
from posops.telemetry import service
from posops.telemetry.models import DeadLetter, HeartbeatRecord
from posops.telemetry.views import terminal_charts
from tests.conftest import Fleet
from tests.telemetry.heartbeats import section
from tests.telemetry.storage import healthy, store

SN = "SN-TEST-0000"


def test_online_follows_the_last_heartbeat_not_the_terminal_status(db: Database, fleet: Fleet) -> None:
    agent = fleet.users["agent"]
    suspended = fleet.terminals_a[2]  # suspended for arrears, but it still reports
    assert service.terminal_telemetry(db, agent, suspended).online is None
    now = utcnow()
    store(db, [healthy("SN-TEST-0002", 1, now)], now - timedelta(minutes=2))
    state = service.terminal_telemetry(db, agent, suspended, now)
    assert state.online is True and state.seq == 1 and state.heartbeat is not None
    later = service.terminal_telemetry(db, agent, suspended, now + timedelta(minutes=4))
    assert later.online is False and later.last_seen_at == state.last_seen_at


def test_fresh_heartbeats_give_evidence_and_stale_ones_only_what_lasts(db: Database, fleet: Fleet) -> None:
    agent = fleet.users["agent"]
    now = utcnow()
    store(db, [healthy(SN, 1, now, printer=section("printer", paper="out"), tamper=True, last_rc="96")], now)
    fresh = service.terminal_telemetry(db, agent, fleet.terminals_a[0], now).evidence
    assert fresh["printer_paper"] == "empty_or_reversed" and fresh["response_code"] == "96"
    assert fresh["tamper_flag"] == "triggered" and fresh["sw_version"] == "current"
    stale = service.terminal_telemetry(db, agent, fleet.terminals_a[0], now + timedelta(hours=2)).evidence
    assert stale == {"tamper_flag": "triggered", "sw_version": "current"}, "a latched tamper switch stays"


def test_history_series_for_the_charts(db: Database, fleet: Fleet) -> None:
    now = utcnow()
    start = now - timedelta(minutes=50)
    for minute in range(0, 50, 5):
        at = start + timedelta(minutes=minute)
        store(db, [healthy(SN, minute, at, battery=section("battery", pct=90 - minute),
                           reader={"swipe_err": minute // 5, "chip_err": 0, "tap_err": 0, "reads": 100 + 10 * minute})],
              at)
    history = service.terminal_history(db, fleet.users["merchant"], fleet.terminals_a[0], now=now)
    assert history.until - history.since == timedelta(minutes=50), "as far back as it reported"
    assert [p.value for p in history.battery_pct] == [90 - m for m in range(0, 50, 5)]
    assert {p.value for p in history.signal_dbm} == {-90}
    assert history.read_error_rate and all(abs(p.value - 0.02) < 1e-9 for p in history.read_error_rate)
    section_data = service.terminal_section(db, fleet.users["merchant"], fleet.terminals_a[0], now)
    svgs = terminal_charts(section_data, "zh-CN")
    assert set(svgs) == {"battery", "signal", "read_errors"}
    assert all(svg.startswith("<svg") for svg in svgs.values())
    assert "电量" in svgs["battery"] and "Battery" in terminal_charts(section_data, "en")["battery"]
    assert section_data.network_type == "4g" and section_data.state.online is True


def test_pruning_keeps_the_retention_period(db: Database, fleet: Fleet) -> None:
    now = utcnow()
    for days_ago in (40, 31, 29, 1):
        at = now - timedelta(days=days_ago)
        store(db, [healthy(SN, days_ago, at), healthy("GHOST", days_ago, at)], at)
    removed = service.prune_history(db, now, retention_days=30, chunk=1)
    with db.transaction() as session:
        kept = sorted(session.scalars(select(HeartbeatRecord.seq)))
        letters = session.scalar(select(func.count()).select_from(DeadLetter))
    assert kept == [1, 29] and letters == 2 and removed == 4
    latest = service.terminal_telemetry(db, fleet.users["agent"], fleet.terminals_a[0], now)
    assert latest.seq == 40, "the snapshot is the highest seq, whatever the pruning"


def test_the_simulator_fleet_comes_from_the_registry(db: Database, fleet: Fleet) -> None:
    profiles = service.fleet_profiles(db, 10)
    assert [p["sn"] for p in profiles] == [f"SN-TEST-{i:04d}" for i in range(5)]
    assert profiles[0] == {"sn": "SN-TEST-0000", "model": "Sunmi P2", "region": "上海", "carrier": "中国移动",
                           "network": "4g", "app_version": "3.2.1"}
    assert len(service.fleet_profiles(db, 2)) == 2
