"""Periodic jobs claimed per slot: one of N workers runs each, a dead worker's claim is taken over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from posops.core import scheduler
from posops.core.db import Database
from posops.core.models import ScheduledRun
from posops.core.scheduler import Job, Scheduler, claim, slot_name

NOW = datetime(2025, 3, 1, 9, 30, 15, tzinfo=UTC)


def test_slots_are_named_by_their_start() -> None:
    assert slot_name(timedelta(days=1), NOW) == "2025-03-01"
    assert slot_name(timedelta(hours=1), NOW) == "2025-03-01T09:00"
    assert slot_name(timedelta(minutes=1), NOW) == "2025-03-01T09:30"
    assert slot_name(timedelta(seconds=10), NOW) == "2025-03-01T09:30:10"
    assert slot_name(timedelta(minutes=1), NOW + timedelta(seconds=44)) == "2025-03-01T09:30"


def test_one_claim_per_job_and_slot(db: Database) -> None:
    first = claim(db, "scan", "2025-03-01T09:30", "worker-a", NOW, timedelta(minutes=5))
    assert first is not None
    assert claim(db, "scan", "2025-03-01T09:30", "worker-b", NOW, timedelta(minutes=5)) is None
    assert claim(db, "scan", "2025-03-01T09:31", "worker-b", NOW, timedelta(minutes=5)) is not None
    assert claim(db, "prune", "2025-03-01T09:30", "worker-b", NOW, timedelta(minutes=5)) is not None


def test_an_unfinished_claim_is_taken_over_after_its_lease(db: Database) -> None:
    lease = timedelta(minutes=5)
    run = claim(db, "dormancy", "2025-03-01", "worker-a", NOW, lease)
    assert claim(db, "dormancy", "2025-03-01", "worker-b", NOW + timedelta(minutes=4), lease) is None
    assert claim(db, "dormancy", "2025-03-01", "worker-b", NOW + timedelta(minutes=6), lease) == run
    assert claim(db, "dormancy", "2025-03-01", "worker-c", NOW + timedelta(minutes=7), lease) is None
    assert run is not None
    scheduler.finish(db, run, "done", NOW + timedelta(minutes=8))
    assert claim(db, "dormancy", "2025-03-01", "worker-c", NOW + timedelta(hours=5), lease) is None, "finished"
    assert scheduler.last_finished(db, "dormancy") == NOW + timedelta(minutes=8)


def test_two_workers_run_each_slot_once(db: Database) -> None:
    ran: list[tuple[str, datetime]] = []

    def work(name: str) -> Job:
        return Job("count", timedelta(minutes=1), lease=timedelta(minutes=5),
                   run=lambda _db, now: ran.append((name, now)) or "ok")

    a, b = Scheduler(db, "worker-a", [work("a")]), Scheduler(db, "worker-b", [work("b")])
    for second in range(0, 165, 5):  # 09:30:15 to 09:32:55
        now = NOW + timedelta(seconds=second)
        a.tick(now)
        b.tick(now)
    assert len(ran) == 3, "one run per minute whichever worker got there first"
    with db.transaction() as session:
        slots = list(session.scalars(select(ScheduledRun.slot).where(ScheduledRun.job == "count")
                                     .order_by(ScheduledRun.slot)))
    assert slots == ["2025-03-01T09:30", "2025-03-01T09:31", "2025-03-01T09:32"]


def test_a_failing_job_is_retried_by_another_worker_after_the_lease(db: Database) -> None:
    calls: list[str] = []

    def flaky(name: str) -> Job:
        def run(_db: Database, _now: datetime) -> str:
            calls.append(name)
            if name == "a":
                raise RuntimeError("database went away")
            return "ok"
        return Job("flaky", timedelta(days=1), lease=timedelta(minutes=10), run=run)

    a, b = Scheduler(db, "worker-a", [flaky("a")]), Scheduler(db, "worker-b", [flaky("b")])
    assert a.tick(NOW) == [] and b.tick(NOW) == []
    assert b.tick(NOW + timedelta(minutes=11)) == [("flaky", "ok")]
    assert calls == ["a", "b"]
    assert b.tick(NOW + timedelta(hours=3)) == [], "done for the day"
