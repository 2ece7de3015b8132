"""Periodic jobs the repairs feature gives the worker: flagging missed SLA deadlines."""

from __future__ import annotations

from datetime import datetime, timedelta

from posops.core.db import Database
from posops.core.scheduler import Job
from posops.tickets import service

BREACH_JOB = "tickets_sla_breaches"


def flag_breaches(db: Database, now: datetime) -> str:
    """Flag the open tickets whose response or resolution deadline has passed."""
    return f"flagged={service.flag_breaches(db, now)}"


def periodic_jobs() -> list[Job]:
    """The SLA breach scan, every five minutes."""
    return [Job(BREACH_JOB, timedelta(minutes=5), lease=timedelta(minutes=2), run=flag_breaches)]
