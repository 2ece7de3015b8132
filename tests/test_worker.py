"""`posops worker` without a broker: the jobs every feature gives it, the scheduler loop, the command."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from typer.testing import CliRunner

from posops.cli import app
from posops.core.config import Settings
from posops.core.db import Database
from posops.core.scheduler import Job
from posops.worker import Worker, default_jobs


def test_the_worker_runs_every_features_jobs() -> None:
    jobs = {job.name: job for job in default_jobs(timedelta(seconds=30))}
    assert list(jobs) == ["incident_scan", "telemetry_prune", "dormancy", "diagnosis_idle", "tickets_sla_breaches",
                          "upgrades_gate"]
    assert (jobs["incident_scan"].every, jobs["incident_scan"].lease) == (timedelta(seconds=30), timedelta(minutes=5))
    assert (jobs["telemetry_prune"].every, jobs["dormancy"].every) == (timedelta(hours=1), timedelta(days=1))
    assert jobs["diagnosis_idle"].every == timedelta(hours=1)
    assert jobs["tickets_sla_breaches"].every == timedelta(minutes=5)
    assert jobs["upgrades_gate"].every == timedelta(minutes=5)


def test_with_a_broker_the_worker_also_pushes_upgrade_offers_after_the_gate(database_url: str) -> None:
    worker = Worker(Settings(database_url=database_url, mqtt_url="mqtt://127.0.0.1:1"), worker_id="pusher")
    names = [job.name for job in worker.scheduler.jobs]
    assert names[-2:] == ["upgrades_gate", "upgrades_push"], "a wave the gate opens is pushed in the same tick"
    assert worker.report_consumer is not None and worker.report_consumer.client_id == "pusher-upgrades"
    assert worker.report_consumer.subscription == "$share/posops/posops/v1/terminals/+/upgrade/report"
    push = next(job for job in worker.scheduler.jobs if job.name == "upgrades_push")
    assert push.every == timedelta(minutes=1)


def test_without_a_broker_the_worker_only_ticks_the_scheduler(database_url: str) -> None:
    ran = threading.Event()

    def work(_db: Database, _now: datetime) -> str:
        ran.set()
        return "ok"

    worker = Worker(Settings(database_url=database_url, mqtt_url=None), worker_id="solo", tick_s=0.05,
                    jobs=[Job("solo", timedelta(minutes=1), lease=timedelta(minutes=5), run=work)])
    assert worker.consumer is None
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        assert ran.wait(10), "the job did not run"
    finally:
        worker.stop()
        thread.join(10)
    assert not thread.is_alive()


def test_the_worker_command_is_registered() -> None:
    worker = CliRunner().invoke(app, ["worker", "--help"])
    assert worker.exit_code == 0 and "--id" in worker.output and "--batch-size" in worker.output
