"""`posops logs analyze FILE --import`: the analysis is stored like an upload, as the CLI operator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from posops.cli import app
from posops.core.config import get_settings
from posops.core.db import Database
from posops.core.models import AuditEvent
from posops.iso8583.models import TerminalTrafficRecord, TrafficAnalysis
from posops.terminals.models import Terminal
from tests.conftest import Fleet
from tests.iso8583.traffic import TID_A0, TID_B, TID_TIMEOUT, TID_UNKNOWN, fleet_steps, write_log

runner = CliRunner()


@pytest.fixture
def cli_env(database_url: str, fleet: Fleet, monkeypatch: pytest.MonkeyPatch) -> Iterator[Fleet]:
    """The CLI pointed at the test database holding the fleet."""
    monkeypatch.setenv("POSOPS_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield fleet
    get_settings.cache_clear()


def test_import_stores_the_analysis_and_lists_the_terminals_matched(cli_env: Fleet, db: Database,
                                                                    tmp_path: Path) -> None:
    log = write_log(tmp_path / "shop.log", fleet_steps())
    result = runner.invoke(app, ["logs", "analyze", str(log), "--import"])
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())
    assert "matched 3" in out and "unknown 1" in out
    for tid, serial in ((TID_A0, "SN-TEST-0000"), (TID_TIMEOUT, "SN-TEST-0001"), (TID_B, "SN-TEST-0003")):
        assert f"{tid} {serial}" in out
    assert TID_UNKNOWN in out.split("not stored")[1]
    with db.transaction() as session:
        analysis = session.scalar(select(TrafficAnalysis))
        assert analysis is not None and analysis.analysed_by == "cli" and analysis.source_name == "shop.log"
        assert analysis.unknown_tids == [TID_UNKNOWN]
        assert sorted(r.tid for r in session.scalars(select(TerminalTrafficRecord))) == [TID_A0, TID_TIMEOUT, TID_B]
        actors = {e.actor for e in session.scalars(select(AuditEvent).where(AuditEvent.action == "traffic_import"))}
        assert actors == {"cli"}
        terminal = session.scalar(select(Terminal).where(Terminal.tid == TID_A0))
        assert terminal is not None and terminal.last_transaction_at is not None


def test_attach_with_json_keeps_stdout_a_report(cli_env: Fleet, db: Database, tmp_path: Path) -> None:
    log = write_log(tmp_path / "shop.log", fleet_steps())
    result = runner.invoke(app, ["logs", "analyze", str(log), "--json", "--attach"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["frames"] == 13
    assert "matched 3" in " ".join(result.stderr.split())
    with db.transaction() as session:
        assert len(list(session.scalars(select(TrafficAnalysis)))) == 1


def test_without_import_nothing_is_stored(cli_env: Fleet, db: Database, tmp_path: Path) -> None:
    result = runner.invoke(app, ["logs", "analyze", str(write_log(tmp_path / "a.log", fleet_steps()))])
    assert result.exit_code == 0
    with db.transaction() as session:
        assert session.scalar(select(TrafficAnalysis)) is None


def test_a_file_without_frames_is_refused_with_exit_2(cli_env: Fleet, db: Database, tmp_path: Path) -> None:
    empty = tmp_path / "empty.log"
    empty.write_text("# nothing here\n")
    result = runner.invoke(app, ["logs", "analyze", str(empty), "--import"])
    assert result.exit_code == 2 and "no ISO 8583 frames" in result.stderr
    with db.transaction() as session:
        assert session.scalar(select(TrafficAnalysis)) is None


def test_an_unmigrated_database_is_refused_before_analysing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("POSOPS_DATABASE_URL", f"sqlite:///{tmp_path / 'blank.db'}")
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["logs", "analyze", str(write_log(tmp_path / "a.log", fleet_steps())),
                                     "--import"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2 and "posops db upgrade" in " ".join(result.stderr.split())
