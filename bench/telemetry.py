"""Telemetry ingestion figures: the broker alone, then `posops worker` into PostgreSQL and SQLite, and the scan.

* ``broker`` — the baseline of ``bench/telemetry_broker.py``: a publisher and a plain paho
  subscriber counting the same payloads (QoS 1, no parsing, no database).
* ``worker`` — the full path: the publisher, Mosquitto, one ``posops worker`` (a real
  subprocess) storing each batch in one transaction, into a scratch PostgreSQL database and a
  scratch SQLite file. Heartbeats per second from the first publish to the last row committed,
  and the ratio to the broker alone (goal ≥ 0.5).
* ``two_workers`` — two workers in the shared subscription: every heartbeat stored once.
* ``kill9`` — a worker killed with SIGKILL mid-stream and restarted with the same client id:
  rows = distinct (sn, seq) published, nothing acknowledged lost.
* ``scan`` — the outage scan (:func:`posops.telemetry.service.scan_incidents`) over
  ``--fleet`` terminals' latest snapshots in a scratch PostgreSQL database filled with
  ``generate_series``.

Mosquitto keeps at most ``max_queued_messages`` (1000 by default) for a subscriber that lags,
and drops the rest; MQTT has no back-pressure from subscriber to publisher. So the publisher
keeps at most ``--window`` heartbeats ahead of what was received (the broker baseline) or
committed (the worker paths), as a terminal fleet of steady rate would.

    .venv/bin/python bench/telemetry.py
    .venv/bin/python bench/telemetry.py --messages 20000 --fleet 100000 --only worker

Scratch databases are created next to ``--pg-url`` and dropped afterwards. Prints one JSON
object per section, then a summary.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url
from telemetry_broker import DEFAULT_URL, make_payloads, publish_payloads, run_broker_baseline, window_throttle

from posops.core.db import Database, engine_for
from posops.core.migrate import upgrade
from posops.telemetry import service
from posops.telemetry.models import HeartbeatRecord
from posops.telemetry.simulator import generate_fleet
from posops.terminals.models import Merchant, Terminal

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgresql://postgres@127.0.0.1/postgres"
STOPPED = re.compile(r"stopped: batches=(\d+) received=(\d+) stored=(\d+) duplicates=(\d+) "
                     r"dead_lettered=(\d+) retries=(\d+)")


# -- scratch databases ----------------------------------------------------------------------------


@contextmanager
def scratch_postgres(base: str) -> Iterator[str]:
    """A new, migrated PostgreSQL database next to ``base``, dropped afterwards."""
    url = make_url(base).set(drivername="postgresql+psycopg")
    name = f"posops_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    scratch = url.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(scratch)
        yield scratch
    finally:
        engine_for(scratch).dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def scratch_sqlite() -> Iterator[str]:
    """A new, migrated SQLite file, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="posops-bench-") as folder:
        url = f"sqlite:///{folder}/bench.db"
        upgrade(url)
        yield url
        engine_for(url).dispose()


def register_fleet(url: str, terminals: int) -> None:
    """The simulated fleet (``SIM00000001`` …) as terminals of one merchant."""
    db = Database(url)
    with db.transaction() as session:
        merchant = Merchant(name="压测商户", legal_id="BENCH0000000001", region="上海")
        session.add(merchant)
        session.flush()
        session.execute(insert(Terminal), [
            {"serial_number": p.sn, "model": p.model, "vendor": p.model.split()[0], "tid": f"{i:08d}",
             "mid": f"{i:015d}", "merchant_id": merchant.id, "region": p.region, "carrier": p.carrier,
             "network_type": p.network, "app_version": p.app_version, "firmware_version": p.firmware,
             "status": "active"} for i, p in enumerate(generate_fleet(terminals), start=1)])


def stored_rows(url: str) -> int:
    """Heartbeats in the history table."""
    with Database(url).transaction() as session:
        return session.scalar(select(func.count()).select_from(HeartbeatRecord)) or 0


def distinct_rows(url: str) -> int:
    """Distinct (sn, seq) in the history table (equal to the rows: it is the key)."""
    with Database(url).transaction() as session:
        keys = select(HeartbeatRecord.sn, HeartbeatRecord.seq).distinct().subquery()
        return session.scalar(select(func.count()).select_from(keys)) or 0


# -- workers -------------------------------------------------------------------------------------------


