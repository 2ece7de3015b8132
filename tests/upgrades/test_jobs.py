"""The jobs upgrades gives the worker: the gate, and the push of each terminal's offer (a fake broker here)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from posops.core import scheduler
from posops.core.db import Database, utcnow
from posops.core.scheduler import Scheduler
from posops.terminals.models import Merchant
from posops.upgrades import jobs
from posops.upgrades import service as upgrades
from posops.upgrades.models import Target
from posops.upgrades.schemas import CampaignStatus, HaltIn, NextOut, ReportIn, ReportsIn
from posops.upgrades.steps import FailureCode, Step
from tests.conftest import Fleet
from tests.helpers import add_colleague
from tests.upgrades.world import NIGHT, World, add_package, beat, build_world, campaign, hours, install, started

DAY = NIGHT + hours(8)
"""10:00 in Shanghai: the shop is open, no install."""


class FakeBroker:
    """Keeps what was published, like retained messages: a terminal's latest offer, or none once cleared."""

    def __init__(self, *, takes: bool = True) -> None:
        self.published: list[tuple[str, NextOut | None]] = []
        self.takes = takes

    def publish(self, sn: str, offer: NextOut | None) -> None:
        self.published.append((sn, offer))

    def flush(self, timeout: float | None = None) -> bool:
        return self.takes

    @property
    def retained(self) -> dict[str, NextOut]:
        latest: dict[str, NextOut | None] = {}
        for sn, offer in self.published:
            latest[sn] = offer
        return {sn: offer for sn, offer in latest.items() if offer is not None}


@pytest.fixture
def world(db: Database, fleet: Fleet) -> World:
    checker = add_colleague(db, fleet, "agent", "checker")
    return build_world(db, fleet.users["agent"], fleet.users[checker], count=40)


@pytest.fixture
def package_id(world: World, tmp_path: Path) -> int:
    return add_package(world, tmp_path / "var", "3.3.0")


def wave(world: World, campaign_id: int, index: int) -> set[str]:
    with world.db.transaction() as session:
        ids = set(session.scalars(select(Target.terminal_id).where(Target.campaign_id == campaign_id,
                                                                   Target.wave == index)))
    return {sn for sn, terminal_id in world.terminals.items() if terminal_id in ids}


def push(world: World, now: datetime, since: datetime | None = None) -> FakeBroker:
    broker = FakeBroker()
    jobs.push_offers(world.db, now, broker, since=since)
    return broker


def test_the_gate_job_starts_a_campaign_when_its_start_time_comes(world: World, package_id: int) -> None:
    created = upgrades.create_campaign(world.db, world.maker, campaign(world, package_id, starts_at=NIGHT))
    upgrades.approve_campaign(world.db, world.checker, created.id, now=NIGHT - hours(12))
    assert jobs.gate(world.db, NIGHT - hours(1)) == "started=0 advanced=0 halted=0 completed=0 expired=0"
    assert jobs.gate(world.db, NIGHT) == "started=1 advanced=0 halted=0 completed=0 expired=0"
    assert upgrades.get_campaign(world.db, world.maker, created.id).status == CampaignStatus.RUNNING


def test_an_open_wave_is_pushed_to_its_terminals_with_what_next_would_answer(world: World, package_id: int) -> None:
    campaign_id = started(world, package_id)
    canary = wave(world, campaign_id, 0)
    broker = push(world, NIGHT + timedelta(minutes=1))
    assert set(broker.retained) == canary and len(broker.published) == len(canary) == 4
    sn = sorted(canary)[0]
    assert broker.retained[sn] == upgrades.next_for_terminal(world.db, world.sender(sn), NIGHT + timedelta(minutes=1))
    offer = broker.retained[sn]
    assert (offer.install, offer.campaign_id, offer.version, offer.force) == (True, campaign_id, "3.3.0", False)
    assert offer.download_path == f"/api/v1/upgrades/packages/{package_id}/file" and len(offer.sha256 or "") == 64


def test_while_the_shop_is_open_the_offer_says_when_and_is_pushed_again_when_the_window_opens(
        world: World, package_id: int) -> None:
    campaign_id = started(world, package_id)
    canary = wave(world, campaign_id, 0)
    by_day = push(world, DAY)
    assert set(by_day.retained) == canary
    assert {(o.install, o.reason, o.not_before) for o in by_day.retained.values()} == {
        (False, "outside_window", NIGHT - hours(1) + timedelta(days=1))}, "01:00 the next night"
    assert push(world, DAY + hours(1), since=DAY).published == [], "nothing changed"
    at_night = push(world, NIGHT + timedelta(days=1), since=DAY + hours(1))
    assert set(at_night.retained) == canary and all(o.install for o in at_night.retained.values())


def test_each_shops_own_time_zone_decides_when_its_window_opens(world: World, package_id: int) -> None:
    with world.db.transaction() as session:
        merchant = session.get(Merchant, world.merchant_id)
        assert merchant is not None
        merchant.time_zone = "Europe/Paris"  # 02:00 in Shanghai is 19:00 the evening before in Paris
    campaign_id = started(world, package_id)
    assert {o.install for o in push(world, NIGHT).retained.values()} == {False}
    paris = NIGHT.astimezone(ZoneInfo("Europe/Paris"))
    evening, night = paris.replace(hour=23), (paris + timedelta(days=1)).replace(hour=2)
    assert push(world, evening, since=NIGHT).published == []
    assert set(push(world, night, since=evening).retained) == wave(world, campaign_id, 0)


