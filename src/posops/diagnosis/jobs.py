"""Periodic jobs diagnosis gives the worker: closing sessions nobody answers any more."""

from __future__ import annotations

from datetime import datetime, timedelta

from posops.core.db import Database
from posops.core.scheduler import Job
from posops.diagnosis import service

IDLE_JOB = "diagnosis_idle"


def close_idle_sessions(db: Database, now: datetime) -> str:
    """Close as abandoned the open diagnoses idle for POSOPS_DIAGNOSIS_IDLE_HOURS."""
    return f"abandoned={service.close_idle(db, now)}"


def periodic_jobs() -> list[Job]:
    """The idle-session scan, hourly."""
    return [Job(IDLE_JOB, timedelta(hours=1), lease=timedelta(minutes=20), run=close_idle_sessions)]
