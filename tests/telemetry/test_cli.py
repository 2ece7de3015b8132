"""`posops telemetry …` and `posops sim fleet` on the command line."""

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
from posops.core.models import ScheduledRun
from posops.demo_repairs import LOANER_MODELS
from posops.telemetry.cli import database_fleet
from posops.terminals.models import Terminal

runner = CliRunner()


@pytest.fixture
def cli_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("POSOPS_DATABASE_URL", url)
    get_settings.cache_clear()
    yield Database(url)
    get_settings.cache_clear()


def test_telemetry_commands(cli_db: Database) -> None:
    assert runner.invoke(app, ["telemetry", "scan"]).exit_code == 2, "refuses an unmigrated database"
    assert database_fleet(10) == [], "the simulator falls back to made-up serials"
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["demo", "load", "--terminals", "30"]).exit_code == 0
    fleet = database_fleet(100)
    with cli_db.transaction() as session:
        registered = {t.serial_number: t for t in session.scalars(select(Terminal))}
    assert 0 < len(fleet) <= 30 + len(LOANER_MODELS) and all(p.sn in registered for p in fleet)
    first = registered[fleet[0].sn]
    assert (fleet[0].model, fleet[0].region, fleet[0].carrier) == (first.model, first.region, first.carrier)

    scanned = runner.invoke(app, ["telemetry", "scan"])
    assert scanned.exit_code == 0, scanned.output
    outcome = json.loads(scanned.stdout)
    assert set(outcome) == {"at", "groups", "opened", "closed", "open"}
    assert outcome["groups"] > 0, "the demo's terminals have just reported"
    with cli_db.transaction() as session:
        assert session.scalars(select(ScheduledRun.job)).all() == ["incident_scan"], "counts as a scan run"

    issued = runner.invoke(app, ["telemetry", "token", fleet[0].sn])
    assert issued.exit_code == 0 and issued.stdout.strip().splitlines()[-1].startswith("posterm_")
    assert "revoked 1 token" in runner.invoke(app, ["telemetry", "token", fleet[0].sn, "--revoke"]).output
    missing = runner.invoke(app, ["telemetry", "token", "NO-SUCH-TERMINAL"])
    assert missing.exit_code == 2 and "terminal not found" in missing.output

    letters = runner.invoke(app, ["telemetry", "dead-letters"])
    assert letters.exit_code == 0 and json.loads(letters.stdout)["total"] == 0
    pruned = runner.invoke(app, ["telemetry", "prune", "--days", "7"]).output
    assert "removed" in pruned and "removed 0 rows" not in pruned, "the demo's history goes back 30 days"


def test_the_simulator_is_registered() -> None:
    fleet = runner.invoke(app, ["sim", "fleet", "--help"])
    assert fleet.exit_code == 0 and "--outage-region" in fleet.output and "--from-db" in fleet.output
