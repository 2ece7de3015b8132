"""`posops worker`: one process that runs every feature's periodic jobs and consumes MQTT heartbeats.

Two loops: the heartbeat consumer (a background thread, see :mod:`posops.telemetry.ingest`)
stores each batch before acknowledging it, and so does the consumer of upgrade reports
(:mod:`posops.upgrades.mqtt`); the main loop ticks the
:class:`~posops.core.scheduler.Scheduler` through the jobs of :func:`default_jobs`, each
claimed so that one of N workers runs it. With a broker, the worker also pushes each
terminal's upgrade offer (the ``upgrades_push`` job).

A feature gives the worker jobs by defining ``periodic_jobs()`` in its ``jobs.py`` and adding
one line to :func:`default_jobs`.
"""

from __future__ import annotations

import gc
import logging
import signal
import socket
import threading
import time
from collections.abc import Sequence
from datetime import timedelta
from types import FrameType
from typing import Annotated

import typer

from posops.core.cli import fail, migrated_database
from posops.core.config import Settings, get_settings
from posops.core.db import Database, utcnow
from posops.core.scheduler import Job, Scheduler
from posops.diagnosis import jobs as diagnosis_jobs
from posops.telemetry import jobs as telemetry_jobs
from posops.telemetry.ingest import Counters, heartbeat_consumer
from posops.telemetry.mqtt import SHARE_GROUP, TOPIC_ROOT, HeartbeatConsumer, new_client, parse_mqtt_url
from posops.terminals import jobs as terminals_jobs
from posops.tickets import jobs as tickets_jobs
from posops.upgrades import jobs as upgrades_jobs
from posops.upgrades.mqtt import OfferPublisher, ReportCounters, ReportWriter, report_subscription

log = logging.getLogger("posops.worker")
STATS_EVERY_S = 60.0
GC_THRESHOLD = 20_000


def default_jobs(scan_every: timedelta = timedelta(minutes=1),
                 offers: upgrades_jobs.OfferSink | None = None) -> list[Job]:
    """Every feature's periodic jobs, in the order each tick runs them (the push of offers only with ``offers``)."""
    return [*telemetry_jobs.periodic_jobs(scan_every),
            *terminals_jobs.periodic_jobs(),
            *diagnosis_jobs.periodic_jobs(),
            *tickets_jobs.periodic_jobs(),
            *upgrades_jobs.periodic_jobs(offers)]


def default_worker_id(settings: Settings) -> str:
    """POSOPS_WORKER_ID, else ``posops-worker-<host>``: stable across restarts of this host's worker."""
    return settings.worker_id or f"posops-worker-{socket.gethostname()}"


