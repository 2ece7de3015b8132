"""Periodic jobs of the workers, each run once per time slot however many workers there are.

Every worker ticks through the same jobs. For each job's current slot (the minute, the hour,
the UTC day) a worker claims the run by inserting ``(job, slot)`` into ``scheduled_runs``:
the unique constraint lets exactly one insert succeed, on SQLite and PostgreSQL alike. A claim
whose worker died before finishing is taken over once its lease has passed, by a conditional
UPDATE that again only one worker can win.

This is the plumbing only: each feature lists its jobs in its ``jobs.py``; ``posops.worker`` runs them all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from posops.core.db import Database, insert_for
from posops.core.models import ScheduledRun

log = logging.getLogger(__name__)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Job:
    """A periodic job: what to run, how often, and how long a claim holds before another worker may take it."""

    name: str
    every: timedelta
    lease: timedelta
    run: Callable[[Database, datetime], str]
    """Does the work for the slot starting at the given time; returns a short summary."""


def slot_start(every: timedelta, now: datetime) -> datetime:
    """The start of the slot of length ``every`` that ``now`` falls in (slots aligned on the Unix epoch, UTC)."""
    return EPOCH + (now - EPOCH) // every * every


def slot_name(every: timedelta, now: datetime) -> str:
    """The slot as stored: ``2025-03-01`` for daily jobs, ``2025-03-01T09:30`` for shorter ones."""
    start = slot_start(every, now)
    if every % timedelta(days=1) == timedelta(0):
        return start.date().isoformat()
    return start.strftime("%Y-%m-%dT%H:%M:%S" if every % timedelta(minutes=1) else "%Y-%m-%dT%H:%M")


def claim(db: Database, job: str, slot: str, worker_id: str, now: datetime, lease: timedelta) -> int | None:
    """Claim the run of ``job`` for ``slot``; returns its id, or None when another worker has it."""
    with db.transaction() as session:
        run_id = session.execute(
            insert_for(session, ScheduledRun).values(job=job, slot=slot, claimed_by=worker_id, claimed_at=now)
            .on_conflict_do_nothing(index_elements=["job", "slot"]).returning(ScheduledRun.id)).scalar()
        if run_id is not None:
            return int(run_id)
        # A claim left unfinished past its lease belongs to a worker that died: take it over.
        taken = session.execute(
            update(ScheduledRun).where(ScheduledRun.job == job, ScheduledRun.slot == slot,
                                       ScheduledRun.finished_at.is_(None), ScheduledRun.claimed_at < now - lease)
            .values(claimed_by=worker_id, claimed_at=now).returning(ScheduledRun.id)).scalar()
        return int(taken) if taken is not None else None


def finish(db: Database, run_id: int, result: str, now: datetime) -> None:
    """Mark a claimed run done, with a short summary."""
    with db.transaction() as session:
        session.execute(update(ScheduledRun).where(ScheduledRun.id == run_id)
                        .values(finished_at=now, result=result[:255]))


def record_manual_run(db: Database, job: str, actor: str, now: datetime, result: str) -> None:
    """Record a run started by hand (``posops telemetry scan``) so it counts as the job's latest run."""
    with db.transaction() as session:
        session.add(ScheduledRun(job=job, slot=f"m{now:%Y%m%dT%H%M%S%f}", claimed_by=actor[:128], claimed_at=now,
                                 finished_at=now, result=result[:255]))


def last_finished(db: Database, job: str) -> datetime | None:
    """When the job last finished a run, if ever."""
    with db.transaction() as session:
        return session.scalar(select(ScheduledRun.finished_at).where(
            ScheduledRun.job == job, ScheduledRun.finished_at.is_not(None))
            .order_by(ScheduledRun.finished_at.desc()).limit(1))


@dataclass
class Scheduler:
    """Runs the due jobs of one worker; call :meth:`tick` every few seconds."""

    db: Database
    worker_id: str
    jobs: Sequence[Job]
    _next_try: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    """Per job: the slot last tried and when to try it again (after a claim was refused)."""

    def tick(self, now: datetime) -> list[tuple[str, str]]:
        """Claim and run every job whose slot this worker has not settled; returns (job, summary) of those run."""
        done = []
        for job in self.jobs:
            slot = slot_name(job.every, now)
            tried = self._next_try.get(job.name)
            if tried is not None and tried[0] == slot and now < tried[1]:
                continue
            try:
                run_id = claim(self.db, job.name, slot, self.worker_id, now, job.lease)
                if run_id is None:
                    self._next_try[job.name] = (slot, now + job.lease)
                    continue
                self._next_try[job.name] = (slot, datetime.max.replace(tzinfo=UTC))
                summary = job.run(self.db, now)
                finish(self.db, run_id, summary, now)
            except Exception:
                # The database is down or the job failed: try the slot again later (the claim's lease
                # lets this or another worker take it over).
                log.exception("scheduled job %s for %s failed", job.name, slot)
                self._next_try[job.name] = (slot, now + min(job.lease, timedelta(minutes=1)))
                continue
            log.info("%s %s: %s", job.name, slot, summary)
            done.append((job.name, summary))
        return done
