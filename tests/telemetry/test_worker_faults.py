"""`posops worker` under faults (marked ``mqtt``): bad payloads, a stalled worker and a broker restart.

The test runs its own Mosquitto on a free port with persistence in a temp folder, so that it
may stop and restart it; the worker is a real ``posops worker`` process. The claim checked:
every heartbeat whose PUBACK the publisher got ends up in the database, the bad messages are
dead-lettered, and the one worker process lives through all of it.

Mosquitto 2.0 keeps a persistent session over its restart (the messages queued in it too) but
not the session's shared subscriptions: what terminals publish between the broker's restart and
the worker's subscribing again is acknowledged to them and delivered to no one. The worker
subscribes on every connection and logs it; the heartbeats after the restart are published once
it has.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import func, select

from posops.core.db import Database, utcnow
from posops.telemetry.heartbeat import MAX_PAYLOAD_BYTES
from posops.telemetry.models import DeadLetter, HeartbeatRecord
from posops.telemetry.mqtt import HeartbeatPublisher, MqttEndpoint
from tests.conftest import Fleet, missing_service
from tests.helpers import wait_until
from tests.telemetry.conftest import MqttNames
from tests.telemetry.storage import healthy

pytestmark = pytest.mark.mqtt
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
ROOT = Path(__file__).resolve().parents[2]
SERIALS = [f"SN-TEST-{i:04d}" for i in range(5)]
STOPPED = re.compile(r"stopped: batches=(\d+) received=(\d+) stored=(\d+) duplicates=(\d+) "
                     r"dead_lettered=(\d+) retries=(\d+)")



def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Broker:
    """A private Mosquitto on its own port, its sessions and queued messages persisted in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.config = folder / "mosquitto.conf"
        # Started as root, Mosquitto drops to its own user, which may not write into pytest's private temp
        # folders: no persistence file, and a restart forgets every session. Keep the caller's user.
        self.config.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\nuser {getpass.getuser()}\n"
                               f"persistence true\npersistence_location {folder}/\n"
                               f"log_dest file {folder}/mosquitto.log\n")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> MqttEndpoint:
        return MqttEndpoint("127.0.0.1", self.port)

    def start(self) -> None:
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        if not wait_until(self._answers, 20):
            self.stop()
            missing_service(f"a private mosquitto on port {self.port}")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        """SIGTERM: Mosquitto writes its persistence file (sessions, queued messages) and exits."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)
        self.process = None


class WorkerProcess:
    """`posops worker` in a subprocess of this test's share group, logging to a file."""

    def __init__(self, database_url: str, broker: Broker, names: MqttNames, log: Path) -> None:
        self.log = log
        env = {**os.environ, "POSOPS_DATABASE_URL": database_url,
               "POSOPS_MQTT_URL": f"mqtt://127.0.0.1:{broker.port}"}
        self._out = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "posops", "worker", "--id", names.client_id("worker"), "--topic-root",
             names.root, "--share-group", f"g-{names.token}", "--no-jobs", "--batch-size", "50", "--max-wait",
             "0.05"], env=env, stdout=self._out, stderr=subprocess.STDOUT, cwd=ROOT)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def logged(self, needle: str, times: int = 1) -> bool:
        return self.text().count(needle) >= times

    def stop(self) -> dict[str, int]:
        """SIGTERM, wait, and return the counters the worker logs on its way out."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(30)
        self._out.close()
        found = STOPPED.findall(self.text())
        names = ("batches", "received", "stored", "duplicates", "dead_lettered", "retries")
        return dict(zip(names, map(int, found[-1]), strict=True)) if found else {}


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    if not Path(MOSQUITTO).exists():
        missing_service("mosquitto (the broker binary)")
    folder = tmp_path / "broker"
    folder.mkdir()
    running = Broker(folder)
    running.start()
    yield running
    running.stop()


def publish(endpoint: MqttEndpoint, names: MqttNames, payloads: Sequence[tuple[str, bytes]]) -> int:
    """Publish at QoS 1 and wait for every PUBACK; returns how many the broker acknowledged."""
    with HeartbeatPublisher(endpoint, root=names.root, connect_timeout=20) as publisher:
        for sn, payload in payloads:
            publisher.publish_payload(sn, payload)
        assert publisher.flush(20)
        assert publisher.refused == 0
        return publisher.acknowledged


def heartbeats(seqs: range) -> list[tuple[str, bytes]]:
    now = utcnow()
    return [(sn, json.dumps(healthy(sn, seq, now)).encode()) for seq in seqs for sn in SERIALS]


def stored(db: Database) -> set[tuple[str, int]]:
    with db.transaction() as session:
        return {(sn, seq) for sn, seq in session.execute(select(HeartbeatRecord.sn, HeartbeatRecord.seq))}


def dead_letters(db: Database) -> dict[str | None, str]:
    with db.transaction() as session:
        return {d.sn: d.reason for d in session.scalars(select(DeadLetter))}


def keys(payloads: Sequence[tuple[str, bytes]]) -> set[tuple[str, int]]:
    return {(sn, json.loads(payload)["seq"]) for sn, payload in payloads}


def test_the_worker_survives_bad_payloads_a_stall_and_a_broker_restart_losing_no_acknowledged_heartbeat(
        broker: Broker, names: MqttNames, database_url: str, fleet: Fleet, tmp_path: Path) -> None:
    db = Database(database_url)
    worker = WorkerProcess(database_url, broker, names, tmp_path / "worker.log")
    subscribed = f"{names.client_id('worker')} subscribed to {names.subscription}"
    try:
        assert wait_until(lambda: worker.logged(subscribed), 60), worker.text()[-2000:]
        oversized = b'{"v": 1, "sn": "SN-TEST-0001", "pad": "' + b"x" * (1 << 20) + b'"}'
        bad = [(SERIALS[0], b'{"v": 1, "sn": "SN-TEST-0000", "seq": '), (SERIALS[1], oversized),
               ("GHOST-1", json.dumps(healthy("GHOST-1", 1, utcnow())).encode())]
        first = heartbeats(range(1, 5))
        assert publish(broker.endpoint, names, [*bad[:2], *first[:10], bad[2], *first[10:]]) == len(first) + 3
        assert wait_until(lambda: stored(db) == keys(first) and len(dead_letters(db)) == 3), worker.text()[-2000:]

        # The worker stalls (a long pause, a slow disk) while the broker acknowledges more heartbeats
        # to their terminals; then the broker restarts. Those heartbeats are in the worker's session only.
        worker.process.send_signal(signal.SIGSTOP)
        try:
            second = heartbeats(range(5, 9))
            assert publish(broker.endpoint, names, second) == len(second)
            broker.stop()
            broker.start()
        finally:
            worker.process.send_signal(signal.SIGCONT)
        assert wait_until(lambda: worker.logged(subscribed, 2), 90), worker.text()[-3000:]
        assert worker.logged("lost"), "the worker never saw the broker go away"
        assert worker.logged("session present: True"), "the broker lost the worker's session in the restart"
        assert wait_until(lambda: stored(db) == keys(first) | keys(second), 60), worker.text()[-3000:]
        third = heartbeats(range(9, 12))
        assert publish(broker.endpoint, names, third) == len(third)
        everything = keys(first) | keys(second) | keys(third)
        assert wait_until(lambda: stored(db) == everything, 60), worker.text()[-3000:]
        assert worker.process.poll() is None, "the worker process died"
    finally:
        counters = worker.stop()
    reasons = dead_letters(db)
    assert reasons[SERIALS[0]].startswith("not valid JSON")
    assert reasons[SERIALS[1]] == f"payload too large: {len(oversized)} bytes (limit {MAX_PAYLOAD_BYTES})"
    assert reasons["GHOST-1"] == "unknown terminal serial number 'GHOST-1'"
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(HeartbeatRecord)) == len(everything)
    assert counters["dead_lettered"] == 3 and counters["stored"] == len(everything), counters