class Worker:
    """A `posops worker` process: the MQTT consumers and publisher (when POSOPS_MQTT_URL is set) and the scheduler.

    ``session_expiry`` is how long (seconds) the broker keeps this worker's sessions, and the
    heartbeats and reports waiting in them, while the worker is away: a restart within it loses nothing.
    ``jobs`` None runs :func:`default_jobs` (with ``scan_every``).
    """

    def __init__(self, settings: Settings, *, worker_id: str, topic_root: str = TOPIC_ROOT,
                 share_group: str = SHARE_GROUP, batch_size: int = 500, max_wait: float = 0.2,
                 jobs: Sequence[Job] | None = None, tick_s: float = 5.0, session_expiry: int = 3600,
                 scan_every: timedelta = timedelta(minutes=1)) -> None:
        self.db = Database(settings.database_url)
        self.worker_id = worker_id
        self.counters = Counters()
        self.report_counters = ReportCounters()
        self.tick_s = tick_s
        self.stopping = threading.Event()
        self.consumer: HeartbeatConsumer | None = None
        self.report_consumer: HeartbeatConsumer | None = None
        self.offers: OfferPublisher | None = None
        if settings.mqtt_url:
            self.consumer = heartbeat_consumer(
                self.db, settings.mqtt_url, self.counters, client_id=worker_id, topic_root=topic_root,
                share_group=share_group, batch_size=batch_size, max_wait=max_wait, session_expiry=session_expiry)
            endpoint = parse_mqtt_url(settings.mqtt_url)
            # Reports are few (a handful per terminal and upgrade): small batches, their own session.
            self.report_consumer = HeartbeatConsumer(
                endpoint, ReportWriter(self.db, self.report_counters), client_id=f"{worker_id}-upgrades",
                subscription=report_subscription(share_group, topic_root), batch_size=min(batch_size, 50),
                max_wait=max_wait, session_expiry=session_expiry)
            self.offers = OfferPublisher(new_client(endpoint, f"{worker_id}-offers"), endpoint.host, endpoint.port,
                                         root=topic_root)
        self.scheduler = Scheduler(self.db, worker_id, default_jobs(scan_every, self.offers) if jobs is None else jobs)

    def run(self) -> None:
        """Consume and schedule until :meth:`stop`; on the way out, store and acknowledge what has arrived."""
        if self.consumer is not None:
            self.consumer.start()
        if self.report_consumer is not None:
            self.report_consumer.start()
        if self.offers is not None:
            self.offers.start()
        last_stats = next_tick = time.monotonic()
        ready = False
        try:
            while not self.stopping.is_set():
                if not ready and (self.consumer is None or self.consumer.wait_ready(0)):
                    ready = True
                    log.info("worker %s ready (%s)", self.worker_id,
                             f"subscribed to {self.consumer.subscription}" if self.consumer else "no MQTT broker")
                if time.monotonic() >= next_tick:
                    self.scheduler.tick(utcnow())
                    next_tick = time.monotonic() + self.tick_s
                if time.monotonic() - last_stats >= STATS_EVERY_S:
                    log.info("worker %s: %s; %s", self.worker_id, self.counters.summary(),
                             self.report_counters.summary())
                    last_stats = time.monotonic()
                self.stopping.wait(min(self.tick_s, 0.1 if not ready else 1.0))
        finally:
            for consumer in (self.consumer, self.report_consumer):
                if consumer is not None:
                    consumer.stop()
            if self.offers is not None:
                self.offers.close()
            log.info("worker %s stopped: %s; %s", self.worker_id, self.counters.summary(),
                     self.report_counters.summary())

    def stop(self, *_: object) -> None:
        """Ask the worker to stop (also a signal handler)."""
        self.stopping.set()


def worker_command(
    worker_id: Annotated[str | None, typer.Option(
        "--id", help="MQTT 客户端 ID,每个 worker 唯一且重启不变 / client id, unique and stable per worker "
                     "(default: POSOPS_WORKER_ID or posops-worker-<host>)")] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=5000, help="每批最多心跳数 / heartbeats per batch")] = 500,
    max_wait: Annotated[float, typer.Option(min=0, help="批次最长等待秒数 / seconds a batch waits to fill")] = 0.2,
    scan_every: Annotated[int, typer.Option(min=10, help="故障扫描间隔秒数 / seconds between outage scans")] = 60,
    no_jobs: Annotated[bool, typer.Option("--no-jobs", help="只消费心跳,不跑定时任务 / consume only")] = False,
    topic_root: Annotated[str, typer.Option(help="主题前缀 / topic root", hidden=True)] = TOPIC_ROOT,
    share_group: Annotated[str, typer.Option(help="共享订阅组 / shared subscription group",
                                             hidden=True)] = SHARE_GROUP,
    log_level: Annotated[str, typer.Option(help="日志级别 / debug, info, warning, error")] = "info",
) -> None:
    """消费 MQTT 心跳并运行定时任务 / Consume MQTT heartbeats into the database and run the periodic jobs."""
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    migrated_database()
    settings = get_settings()
    try:
        worker = Worker(settings, worker_id=worker_id or default_worker_id(settings), topic_root=topic_root,
                        share_group=share_group, batch_size=batch_size, max_wait=max_wait,
                        jobs=[] if no_jobs else None, scan_every=timedelta(seconds=scan_every))
    except ValueError as exc:  # a malformed POSOPS_MQTT_URL
        raise fail(str(exc)) from None

    def on_signal(signum: int, frame: FrameType | None) -> None:
        worker.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # Thousands of heartbeats in flight are thousands of short-lived objects: collect less often,
    # and never rescan what was loaded at start (modules, tables, the parser).
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 20, 20)
    worker.run()
