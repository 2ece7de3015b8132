"""What upgrade campaigns tell a diagnosis: the upgrade log, the version's cohort, and a halted release's repair."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from posops.core.auth import hash_password, hash_token
from posops.core.db import Database
from posops.core.models import ApiToken, User
from posops.diagnosis import service
from posops.diagnosis.engine import DiagnosisEngine, SessionState
from posops.terminals.models import Terminal
from posops.upgrades import service as upgrades
from posops.upgrades.models import Target
from posops.upgrades.schemas import CampaignStatus
from posops.upgrades.service import UpgradeFacts
from posops.upgrades.steps import FailureCode, TargetState
from tests.conftest import PASSWORD, Fleet
from tests.helpers import add_colleague, login
from tests.upgrades.world import NIGHT, World, add_package, beat, build_world, hours, install, started

AFTER_UPGRADE = "升级后不能用"
HALTED_EVIDENCE = {"version_cohort": "yes", "upgrade_log": "ok", "screen_notice": "signin_failed"}
"""A terminal of the halted release: the bad version made its sign-in fail, and the screen says so."""


# the engine: a recorded cause is repaired first ------------------------------------------------------


def test_a_recorded_release_defect_is_repaired_first_where_the_words_and_screen_point_elsewhere(
        engine: DiagnosisEngine) -> None:
    guessed = engine.assess(engine.start(AFTER_UPGRADE, evidence=HALTED_EVIDENCE))
    assert guessed.next_step is not None and guessed.next_step.id != "rollback_version"
    assert guessed.ranking[0][0] != "sw.upgrade_bug", "without the record, a sign-in failure reads as keys"
    state = engine.start(AFTER_UPGRADE, evidence=HALTED_EVIDENCE, recorded=["sw.upgrade_bug"])
    known = engine.assess(state)
    assert known.next_step is not None and known.next_step.id == "rollback_version"
    assert known.ranking[0][0] == "sw.upgrade_bug" and known.ranking[0][1] > 0.9
    signing_in = engine.assess(engine.start("签到失败", evidence=HALTED_EVIDENCE, recorded=["sw.upgrade_bug"]))
    assert signing_in.next_step is not None and signing_in.next_step.id == "rollback_version"


def test_a_recorded_cause_survives_storage_and_a_failed_repair_moves_on(engine: DiagnosisEngine) -> None:
    state = engine.start(AFTER_UPGRADE, evidence=HALTED_EVIDENCE, recorded=["sw.upgrade_bug"])
    stored = SessionState.from_dict(state.to_dict())
    assert stored.recorded == ("sw.upgrade_bug",) and stored == state
    after = engine.assess(engine.apply(stored, "rollback_version", "not_fixed"))
    assert after.next_step is not None and after.next_step.id != "rollback_version"
    older = {k: v for k, v in state.to_dict().items() if k != "recorded"}
    assert SessionState.from_dict(older).recorded == (), "a state stored before records were kept still loads"


def test_a_cause_outside_the_knowledge_is_a_callers_mistake(engine: DiagnosisEngine) -> None:
    with pytest.raises(ValueError, match=r"sw\.no_such_cause"):
        engine.start(AFTER_UPGRADE, recorded=["sw.no_such_cause"])


def test_no_record_changes_nothing(engine: DiagnosisEngine) -> None:
    plain = engine.start(AFTER_UPGRADE, evidence=HALTED_EVIDENCE)
    assert engine.assess(plain) == engine.assess(engine.start(AFTER_UPGRADE, evidence=HALTED_EVIDENCE, recorded=[]))


# the evidence of one campaign's facts ------------------------------------------------------------------


def facts(state: TargetState, code: FailureCode | None = None, *, status: CampaignStatus = CampaignStatus.RUNNING,
          halted_on: str | None = None) -> UpgradeFacts:
    return UpgradeFacts(campaign_id=5, campaign_status=status, version="3.3.0", from_version="3.2.1", state=state,
                        last_code=code, halted_on=halted_on, rollback_campaign_id=None)


ON_NEW = Terminal(app_version="3.3.0", firmware_version="PayDroid 8.1")
ON_OLD = Terminal(app_version="3.2.1", firmware_version="PayDroid 8.1")


@pytest.mark.parametrize(("known", "terminal", "expected"), [
    (None, ON_OLD, {}),
    (facts(TargetState.INSTALLED), ON_NEW, {"upgrade_log": "ok"}),
    (facts(TargetState.FAILED, FailureCode.CHECKSUM_FAILED), ON_OLD, {"upgrade_log": "failed_verify"}),
    (facts(TargetState.FAILED, FailureCode.SIGNATURE_INVALID), ON_OLD, {"upgrade_log": "failed_verify"}),
    (facts(TargetState.FAILED, FailureCode.INSTALL_FAILED), ON_OLD, {"upgrade_log": "incomplete"}),
    (facts(TargetState.OFFERED, FailureCode.DOWNLOAD_FAILED), ON_OLD, {"upgrade_log": "incomplete"}),
    (facts(TargetState.INSTALLING), ON_OLD, {"upgrade_log": "incomplete"}),
    (facts(TargetState.FAILED, FailureCode.OUT_OF_DATE), ON_OLD, {}),
    (facts(TargetState.OFFERED), ON_OLD, {}),
    (facts(TargetState.INSTALLED, status=CampaignStatus.HALTED, halted_on="sign_in_failure"), ON_NEW,
     {"upgrade_log": "ok", "version_cohort": "yes"}),
    (facts(TargetState.INSTALLED, status=CampaignStatus.HALTED, halted_on="restarts"), ON_NEW,
     {"upgrade_log": "ok", "version_cohort": "yes"}),
    (facts(TargetState.INSTALLED, status=CampaignStatus.HALTED, halted_on="manual"), ON_NEW, {"upgrade_log": "ok"}),
    (facts(TargetState.INSTALLED, status=CampaignStatus.HALTED, halted_on="sign_in_failure"), ON_OLD,
     {"upgrade_log": "ok"}),
    (facts(TargetState.CANCELLED, status=CampaignStatus.HALTED, halted_on="sign_in_failure"), ON_OLD, {}),
])
def test_a_campaigns_facts_as_check_outcomes(known: UpgradeFacts | None, terminal: Terminal,
                                             expected: dict[str, str]) -> None:
    assert service.upgrade_evidence(known, terminal) == expected
    assert service.runs_halted_release(known, terminal) is ("version_cohort" in expected)


# a halted campaign, end to end ---------------------------------------------------------------------------


def shop_user(db: Database, fleet: Fleet, merchant_id: int) -> str:
    """A merchant user of the upgrade test shop, with a token and the fleet's password."""
    with db.transaction() as session:
        user = User(username="shop", role="merchant", merchant_id=merchant_id, password_hash=hash_password(PASSWORD),
                    display_name="shop")
        session.add(user)
        session.flush()
        token = f"pos_test_shop_{uuid.uuid4().hex}"
        session.add(ApiToken(user_id=user.id, name="test", token_hash=hash_token(token), prefix=token[:8]))
    fleet.tokens["shop"] = token
    return "shop"


