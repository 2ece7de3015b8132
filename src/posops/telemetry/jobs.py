"""Periodic jobs telemetry gives the worker: the outage scan every minute, history pruning every hour."""

from __future__ import annotations

from datetime import datetime, timedelta

from posops.core.db import Database
from posops.core.scheduler import Job
from posops.telemetry import service
from posops.telemetry.schemas import ScanOut

PRUNE_JOB = "telemetry_prune"


def scan_summary(result: ScanOut) -> str:
    """How a scan is recorded as a run of its job: ``groups=… open=… opened=… closed=…``."""
    return f"groups={result.groups} open={result.open} opened={len(result.opened)} closed={len(result.closed)}"


def scan(db: Database, now: datetime) -> str:
    """Run the outage scan for the slot starting at ``now``."""
    return scan_summary(service.scan_incidents(db, now))


def prune(db: Database, now: datetime) -> str:
    """Delete the history older than the retention period."""
    return f"removed={service.prune_history(db, now)}"


def periodic_jobs(scan_every: timedelta = timedelta(minutes=1)) -> list[Job]:
    """The outage scan (every ``scan_every``) and the hourly pruning."""
    return [Job(service.SCAN_JOB, scan_every, lease=max(scan_every * 5, timedelta(minutes=5)), run=scan),
            Job(PRUNE_JOB, timedelta(hours=1), lease=timedelta(minutes=30), run=prune)]
