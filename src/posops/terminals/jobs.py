"""Periodic jobs terminals gives the worker: the daily dormancy scan."""

from __future__ import annotations

from datetime import datetime, timedelta

from posops.core.db import Database
from posops.core.scheduler import Job
from posops.terminals import service

DORMANCY_JOB = "dormancy"


def dormancy_scan(db: Database, now: datetime) -> str:
    """Suspend as dormant the active terminals without a transaction for POSOPS_DORMANCY_DAYS."""
    return f"suspended={len(service.suspend_dormant(db, now))}"


def periodic_jobs() -> list[Job]:
    """The dormancy scan, once every UTC day."""
    return [Job(DORMANCY_JOB, timedelta(days=1), lease=timedelta(hours=2), run=dormancy_scan)]
