"""`posops terminals …`: agents suspend and reactivate as themselves; refusals exit 2 saying what is missing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from posops.cli import app
from posops.core.config import get_settings
from posops.core.db import Database, utcnow
from posops.core.models import AuditEvent, User
from posops.terminals.models import Merchant, Terminal
from tests.helpers import cli_database

runner = CliRunner()


def _text(output: str) -> str:
    """The output with the terminal's line wrapping undone."""
    return " ".join(output.split())


@pytest.fixture
def cli_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Database]:
    db = cli_database(monkeypatch, tmp_path)
    with db.transaction() as session:
        merchant = Merchant(name="丙商户", legal_id="91310000CCCC00003Z")
        session.add(merchant)
        session.flush()
        session.add(Terminal(serial_number="SN-CLI-0001", model="Landi A8", tid="55501001", mid="898310000555001",
                             merchant_id=merchant.id, app_version="2.8.1", activated_at=utcnow()))
        session.add(Terminal(serial_number="SN-CLI-0002", model="Landi A8", tid="55501002", mid="898310000555001",
                             merchant_id=merchant.id, activated_at=utcnow() - timedelta(days=200)))
        for name, role in (("wang", "agent"), ("zhao", "risk"), ("qian", "risk"), ("shop", "merchant")):
            session.add(User(username=name, role=role, password_hash="-", display_name=name,
                             merchant_id=merchant.id if role == "merchant" else None))
    yield db
    get_settings.cache_clear()


def test_agent_suspends_and_reactivation_waits_for_the_conditions(cli_db: Database) -> None:
    suspended = runner.invoke(app, ["terminals", "suspend", "55501001", "--reason", "device_fault",
                                    "--note", "读卡器损坏", "--as", "wang"])
    assert suspended.exit_code == 0, suspended.output
    assert "suspended (device_fault) by wang" in suspended.output and "终端已停机" in suspended.output
    refused = runner.invoke(app, ["terminals", "reactivate", "SN-CLI-0001", "--as", "wang"])
    assert refused.exit_code == 2
    assert "opened reactivation request #1" in refused.output and "还没有维修工单" in _text(refused.output)
    status = runner.invoke(app, ["terminals", "status", "55501001"])
    assert status.exit_code == 0 and "suspended (device_fault)" in status.output and "#1: submitted" in status.output
    with cli_db.transaction() as session:
        events = [(e.actor, e.action) for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert events == [("wang", "suspend"), ("wang", "submit")], "a refused approval writes nothing"


def test_roles_decide_and_unknown_users_are_refused(cli_db: Database) -> None:
    merchant = runner.invoke(app, ["terminals", "suspend", "55501001", "--reason", "arrears", "--note", "x",
                                   "--as", "shop"])
    assert merchant.exit_code == 2 and "may not suspend" in _text(merchant.output)
    agent = runner.invoke(app, ["terminals", "suspend", "55501001", "--reason", "security", "--note", "x",
                                "--as", "wang"])
    assert agent.exit_code == 2
    risk = runner.invoke(app, ["terminals", "suspend", "55501001", "--reason", "security", "--note", "防拆触发",
                               "--as", "zhao"])
    assert risk.exit_code == 0, risk.output
    lift = runner.invoke(app, ["terminals", "reactivate", "55501001", "--as", "wang"])
    assert lift.exit_code == 2 and "may not approve" in _text(lift.output), "an agent cannot lift a security stop"
    by_imposer = runner.invoke(app, ["terminals", "reactivate", "55501001", "--as", "zhao"])
    assert by_imposer.exit_code == 2 and "you imposed the suspension" in _text(by_imposer.output), "not alone"
    by_risk = runner.invoke(app, ["terminals", "reactivate", "55501001", "--as", "qian"])
    assert by_risk.exit_code == 0 and "reactivated (request #1)" in by_risk.output, "the agent's request, risk's call"
    nobody = runner.invoke(app, ["terminals", "suspend", "55501001", "--reason", "other", "--note", "x",
                                 "--as", "ghost"])
    assert nobody.exit_code == 2 and "ghost" in nobody.output
    bad_date = runner.invoke(app, ["terminals", "suspend", "55501002", "--reason", "arrears", "--note", "x",
                                   "--as", "wang", "--due-date", "May 1"])
    assert bad_date.exit_code == 2 and "YYYY-MM-DD" in _text(bad_date.output)


def test_reactivate_succeeds_once_the_conditions_are_met(cli_db: Database) -> None:
    runner.invoke(app, ["terminals", "suspend", "55501001", "--reason", "system_update", "--note", "强制升级",
                        "--as", "wang", "--required-version", "2.8.0"])
    done = runner.invoke(app, ["terminals", "reactivate", "55501001", "--as", "wang", "--note", "已升级"])
    assert done.exit_code == 0, done.output
    assert "reactivated" in done.output and "sign in" in done.output
    with cli_db.transaction() as session:
        terminal = session.scalars(select(Terminal).where(Terminal.tid == "55501001")).one()
        assert (terminal.status, terminal.must_sign_in) == ("active", True)


def test_dormancy_scan(cli_db: Database) -> None:
    dry = runner.invoke(app, ["terminals", "dormancy-scan", "--dry-run"])
    assert dry.exit_code == 0 and "would suspend 1 terminal(s)" in dry.output
    run = runner.invoke(app, ["terminals", "dormancy-scan", "--days", "365"])
    assert run.exit_code == 0 and "suspended 0 terminal(s)" in run.output
    run = runner.invoke(app, ["terminals", "dormancy-scan"])
    assert run.exit_code == 0 and "suspended 1 terminal(s)" in run.output
    with cli_db.transaction() as session:
        terminal = session.scalars(select(Terminal).where(Terminal.tid == "55501002")).one()
        assert (terminal.status, terminal.status_reason) == ("suspended", "dormant")