def test_an_install_that_ends_clears_the_offer_and_a_retried_failure_is_offered_again(
        world: World, package_id: int) -> None:
    campaign_id = started(world, package_id)
    done, retried, *_ = sorted(wave(world, campaign_id, 0))
    at = NIGHT + timedelta(minutes=10)
    install(world, done, campaign_id, at)
    failure = ReportIn(report_id=f"{retried}-1", campaign_id=campaign_id, step=Step.FAILED,
                       code=FailureCode.DOWNLOAD_FAILED, at=at)
    upgrades.record_reports(world.db, world.sender(retried), ReportsIn(reports=[failure]), now=at)
    broker = push(world, at + timedelta(minutes=1), since=at - timedelta(minutes=1))
    assert broker.published[0] == (done, None) and broker.retained == {retried: broker.retained[retried]}
    assert broker.retained[retried].install and broker.retained[retried].campaign_id == campaign_id


def test_a_paused_campaign_withdraws_its_offers_until_it_resumes_and_a_cancelled_one_for_good(
        world: World, package_id: int) -> None:
    campaign_id = started(world, package_id)
    canary = wave(world, campaign_id, 0)
    before = utcnow() - timedelta(seconds=1)
    upgrades.pause_campaign(world.db, world.maker, campaign_id, HaltIn(reason="vendor asked to wait"))
    paused = push(world, NIGHT + timedelta(minutes=5), since=before)
    assert {sn for sn, offer in paused.published if offer is None} == canary and paused.retained == {}
    before = utcnow() - timedelta(seconds=1)
    upgrades.resume_campaign(world.db, world.maker, campaign_id, HaltIn(reason="go on"))
    assert set(push(world, NIGHT + timedelta(minutes=6), since=before).retained) == canary
    before = utcnow() - timedelta(seconds=1)
    upgrades.cancel_campaign(world.db, world.maker, campaign_id, HaltIn(reason="wrong package"))
    cancelled = push(world, NIGHT + timedelta(minutes=7), since=before)
    assert {sn for sn, offer in cancelled.published if offer is None} >= canary and cancelled.retained == {}


def test_the_push_job_covers_what_changed_since_its_last_finished_run(world: World, package_id: int) -> None:
    campaign_id = started(world, package_id)
    broker = FakeBroker()
    worker = Scheduler(world.db, "w1", [jobs.push_job(broker)])
    assert worker.tick(NIGHT) == [("upgrades_push", "offers=4 install_now=4 cleared=0")]
    minutes = [NIGHT + timedelta(minutes=m) for m in range(10)]  # the overlap is two minutes
    again = worker.tick(minutes[3])
    assert again == [("upgrades_push", "offers=4 install_now=4 cleared=0")], "within the overlap: pushed again"
    assert worker.tick(minutes[6]) == [("upgrades_push", "offers=0 install_now=0 cleared=0")]
    sn = sorted(wave(world, campaign_id, 0))[0]
    install(world, sn, campaign_id, minutes[7])
    assert worker.tick(minutes[8]) == [("upgrades_push", "offers=0 install_now=0 cleared=1")]
    assert broker.published[-1] == (sn, None) and len(broker.published) == 9


def test_a_push_the_broker_does_not_take_is_run_again(world: World, package_id: int) -> None:
    started(world, package_id)
    broker = FakeBroker(takes=False)
    worker = Scheduler(world.db, "w1", [jobs.push_job(broker)])
    assert worker.tick(NIGHT) == [], "failed: not finished"
    assert scheduler.last_finished(world.db, jobs.PUSH_JOB) is None
    broker.takes = True
    assert worker.tick(NIGHT + timedelta(minutes=1)) == [("upgrades_push", "offers=4 install_now=4 cleared=0")]
    assert len(broker.published) == 8, "everything again: the first run never finished"


@pytest.mark.parametrize("count", [120])
def test_a_halt_by_the_gate_withdraws_the_offers_it_cancelled(db: Database, fleet: Fleet, tmp_path: Path,
                                                              count: int) -> None:
    checker = add_colleague(db, fleet, "agent", "checker")
    world = build_world(db, fleet.users["agent"], fleet.users[checker], count=count)
    campaign_id = started(world, add_package(world, tmp_path / "var", "3.3.0"), waves=(25, 100))
    canary = sorted(wave(world, campaign_id, 0))
    upgraded, waiting = canary[:24], canary[24:]
    for sn in upgraded:
        install(world, sn, campaign_id, NIGHT)
    for step in range(1, 13):
        beat(world, NIGHT + hours(step / 4), dict.fromkeys(upgraded, "3.3.0"), set(upgraded[:8]))
    assert jobs.gate(world.db, NIGHT + hours(3)).startswith("started=0 advanced=0 halted=1")
    broker = push(world, NIGHT + hours(3), since=NIGHT + hours(2))
    assert sorted(sn for sn, offer in broker.published if offer is None) == waiting and broker.retained == {}