class WorkerProcess:
    """`posops worker` as a subprocess of its own share group and topic root, logging to a file."""

    def __init__(self, database_url: str, mqtt_url: str, worker_id: str, root: str, group: str, log: Path,
                 batch_size: int = 500) -> None:
        self.log = log
        env = {**os.environ, "POSOPS_DATABASE_URL": database_url, "POSOPS_MQTT_URL": mqtt_url}
        self._out = log.open("a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "posops", "worker", "--id", worker_id, "--topic-root", root,
             "--share-group", group, "--no-jobs", "--batch-size", str(batch_size)],
            env=env, stdout=self._out, stderr=self._out, cwd=ROOT)

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait for the worker to log that it subscribed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "ready (subscribed" in self.log.read_text():
                return
            if self.process.poll() is not None:
                raise SystemExit(f"the worker exited: {self.log.read_text()[-2000:]}")
            time.sleep(0.05)
        raise SystemExit("the worker did not subscribe in time")

    def stop(self) -> dict[str, int]:
        """SIGTERM, wait, and return the counters of its last run from its log."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(30)
        self._out.close()
        found = STOPPED.findall(self.log.read_text())
        names = ("batches", "received", "stored", "duplicates", "dead_lettered", "retries")
        return dict(zip(names, map(int, found[-1]), strict=True)) if found else {}

    def kill(self) -> None:
        """SIGKILL: no chance to finish anything."""
        self.process.kill()
        self.process.wait(10)


def count_rows(url: str, every: float, rows: Synchronized[int], changed_at: Synchronized[float],
               stop: EventType) -> None:
    """Counter process: the committed rows every ``every`` seconds, and when that number last changed."""
    last = -1
    while not stop.wait(every):
        count = stored_rows(url)
        if count != last:
            last = count
            with changed_at.get_lock():
                rows.value, changed_at.value = count, time.monotonic()


class RowCounter:
    """Counts committed rows in a process of its own (off the publisher's GIL), for the throttle and the end."""

    def __init__(self, url: str, every: float = 0.05) -> None:
        context = mp.get_context("spawn")
        self.value = context.Value("q", 0)
        self.changed_at = context.Value("d", 0.0)
        self._stop = context.Event()
        self._process = context.Process(target=count_rows, args=(url, every, self.value, self.changed_at, self._stop))

    def __enter__(self) -> RowCounter:
        self._process.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._process.join(10)

    def wait_for(self, rows: int, timeout: float) -> float | None:
        """When (monotonic) the count first reached ``rows``, or None on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.changed_at.get_lock():
                if self.value.value >= rows:
                    return float(self.changed_at.value)
            time.sleep(0.01)
        return None


def _names() -> tuple[str, str]:
    token = uuid.uuid4().hex[:10]
    return f"bench-{token}/posops/v1", f"bench-{token}"


def run_worker_path(database_url: str, mqtt_url: str, payloads: Sequence[tuple[str, bytes]], *, workers: int,
                    window: int, logs: Path, kill_at: float | None = None, batch_size: int = 500) -> dict[str, Any]:
    """Publish the payloads through ``workers`` workers into the database; optionally SIGKILL one mid-stream.

    With ``kill_at`` (a fraction of the messages), the first worker is killed when that share
    is committed and restarted with the same client id a second later.
    """
    root, group = _names()
    ids = [f"{group}-w{n}" for n in range(workers)]
    procs = [WorkerProcess(database_url, mqtt_url, wid, root, group, logs / f"{wid}.log", batch_size)
             for wid in ids]
    for proc in procs:
        proc.wait_ready()
    counters: list[dict[str, int]] = []
    killed_after = None
    with RowCounter(database_url) as rows:
        throttle: Callable[[int], None] = window_throttle(rows.value, window)
        if kill_at is not None:
            target = int(len(payloads) * kill_at)

            def killer() -> None:
                nonlocal killed_after
                rows.wait_for(target, timeout=300)
                procs[0].kill()
                killed_after = rows.value.value
                time.sleep(1.0)
                procs[0] = WorkerProcess(database_url, mqtt_url, ids[0], root, group, logs / f"{ids[0]}.log",
                                         batch_size)

            threading.Thread(target=killer, daemon=True).start()
        published = publish_payloads(mqtt_url, payloads, root=root, throttle=throttle)
        done_at = rows.wait_for(len(payloads), timeout=120)
    counters = [proc.stop() for proc in procs]
    total = stored_rows(database_url)
    elapsed = (done_at or time.monotonic()) - published["started"]
    return {
        "workers": workers,
        "published": len(payloads),
        "acknowledged_by_broker": published["acknowledged"],
        "rows": total,
        "distinct_sn_seq": distinct_rows(database_url),
        "lost": len({(sn, json.loads(p)["seq"]) for sn, p in payloads}) - total,
        "msgs_per_s": round(total / elapsed) if done_at else None,
        "seconds": round(elapsed, 3),
        "worker_counters": counters,
        **({"killed_after_rows": killed_after} if kill_at is not None else {}),
    }


# -- the fleet scan ---------------------------------------------------------------------------------------


FILL_TERMINALS = """
INSERT INTO terminals (serial_number, model, vendor, tid, mid, merchant_id, region, carrier, app_version,
                       firmware_version, network_type, status, must_sign_in, created_at, updated_at)
SELECT 'BENCH' || lpad(g::text, 9, '0'),
       (ARRAY['PAX A920','Newland N910','Landi A8','Sunmi P2','Verifone X990'])[1 + g % 5],
       'bench', lpad(g::text, 8, '0'), lpad(g::text, 15, '0'), :merchant,
       (ARRAY['上海','北京','广州','深圳','杭州','成都','南京','武汉','西安','重庆'])[1 + (g / 5) % 10],
       (ARRAY['中国移动','中国联通','中国电信'])[1 + (g / 50) % 3],
       (ARRAY['3.1.4','3.2.0','3.2.1'])[1 + (g / 150) % 3], 'fw', '4g', 'active', false, now(), now()
  FROM generate_series(1, :count) AS g
"""
FILL_SNAPSHOTS = """
INSERT INTO telemetry_snapshots (terminal_id, sn, seq, ts, last_seen_at, app_version, failing, failure_reasons,
                                 payload)
SELECT t.id, t.serial_number, 1, now(), now() - random() * interval '9 minutes', t.app_version,
       random() < CASE WHEN t.region = '上海' AND t.carrier = '中国移动' THEN 0.6 ELSE 0.02 END, '', '{}'
  FROM terminals t
"""


def run_scan(base: str, fleet: int, repeats: int = 3) -> dict[str, Any]:
    """Fill a scratch database with ``fleet`` terminals and snapshots; time the outage scan."""
    with scratch_postgres(base) as url:
        engine = engine_for(url)
        started = time.monotonic()
        with engine.begin() as conn:
            merchant = conn.execute(text("INSERT INTO merchants (name, legal_id, contact_name, contact_phone, "
                                         "region, created_at, updated_at) VALUES ('压测商户', 'BENCH1', '', '', "
                                         "'上海', now(), now()) RETURNING id")).scalar_one()
            conn.execute(text(FILL_TERMINALS), {"merchant": merchant, "count": fleet})
            conn.execute(text(FILL_SNAPSHOTS))
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE terminals"))
            conn.execute(text("VACUUM ANALYZE telemetry_snapshots"))
        filled = time.monotonic() - started
        db = Database(url)
        timings, outcomes = [], []
        for _ in range(repeats):
            began = time.monotonic()
            result = service.scan_incidents(db, datetime.now(UTC))
            timings.append(time.monotonic() - began)
            outcomes.append({"groups": result.groups, "open": result.open, "opened": len(result.opened)})
        return {"terminals": fleet, "fill_seconds": round(filled, 1),
                "scan_seconds": [round(t, 3) for t in timings], "scans": outcomes}


# -- main ------------------------------------------------------------------------------------------------


SECTIONS = ("broker", "worker", "two_workers", "kill9", "scan")


def main(argv: Sequence[str] | None = None) -> None:
    """Run the sections, print each one's figures as JSON, then a summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mqtt-url", default=os.environ.get("POSOPS_MQTT_URL", DEFAULT_URL))
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="a PostgreSQL server to create scratch databases on")
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--terminals", type=int, default=1000)
    parser.add_argument("--window", type=int, default=1800, help="most heartbeats ahead of the receiving side")
    parser.add_argument("--fleet", type=int, default=1_000_000, help="terminals for the scan")
    parser.add_argument("--batch-size", type=int, default=500, help="the workers' --batch-size")
    parser.add_argument("--only", action="append", choices=SECTIONS, help="run only these sections (repeat)")
    args = parser.parse_args(argv)
    sections = args.only or list(SECTIONS)
    results: dict[str, Any] = {}
    payloads = make_payloads(args.messages, terminals=args.terminals)
    with tempfile.TemporaryDirectory(prefix="posops-bench-logs-") as folder:
        logs = Path(folder)
        if "broker" in sections:
            results["broker"] = run_broker_baseline(args.mqtt_url, messages=args.messages, terminals=args.terminals,
                                                    window=args.window)
            print(json.dumps(results["broker"]), flush=True)
        for section in ("worker", "two_workers", "kill9"):
            if section not in sections:
                continue
            kinds = ("postgresql", "sqlite") if section == "worker" else ("postgresql",)
            for kind in kinds:
                with (scratch_postgres(args.pg_url) if kind == "postgresql" else scratch_sqlite()) as url:
                    register_fleet(url, args.terminals)
                    figures = run_worker_path(url, args.mqtt_url, payloads, logs=logs, batch_size=args.batch_size,
                                              workers=2 if section == "two_workers" else 1,
                                              window=800 if section == "kill9" else args.window,
                                              kill_at=0.4 if section == "kill9" else None)
                figures = {"section": section, "database": kind, **figures}
                if "broker" in results and figures["msgs_per_s"]:
                    figures["ratio_to_broker"] = round(figures["msgs_per_s"] / results["broker"]["msgs_per_s"], 2)
                results[f"{section}_{kind}"] = figures
                print(json.dumps(figures, ensure_ascii=False), flush=True)
        if "scan" in sections:
            results["scan"] = {"section": "scan", **run_scan(args.pg_url, args.fleet)}
            print(json.dumps(results["scan"], ensure_ascii=False), flush=True)
    summary = {name: {k: v for k, v in r.items() if k in ("msgs_per_s", "ratio_to_broker", "lost", "rows",
                                                            "scan_seconds")} for name, r in results.items()}
    print(json.dumps({"summary": summary, "cpus": os.cpu_count()}, ensure_ascii=False))


if __name__ == "__main__":
    main()
