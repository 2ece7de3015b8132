"""Periodic jobs upgrades gives the worker: the health gate every five minutes, and the offers pushed over MQTT.

The gate (:func:`posops.upgrades.service.run_gate`) starts due campaigns and judges each running
campaign's open wave. The push, on a worker with a broker, retains on each terminal's upgrade topic
what ``GET /api/v1/upgrades/next`` would answer it now, for the terminals whose answer may have
changed since the push last finished (``service.offers_to_push``): so a terminal learns of its wave,
and of its maintenance window opening, without asking.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from posops.core import scheduler
from posops.core.db import Database
from posops.core.scheduler import Job
from posops.upgrades import service
from posops.upgrades.schemas import NextOut

GATE_JOB = "upgrades_gate"
PUSH_JOB = "upgrades_push"
PUSH_OVERLAP = timedelta(minutes=2)
"""Changes this long before the last push are pushed again: one committed while that push read is not lost."""
PUSH_WAIT_S = 60.0
"""How long a push waits for the broker to take its offers before the run counts as failed (and is retried)."""


class OfferSink(Protocol):
    """Where the push puts offers: :class:`posops.upgrades.mqtt.OfferPublisher`, or a test's fake."""

    def publish(self, sn: str, offer: NextOut | None) -> None:
        """Retain ``offer`` for terminal ``sn`` (None clears it)."""

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every offer published was taken; False on timeout."""


def gate(db: Database, now: datetime) -> str:
    """Run the health gate over the running campaigns."""
    run = service.run_gate(db, now)
    return (f"started={len(run.started)} advanced={len(run.advanced)} halted={len(run.halted)} "
            f"completed={len(run.completed)} expired={len(run.expired)}")


def push_offers(db: Database, now: datetime, sink: OfferSink, since: datetime | None = None) -> str:
    """Publish the offer of every terminal whose offer may have changed since ``since`` (None: every live one)."""
    offers = service.offers_to_push(db, now, since)
    for sn, offer in offers:
        sink.publish(sn, offer)
    if not sink.flush(PUSH_WAIT_S):
        raise ConnectionError(f"the MQTT broker did not take {len(offers)} offers within {PUSH_WAIT_S:g} s")
    cleared = sum(offer is None for _, offer in offers)
    installs = sum(offer is not None and offer.install for _, offer in offers)
    return f"offers={len(offers) - cleared} install_now={installs} cleared={cleared}"


def push_job(sink: OfferSink, every: timedelta = timedelta(minutes=1)) -> Job:
    """The push as a job: each run covers what changed since the last run that finished."""

    def run(db: Database, now: datetime) -> str:
        last = scheduler.last_finished(db, PUSH_JOB)
        return push_offers(db, now, sink, since=last - PUSH_OVERLAP if last is not None else None)

    return Job(PUSH_JOB, every, lease=timedelta(minutes=15), run=run)


def periodic_jobs(offers: OfferSink | None = None) -> list[Job]:
    """The gate, every five minutes; with a broker to push to, the push of offers every minute after it."""
    jobs = [Job(GATE_JOB, timedelta(minutes=5), lease=timedelta(minutes=10), run=gate)]
    if offers is not None:
        jobs.append(push_job(offers))
    return jobs
