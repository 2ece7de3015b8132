"""`posops upgrades …`: packages verified on the way in, campaigns built by one desk user and approved by another."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from posops.cli import app
from posops.core.config import get_settings
from posops.core.db import Database, utcnow
from posops.core.models import AuditEvent, User
from posops.telemetry import service as telemetry
from posops.telemetry.service import Message, Sender
from posops.terminals.models import Merchant, Terminal
from posops.upgrades import service as upgrades
from posops.upgrades.schemas import ReportIn, ReportsIn
from posops.upgrades.steps import Step
from tests.helpers import cli_database
from tests.upgrades.world import close_every_shop_now

runner = CliRunner()
MODEL = "PAX A920"


def _text(output: str) -> str:
    return " ".join(output.split())


@pytest.fixture
def cli_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Database]:
    monkeypatch.setenv("POSOPS_VAR_DIR", str(tmp_path / "var"))
    db = cli_database(monkeypatch, tmp_path)
    with db.transaction() as session:
        merchant = Merchant(name="升级命令行商户", legal_id="91310000UPCLI0001X", region="上海")
        session.add(merchant)
        session.flush()
        for i in range(20):
            session.add(Terminal(serial_number=f"CLI{i:05d}", model=MODEL, vendor="PAX", tid=f"6{i:07d}",
                                 mid="898310000000666", merchant_id=merchant.id, region="上海" if i < 15 else "北京",
                                 firmware_version="PayDroid8.1", app_version="3.2.1", status="active",
                                 tags=["pilot"] if i < 4 else []))
        for name, role in (("wang", "agent"), ("li", "agent"), ("zhao", "risk")):
            session.add(User(username=name, role=role, password_hash="-", display_name=name))
    yield db
    get_settings.cache_clear()


def _package(tmp_path: Path, version: str = "3.3.0") -> tuple[Path, str]:
    path = tmp_path / f"app-{version}.apk"
    path.write_bytes(f"posops cli package {version}".encode())
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def _add(path: Path, version: str, *extra: str) -> object:
    return runner.invoke(app, ["upgrades", "packages", "add", str(path), "--model", MODEL, "--version", version,
                               "--as", "wang", *extra])


def test_a_package_without_a_checksum_gets_it_computed_and_one_with_a_wrong_one_is_refused(
        cli_db: Database, tmp_path: Path) -> None:
    path, digest = _package(tmp_path)
    added = _add(path, "3.3.0", "--notes-zh", "修复签到超时")
    assert added.exit_code == 0, added.output
    assert digest in added.output and "computed" in added.output
    other, _ = _package(tmp_path, "3.4.0")
    wrong = _add(other, "3.4.0", "--sha256", "ab" * 32)
    assert wrong.exit_code == 2 and "SHA-256" in _text(wrong.output)
    verified = _add(other, "3.4.0", "--sha256", hashlib.sha256(other.read_bytes()).hexdigest())
    assert verified.exit_code == 0 and "verified" in verified.output
    listed = json.loads(runner.invoke(app, ["upgrades", "packages", "list", "--json"]).stdout)
    assert [(p["version"], p["notes_zh"]) for p in listed] == [("3.4.0", ""), ("3.3.0", "修复签到超时")]
    assert listed[1]["sha256"] == digest and listed[1]["has_file"]
    table = _text(runner.invoke(app, ["upgrades", "packages", "list"]).output)
    assert "3.3.0" in table and "2 package(s)" in table


def test_a_risk_user_may_read_packages_but_not_register_them(cli_db: Database, tmp_path: Path) -> None:
    path, _ = _package(tmp_path)
    refused = runner.invoke(app, ["upgrades", "packages", "add", str(path), "--model", MODEL, "--version", "3.3.0",
                                  "--as", "zhao"])
    assert refused.exit_code == 2 and "role risk may not" in _text(refused.output)
    assert runner.invoke(app, ["upgrades", "packages", "list", "--as", "zhao"]).exit_code == 0
    nobody = runner.invoke(app, ["upgrades", "packages", "add", str(path), "--model", MODEL, "--version", "3.3.0",
                                 "--as", "nobody"])
    assert nobody.exit_code == 2


def test_the_compatibility_matrix_and_minimums_are_set_and_listed(cli_db: Database) -> None:
    no = runner.invoke(app, ["upgrades", "compat", "set", MODEL, "PayDroid7.1", "3.3.0", "--no", "--as", "wang",
                             "--note", "needs PayDroid 8"])
    assert no.exit_code == 0 and "does not run" in no.output
    yes = runner.invoke(app, ["upgrades", "compat", "set", MODEL, "PayDroid8.1", "3.3.0", "--yes", "--as", "wang"])
    assert yes.exit_code == 0 and "runs on" in yes.output
    cells = json.loads(runner.invoke(app, ["upgrades", "compat", "list", "--json"]).stdout)
    assert [(c["firmware"], c["compatible"]) for c in cells] == [("PayDroid7.1", False), ("PayDroid8.1", True)]
    minimum = runner.invoke(app, ["upgrades", "minimums", "set", MODEL, "3.2.0", "--as", "li", "--acquirer", "银联"])
    assert minimum.exit_code == 0 and "3.2.0" in minimum.output
    assert json.loads(runner.invoke(app, ["upgrades", "minimums", "list", "--json"]).stdout)[0]["acquirer"] == "银联"
    with cli_db.transaction() as session:
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.actor == "wang")))
    assert actions.count("set") == 2


def _campaign(command: str, package_id: int, *extra: str, as_user: str = "wang") -> object:
    return runner.invoke(app, ["upgrades", "campaigns", command, "--package", str(package_id), "--name", "3.3.0 试点",
                               "--as", as_user, *extra])


def _registered(tmp_path: Path) -> int:
    path, _ = _package(tmp_path)
    assert _add(path, "3.3.0").exit_code == 0
    return int(json.loads(runner.invoke(app, ["upgrades", "packages", "list", "--json"]).stdout)[0]["id"])


def test_the_preview_shows_the_waves_and_the_filters_narrow_them(cli_db: Database, tmp_path: Path) -> None:
    package_id = _registered(tmp_path)
    preview = json.loads(_campaign("preview", package_id, "--waves", "10,50,100", "--json").stdout)
    assert preview["targets"] == 20 and [w["terminals"] for w in preview["waves"]] == [2, 8, 10]
    shanghai = json.loads(_campaign("preview", package_id, "--region", "上海", "--waves", "50,100", "--json").stdout)
    assert shanghai["targets"] == 15 and shanghai["matched"] == 15
    pilot = json.loads(_campaign("preview", package_id, "--tag", "pilot", "--json").stdout)
    assert pilot["targets"] == 4
    table = _text(_campaign("preview", package_id, "--waves", "10,50,100").output)
    assert "20 to upgrade" in table and "10 %" in table


def test_bad_campaign_options_exit_2_with_a_clear_message(cli_db: Database, tmp_path: Path) -> None:
    package_id = _registered(tmp_path)
    letters = _campaign("create", package_id, "--waves", "10,x,100")
    assert letters.exit_code == 2 and "--waves must be whole percentages" in _text(letters.output)
    short = _campaign("create", package_id, "--waves", "10,50")
    assert short.exit_code == 2 and "100" in _text(short.output)
    window = _campaign("create", package_id, "--window", "0100")
    assert window.exit_code == 2 and "--window must be HH:MM-HH:MM" in _text(window.output)
    hours = _campaign("create", package_id, "--window", "25:00-05:00")
    assert hours.exit_code == 2
    when = _campaign("create", package_id, "--starts-at", "tomorrow")
    assert when.exit_code == 2 and "--starts-at must be an ISO 8601" in _text(when.output)
    nothing = _campaign("create", package_id, "--region", "拉萨")
    assert nothing.exit_code == 2 and "No terminal" in _text(nothing.output)
    assert json.loads(runner.invoke(app, ["upgrades", "campaigns", "list", "--json"]).stdout)["total"] == 0


def test_a_campaign_is_approved_by_a_second_person_then_paused_resumed_and_cancelled(
        cli_db: Database, tmp_path: Path) -> None:
    package_id = _registered(tmp_path)
    created = _campaign("create", package_id, "--waves", "10,100", "--soak-minutes", "60", "--window", "none",
                        "--wifi-only", "--expires-at", "2099-01-01T00:00")
    assert created.exit_code == 0, created.output
    campaign_id = json.loads(runner.invoke(app, ["upgrades", "campaigns", "list", "--json"]).stdout)["items"][0]["id"]
    assert "awaiting approval" in _text(created.output)
    own = runner.invoke(app, ["upgrades", "campaigns", "approve", str(campaign_id), "--as", "wang"])
    assert own.exit_code == 2 and "second person" in _text(own.output)
    approved = runner.invoke(app, ["upgrades", "campaigns", "approve", str(campaign_id), "--as", "li"])
    assert approved.exit_code == 0 and "approved by li: running" in _text(approved.output)
    shown = json.loads(runner.invoke(app, ["upgrades", "campaigns", "show", str(campaign_id), "--json"]).stdout)
    assert shown["status"] == "running" and shown["wifi_only"] and shown["window_start"] is None
    assert [w["soak_minutes"] for w in shown["waves"]] == [60, 60] and shown["waves"][0]["states"] == {"offered": 2}
    assert shown["expires_at"] == "2098-12-31T16:00:00Z", "a time without an offset is in POSOPS_TIMEZONE"
    page = _text(runner.invoke(app, ["upgrades", "campaigns", "show", str(campaign_id)]).output)
    assert "running" in page and "2 offered" in page and "may: pause, cancel" in page

    reasonless = runner.invoke(app, ["upgrades", "campaigns", "pause", str(campaign_id), "--as", "li"])
    assert reasonless.exit_code == 2
    paused = runner.invoke(app, ["upgrades", "campaigns", "pause", str(campaign_id), "--as", "li",
                                 "--reason", "商户投诉,先暂停"])
    assert paused.exit_code == 0 and "paused" in paused.output
    again = runner.invoke(app, ["upgrades", "campaigns", "pause", str(campaign_id), "--as", "li", "--reason", "x"])
    assert again.exit_code == 2 and "current status" in _text(again.output)
    assert runner.invoke(app, ["upgrades", "campaigns", "resume", str(campaign_id), "--as", "wang",
                               "--reason", "已查明"]).exit_code == 0
    cancelled = runner.invoke(app, ["upgrades", "campaigns", "cancel", str(campaign_id), "--as", "wang",
                                    "--reason", "换用新版本"])
    assert cancelled.exit_code == 0 and "cancelled" in cancelled.output
    listed = _text(runner.invoke(app, ["upgrades", "campaigns", "list", "--status", "cancelled"]).output)
    assert "试点" in listed and "cancelled" in listed and "1 campaign(s)" in listed
    with cli_db.transaction() as session:
        trail = list(session.execute(select(AuditEvent.actor, AuditEvent.action)
                                     .where(AuditEvent.entity_type == "upgrade_campaign").order_by(AuditEvent.id)))
    assert [tuple(row) for row in trail] == [("wang", "create"), ("li", "approve"), ("li", "start"), ("li", "pause"),
                                             ("wang", "resume"), ("wang", "cancel")]


def test_rolling_back_a_campaign_that_did_not_halt_is_refused(cli_db: Database, tmp_path: Path) -> None:
    package_id = _registered(tmp_path)
    assert _campaign("create", package_id).exit_code == 0
    refused = runner.invoke(app, ["upgrades", "campaigns", "rollback", "1", "--as", "li"])
    assert refused.exit_code == 2 and "current status" in _text(refused.output)
    missing = runner.invoke(app, ["upgrades", "campaigns", "show", "99"])
    assert missing.exit_code == 2 and "No such campaign" in _text(missing.output)


def _installed_and_failing(db: Database, campaign_id: int) -> list[str]:
    """Every offered terminal installs the package and then fails its sign-in (heartbeats and reports now)."""
    close_every_shop_now(db)
    with db.transaction() as session:
        terminals = dict(session.execute(select(Terminal.serial_number, Terminal.id)).all())
    offered = [sn for sn in terminals
               if upgrades.next_for_terminal(db, Sender(terminal_id=terminals[sn], serial_number=sn)).install]
    for sn in offered:
        at = utcnow()
        reports = [ReportIn(report_id=f"{sn}-{step.value}", campaign_id=campaign_id, step=step, at=at)
                   for step in (Step.DOWNLOADING, Step.DOWNLOADED, Step.INSTALLING, Step.INSTALLED)]
        upgrades.record_reports(db, Sender(terminal_id=terminals[sn], serial_number=sn), ReportsIn(reports=reports))
    beats = []
    for index, sn in enumerate(terminals):
        at = utcnow()
        beats.append(Message.parse("http", json.dumps({
            "v": 1, "sn": sn, "seq": index + 1, "ts": at.isoformat(),
            "software": {"app": "3.3.0" if sn in offered else "3.2.1", "firmware": "PayDroid8.1"},
            "last_signin": {"at": at.isoformat(), "ok": sn not in offered}}).encode()))
    telemetry.record_batch(db, beats)
    return offered


def test_one_run_of_the_gate_halts_a_campaign_whose_canary_cannot_sign_in(cli_db: Database, tmp_path: Path) -> None:
    idle = runner.invoke(app, ["upgrades", "gate", "run"])
    assert idle.exit_code == 0 and "nothing to do" in idle.output
    package_id = _registered(tmp_path)
    assert _campaign("create", package_id, "--waves", "50,100", "--window", "00:00-00:00").exit_code == 0
    assert runner.invoke(app, ["upgrades", "campaigns", "approve", "1", "--as", "li"]).exit_code == 0
    waiting = json.loads(runner.invoke(app, ["upgrades", "gate", "run", "--json"]).stdout)
    assert waiting == {"started": [], "advanced": [], "halted": [], "completed": [], "expired": []}, \
        "nothing installed yet: the gate waits"
    canary = _installed_and_failing(cli_db, 1)
    assert len(canary) == 10
    halted = runner.invoke(app, ["upgrades", "gate", "run"])
    assert halted.exit_code == 0 and "halted #1" in halted.output
    shown = _text(runner.invoke(app, ["upgrades", "campaigns", "show", "1"]).output)
    assert "halted on sign_in_failure: 100.0% against 0.0% in control" in shown and "may: rollback" in shown

    no_previous = runner.invoke(app, ["upgrades", "campaigns", "rollback", "1", "--as", "li"])
    assert no_previous.exit_code == 2 and "register it first" in _text(no_previous.output)
    previous, _ = _package(tmp_path, "3.2.1")
    assert _add(previous, "3.2.1").exit_code == 0
    rollback = runner.invoke(app, ["upgrades", "campaigns", "rollback", "1", "--as", "li"])
    assert rollback.exit_code == 0 and "rolls 10 terminal(s) of campaign #1 back to 3.2.1" in _text(rollback.output)
    assert "rolled back by campaign #2" in _text(runner.invoke(app, ["upgrades", "campaigns", "show", "1"]).output)