def target_states(world: World, campaign_id: int) -> dict[str, str]:
    with world.db.transaction() as session:
        states = dict(session.execute(select(Target.terminal_id, Target.state)
                                      .where(Target.campaign_id == campaign_id)).all())
    return {sn: states[terminal_id] for sn, terminal_id in world.terminals.items() if terminal_id in states}


@pytest.fixture
def halted(db: Database, fleet: Fleet, tmp_path: Path) -> tuple[World, int, list[str]]:
    """120 terminals; the canary (a quarter) installs 3.3.0 and 30 % of it fails sign-in: the gate halts."""
    checker = add_colleague(db, fleet, "agent", "checker")
    world = build_world(db, fleet.users["agent"], fleet.users[checker], count=120)
    add_package(world, tmp_path / "var", "3.2.1")
    campaign_id = started(world, add_package(world, tmp_path / "var", "3.3.0"), waves=(25, 100))
    canary = sorted(sn for sn, state in target_states(world, campaign_id).items() if state == TargetState.OFFERED)
    for sn in canary:
        install(world, sn, campaign_id, NIGHT)
    failing = set(canary[:9])
    for step in range(1, 13):
        beat(world, NIGHT + hours(step / 4), dict.fromkeys(canary, "3.3.0"), failing)
    assert upgrades.run_gate(world.db, now=NIGHT + hours(3)).halted == [campaign_id]
    return world, campaign_id, canary


