"""The periodic jobs terminals gives the worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from posops.core.db import Database
from posops.core.scheduler import Scheduler
from posops.terminals.jobs import periodic_jobs
from posops.terminals.models import Terminal
from tests.conftest import Fleet

NOW = datetime(2025, 3, 1, 9, 30, 15, tzinfo=UTC)


def test_the_daily_dormancy_scan_suspends_once_across_workers(db: Database, fleet: Fleet) -> None:
    long_ago = NOW - timedelta(days=200)
    with db.transaction() as session:
        terminal = session.get(Terminal, fleet.terminals_a[0])
        assert terminal is not None
        terminal.activated_at, terminal.last_transaction_at = long_ago, long_ago
    jobs = [job for job in periodic_jobs() if job.name == "dormancy"]
    done = [Scheduler(db, f"worker-{n}", jobs).tick(NOW) for n in range(3)]
    assert sorted(map(len, done)) == [0, 0, 1]
    with db.transaction() as session:
        suspended = session.get(Terminal, fleet.terminals_a[0])
        assert suspended is not None and (suspended.status, suspended.status_reason) == ("suspended", "dormant")
