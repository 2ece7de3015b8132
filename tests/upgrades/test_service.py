"""Use cases of upgrades against a real database: packages, campaigns, the terminal's side, the gate."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import func, select

from posops.core.db import Database
from posops.core.documents import Upload
from posops.core.errors import Conflict, Forbidden, Invalid
from posops.core.models import AuditEvent, StoredDocument
from posops.telemetry.models import Incident
from posops.terminals.models import Merchant, MerchantNotice, Terminal
from posops.upgrades import service as upgrades
from posops.upgrades.models import Package, Target
from posops.upgrades.schemas import CampaignStatus, CompatibilityIn, HaltIn, PackageIn, PackageKind, ReportIn, ReportsIn
from posops.upgrades.steps import FailureCode, Step, TargetState
from tests.conftest import Fleet
from tests.helpers import add_colleague
from tests.upgrades.world import MODEL, NIGHT, World, add_package, beat, build_world, campaign, hours, install, started


@pytest.fixture
def world(db: Database, fleet: Fleet, request: pytest.FixtureRequest) -> World:
    checker = add_colleague(db, fleet, "agent", "checker")
    count = getattr(request, "param", 40)
    return build_world(db, fleet.users["agent"], fleet.users[checker], count=count)


@pytest.fixture
def var_dir(tmp_path: Path) -> Path:
    return tmp_path / "var"


def _targets(db: Database, campaign_id: int) -> dict[int, Target]:
    with db.transaction() as session:
        return {t.terminal_id: t for t in session.scalars(select(Target).where(Target.campaign_id == campaign_id))}


def _offered(db: Database, campaign_id: int) -> list[str]:
    with db.transaction() as session:
        return list(session.scalars(select(Terminal.serial_number).join(Target, Target.terminal_id == Terminal.id)
                                    .where(Target.campaign_id == campaign_id,
                                           Target.state == TargetState.OFFERED)))


# packages -------------------------------------------------------------------------------------------


def test_a_package_whose_file_does_not_match_its_checksum_is_refused_and_nothing_is_kept(
        world: World, var_dir: Path) -> None:
    content = b"a truncated download"
    data = PackageIn(kind=PackageKind.APP, model=MODEL, version="3.3.0", sha256="ab" * 32, size_bytes=len(content))
    with pytest.raises(Invalid) as refused:
        upgrades.register_package(world.db, world.maker, data, Upload("app.bin", "application/octet-stream",
                                                                      content), var_dir=var_dir)
    assert [p.field for p in refused.value.problems] == ["sha256"]
    assert "SHA-256" in refused.value.problems[0].reason.en
    with world.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Package)) == 0
        assert session.scalar(select(func.count()).select_from(StoredDocument)) == 0
    assert not [p for p in var_dir.rglob("*") if p.is_file()]


def test_a_verified_package_is_stored_with_its_file_and_audited(world: World, var_dir: Path) -> None:
    package_id = add_package(world, var_dir, "3.3.0", content=b"good bytes")
    path, document = upgrades.package_file(world.db, package_id, principal=world.maker)
    assert (var_dir / path).read_bytes() == b"good bytes"
    assert document.sha256 == hashlib.sha256(b"good bytes").hexdigest()
    with world.db.transaction() as session:
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == "upgrade_package"))
        assert list(actions) == ["register"]
    with pytest.raises(Conflict):
        add_package(world, var_dir, "3.3.0", content=b"good bytes")


# campaigns -----------------------------------------------------------------------------------------


def test_the_preview_shows_the_waves_the_campaign_then_runs(world: World, var_dir: Path) -> None:
    package_id = add_package(world, var_dir, "3.3.0")
    plan = campaign(world, package_id, waves=(10, 50, 100))
    preview = upgrades.preview_campaign(world.db, world.maker, plan)
    assert [w.terminals for w in preview.waves] == [4, 16, 20]
    created = upgrades.create_campaign(world.db, world.maker, plan)
    targets = _targets(world.db, created.id)
    with world.db.transaction() as session:
        serials = {row.id: row.serial_number for row in session.execute(select(Terminal.id, Terminal.serial_number))}
    canary = sorted(serials[t.terminal_id] for t in targets.values() if t.wave == 0)
    assert canary[:5] == preview.waves[0].sample[:len(canary[:5])]
    assert created.status is CampaignStatus.AWAITING_APPROVAL


def test_terminals_already_on_the_version_or_incompatible_are_left_out(world: World, var_dir: Path) -> None:
    package_id = add_package(world, var_dir, "3.3.0")
    first = world.terminals["UPG00000"]
    with world.db.transaction() as session:
        terminal = session.get(Terminal, first)
        assert terminal is not None
        terminal.app_version = "3.3.0"
        other = session.get(Terminal, world.terminals["UPG00001"])
        assert other is not None
        other.firmware_version = "PayDroid 7.0"
    upgrades.set_compatibility(world.db, world.maker, CompatibilityIn(model=MODEL, firmware="PayDroid 7.0",
                                                                      app="3.3.0", compatible=False))
    preview = upgrades.preview_campaign(world.db, world.maker, campaign(world, package_id))
    assert preview.excluded == {"already_on_version": 1, "incompatible": 1}
    assert preview.targets == 38


def test_filters_select_by_tag_and_current_version(world: World, var_dir: Path) -> None:
    package_id = add_package(world, var_dir, "3.3.0")
    plan = campaign(world, package_id).model_copy(update={"filter": campaign(world, package_id).filter.model_copy(
        update={"tags": ["pilot"], "current_versions": ["3.2.1"]})})
    assert upgrades.preview_campaign(world.db, world.maker, plan).targets == 10


def test_the_creator_may_not_approve_their_own_campaign(world: World, var_dir: Path) -> None:
    package_id = add_package(world, var_dir, "3.3.0")
    created = upgrades.create_campaign(world.db, world.maker, campaign(world, package_id))
    with pytest.raises(Forbidden) as refused:
        upgrades.approve_campaign(world.db, world.maker, created.id)
    assert refused.value.code == "upgrades.error.second_person"
    approved = upgrades.approve_campaign(world.db, world.checker, created.id)
    assert approved.status is CampaignStatus.RUNNING
    assert approved.approved_by == world.checker.username
    assert len(_offered(world.db, created.id)) == 4  # the 10 % canary of 40


def test_a_cancelled_campaign_offers_nothing_more(world: World, var_dir: Path) -> None:
    campaign_id = started(world, add_package(world, var_dir, "3.3.0"))
    upgrades.cancel_campaign(world.db, world.maker, campaign_id, HaltIn(reason="wrong package"))
    assert _offered(world.db, campaign_id) == []
    with pytest.raises(Conflict):
        upgrades.approve_campaign(world.db, world.checker, campaign_id)


# the terminal's side ------------------------------------------------------------------------------------


def test_a_terminal_is_told_to_wait_outside_the_window_and_to_install_inside_it(world: World, var_dir: Path) -> None:
    campaign_id = started(world, add_package(world, var_dir, "3.3.0"))
    sn = _offered(world.db, campaign_id)[0]
    at_noon = NIGHT + hours(10)  # 12:00 in Shanghai: the shop is open
    waiting = upgrades.next_for_terminal(world.db, world.sender(sn), now=at_noon)
    assert not waiting.install and waiting.reason == "outside_window"
    assert waiting.not_before is not None and waiting.not_before > at_noon
    offer = upgrades.next_for_terminal(world.db, world.sender(sn), now=NIGHT)
    assert offer.install and offer.version == "3.3.0" and offer.campaign_id == campaign_id
    assert offer.sha256 == hashlib.sha256(b"posops test package 3.3.0").hexdigest()


def test_the_shops_opening_hours_keep_installs_out_even_inside_the_window(world: World, var_dir: Path) -> None:
    with world.db.transaction() as session:
        merchant = session.get(Merchant, world.merchant_id)
        assert merchant is not None
        merchant.opens_at, merchant.closes_at = "00:00", "23:59"  # a shop open round the clock
    campaign_id = started(world, add_package(world, var_dir, "3.3.0"))
    sn = _offered(world.db, campaign_id)[0]
    assert not upgrades.next_for_terminal(world.db, world.sender(sn), now=NIGHT).install


def test_wifi_only_campaigns_wait_for_wifi(world: World, var_dir: Path) -> None:
    campaign_id = started(world, add_package(world, var_dir, "3.3.0"), waves=(100,), wifi_only=True)
    answers = {sn: upgrades.next_for_terminal(world.db, world.sender(sn), now=NIGHT) for sn in world.terminals}
    on_4g = [sn for sn in world.terminals if int(sn[3:]) % 2 == 0]
    assert all(answers[sn].reason == "wifi_only" for sn in on_4g)
    assert all(answers[sn].install for sn in world.terminals if sn not in on_4g)
    assert campaign_id


def test_reports_are_idempotent_and_an_install_updates_the_terminal(world: World, var_dir: Path) -> None:
    campaign_id = started(world, add_package(world, var_dir, "3.3.0"))
    sn = _offered(world.db, campaign_id)[0]
    install(world, sn, campaign_id, NIGHT)
    again = ReportsIn(reports=[ReportIn(report_id=f"{sn}-{campaign_id}-installed", campaign_id=campaign_id,
                                        step=Step.INSTALLED, at=NIGHT)])
    result = upgrades.record_reports(world.db, world.sender(sn), again, now=NIGHT)
    assert result.results[0].duplicate
    with world.db.transaction() as session:
        terminal = session.get(Terminal, world.terminals[sn])
        assert terminal is not None and terminal.app_version == "3.3.0"
    assert _targets(world.db, campaign_id)[world.terminals[sn]].state == TargetState.INSTALLED


def _fail(world: World, sn: str, campaign_id: int, code: FailureCode, attempt: int) -> TargetState:
    report = ReportIn(report_id=f"{sn}-fail-{attempt}", campaign_id=campaign_id, step=Step.FAILED, code=code,
                      at=NIGHT)
    return upgrades.record_reports(world.db, world.sender(sn), ReportsIn(reports=[report]), now=NIGHT).results[0].state


def test_transient_failures_are_retried_up_to_the_cap_and_permanent_ones_never(world: World, var_dir: Path) -> None:
    campaign_id = started(world, add_package(world, var_dir, "3.3.0"))
    flaky, mismatched = _offered(world.db, campaign_id)[:2]
    assert [_fail(world, flaky, campaign_id, FailureCode.DOWNLOAD_FAILED, n) for n in (1, 2, 3)] == [
        TargetState.OFFERED, TargetState.OFFERED, TargetState.FAILED]
    assert _fail(world, mismatched, campaign_id, FailureCode.MODEL_MISMATCH, 1) is TargetState.FAILED
    assert not upgrades.next_for_terminal(world.db, world.sender(mismatched), now=NIGHT).install


def test_a_report_for_a_campaign_the_terminal_is_not_in_is_refused(world: World, var_dir: Path) -> None:
    campaign_id = started(world, add_package(world, var_dir, "3.3.0"))
    outsider = next(sn for sn in world.terminals if sn not in _offered(world.db, campaign_id))
    report = ReportIn(report_id="x-1", campaign_id=campaign_id + 1, step=Step.DOWNLOADING, at=NIGHT)
    with pytest.raises(Invalid):
        upgrades.record_reports(world.db, world.sender(outsider), ReportsIn(reports=[report]), now=NIGHT)


# the gate --------------------------------------------------------------------------------------------


def _run_canary(world: World, campaign_id: int, version: str, *, failing_share: float) -> list[str]:
    """Install the canary at NIGHT, then three hours of heartbeats, the upgraded ones failing as asked."""
    canary = _offered(world.db, campaign_id)
    for sn in canary:
        install(world, sn, campaign_id, NIGHT)
    versions = dict.fromkeys(canary, version)
    failing = set(canary[:round(len(canary) * failing_share)])
    for step in range(1, 13):
        beat(world, NIGHT + hours(step / 4), versions, failing)
    return canary


def test_a_clean_wave_advances_after_its_soak_and_the_last_completes(world: World, var_dir: Path) -> None:
    campaign_id = started(world, add_package(world, var_dir, "3.3.0"), waves=(50, 100), soak_minutes=120)
    canary = _run_canary(world, campaign_id, "3.3.0", failing_share=0)
    early = upgrades.run_gate(world.db, now=NIGHT + hours(1))
    assert early.advanced == [] and early.halted == []  # clean, but not soaked yet
    assert upgrades.run_gate(world.db, now=NIGHT + hours(3)).advanced == [campaign_id]
    rest = _offered(world.db, campaign_id)
    assert set(rest).isdisjoint(canary) and len(rest) == 20
    for sn in rest:
        install(world, sn, campaign_id, NIGHT + hours(3))
    for step in range(13, 26):
        beat(world, NIGHT + hours(step / 4), dict.fromkeys(world.terminals, "3.3.0"))
    assert upgrades.run_gate(world.db, now=NIGHT + hours(6)).completed == [campaign_id]
    shown = upgrades.get_campaign(world.db, world.maker, campaign_id)
    assert shown.status is CampaignStatus.COMPLETED
    assert [w.verdict for w in shown.waves] == ["advance", "advance"]


@pytest.mark.parametrize("world", [120], indirect=True)
def test_a_version_that_breaks_sign_in_halts_the_canary_opens_an_incident_and_tells_the_merchant(
        world: World, fleet: Fleet, var_dir: Path) -> None:
    add_package(world, var_dir, "3.2.1")
    campaign_id = started(world, add_package(world, var_dir, "3.3.0"), waves=(25, 100))
    canary = _run_canary(world, campaign_id, "3.3.0", failing_share=0.3)
    run = upgrades.run_gate(world.db, now=NIGHT + hours(3))
    assert run.halted == [campaign_id]
    shown = upgrades.get_campaign(world.db, world.maker, campaign_id)
    assert shown.status is CampaignStatus.HALTED and shown.halted_on == "sign_in_failure"
    assert shown.actions == ["rollback"]
    assert _offered(world.db, campaign_id) == []
    with world.db.transaction() as session:
        incident = session.get(Incident, shown.incident_id)
        assert incident is not None and incident.dimension == "campaign" and incident.status == "open"
        notices = session.scalar(select(func.count()).select_from(MerchantNotice)
                                 .where(MerchantNotice.kind == "upgrade_halted"))
        assert notices == len(canary)

    rollback = upgrades.rollback_campaign(world.db, world.maker, campaign_id)
    assert rollback.status is CampaignStatus.RUNNING and rollback.package.version == "3.2.1"
    assert sorted(_offered(world.db, rollback.id)) == sorted(canary)
    for sn in canary:
        install(world, sn, rollback.id, NIGHT + hours(3.5))
    for step in range(15, 20):
        beat(world, NIGHT + hours(step / 4), {})
    assert upgrades.run_gate(world.db, now=NIGHT + hours(5)).completed == [rollback.id]
    with world.db.transaction() as session:
        assert session.get(Incident, shown.incident_id).status == "closed"  # type: ignore[union-attr]
    with pytest.raises(Conflict):
        upgrades.rollback_campaign(world.db, world.maker, campaign_id)


def test_noise_in_the_control_cohort_does_not_halt(world: World, var_dir: Path) -> None:
    campaign_id = started(world, add_package(world, var_dir, "3.3.0"), waves=(50, 100))
    canary = _run_canary(world, campaign_id, "3.3.0", failing_share=0)
    others = [sn for sn in world.terminals if sn not in canary]
    beat(world, NIGHT + hours(3.1), dict.fromkeys(canary, "3.3.0"), set(others[:1] + canary[:1]))
    run = upgrades.run_gate(world.db, now=NIGHT + hours(3.2))
    assert run.halted == [] and run.advanced == [campaign_id]


def test_an_expired_campaign_stops_offering(world: World, var_dir: Path) -> None:
    campaign_id = started(world, add_package(world, var_dir, "3.3.0"), expires_at=NIGHT + hours(2))
    assert upgrades.run_gate(world.db, now=NIGHT + hours(3)).expired == [campaign_id]
    assert _offered(world.db, campaign_id) == []