def test_a_merchant_of_an_upgraded_terminal_goes_straight_to_the_halted_campaigns_repair(
        client: TestClient, fleet: Fleet, halted: tuple[World, int, list[str]]) -> None:
    world, campaign_id, canary = halted
    shop = shop_user(world.db, fleet, world.merchant_id)
    doc = client.post("/api/v1/diagnoses", json={"text": AFTER_UPGRADE, "terminal_id": canary[0]},
                      headers=fleet.headers(shop))
    assert doc.status_code == 201, doc.text
    body = doc.json()
    assert body["next_step"]["id"] == "rollback_version" and body["ranking"][0]["cause"] == "sw.upgrade_bug"
    assert body["waiting_for_desk"] is True, "a rollback is the desk's to start"
    upgrade = body["upgrade"]
    assert (upgrade["campaign_id"], upgrade["version"], upgrade["from_version"]) == (campaign_id, "3.3.0", "3.2.1")
    assert upgrade["halted_on"] == "sign_in_failure" and upgrade["rollback_campaign_id"] is None
    assert f"升级任务 #{campaign_id}" in upgrade["note"] and "3.2.1" in upgrade["note"]
    detail = client.get(f"/api/v1/diagnoses/{body['id']}", headers=fleet.headers("agent")).json()
    assert detail["fleet_evidence"]["upgrade_log"] == "ok" and detail["fleet_evidence"]["version_cohort"] == "yes"

    untouched = next(sn for sn, state in target_states(world, campaign_id).items() if sn not in canary)
    other = client.post("/api/v1/diagnoses", json={"text": AFTER_UPGRADE, "terminal_id": untouched},
                        headers=fleet.headers(shop)).json()
    assert other["upgrade"] is None, "never upgraded: the halted release is not its story"
    evidence = client.get(f"/api/v1/diagnoses/{other['id']}", headers=fleet.headers("agent")).json()
    assert "upgrade_log" not in evidence["fleet_evidence"]


def test_the_rollback_is_named_once_started_and_the_page_links_the_campaign_for_the_desk(
        client: TestClient, fleet: Fleet, halted: tuple[World, int, list[str]]) -> None:
    world, campaign_id, canary = halted
    rollback = upgrades.rollback_campaign(world.db, world.maker, campaign_id)
    doc = client.post("/api/v1/diagnoses", json={"text": AFTER_UPGRADE, "terminal_id": canary[1]},
                      headers=fleet.headers("agent")).json()
    assert doc["upgrade"]["rollback_campaign_id"] == rollback.id and f"#{rollback.id}" in doc["upgrade"]["note"]
    login(client, "agent", "en")
    page = client.get(f"/diagnoses/{doc['id']}").text
    card = page.split('data-testid="halted-upgrade"')[1].split("</section>")[0]
    assert f"sent by campaign #{campaign_id}" in card and f'href="/upgrades/campaigns/{campaign_id}"' in card
    assert f"Rollback campaign #{rollback.id} is under way" in card

    shop = shop_user(world.db, fleet, world.merchant_id)
    login(client, shop, "zh-CN")
    mine = client.post("/api/v1/diagnoses", json={"text": AFTER_UPGRADE, "terminal_id": canary[2]},
                       headers=fleet.headers(shop)).json()
    card = client.get(f"/diagnoses/{mine['id']}").text.split('data-testid="halted-upgrade"')[1].split("</section>")[0]
    assert "升级任务" in card and "/upgrades/campaigns/" not in card


def test_once_rolled_back_the_terminal_is_diagnosed_afresh(
        client: TestClient, fleet: Fleet, halted: tuple[World, int, list[str]]) -> None:
    world, campaign_id, canary = halted
    rollback = upgrades.rollback_campaign(world.db, world.maker, campaign_id)
    install(world, canary[0], rollback.id, NIGHT + hours(4))
    with world.db.transaction() as session:
        assert session.get(Terminal, world.terminals[canary[0]]).app_version == "3.2.1"  # type: ignore[union-attr]
    doc = client.post("/api/v1/diagnoses", json={"text": AFTER_UPGRADE, "terminal_id": canary[0]},
                      headers=fleet.headers("agent")).json()
    assert doc["upgrade"] is None
    detail = client.get(f"/api/v1/diagnoses/{doc['id']}", headers=fleet.headers("agent")).json()
    assert "version_cohort" not in detail["fleet_evidence"] or detail["fleet_evidence"]["version_cohort"] == "no"
