"""Upgrades over MQTT: topics and report parsing, then offers retained and reports consumed on the live broker."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import select

from posops.core.config import Settings
from posops.core.db import Database
from posops.telemetry.models import DeadLetter
from posops.telemetry.mqtt import MqttEndpoint, new_client
from posops.upgrades import jobs
from posops.upgrades.models import Report, Target
from posops.upgrades.mqtt import (
    MAX_REPORT_BYTES,
    OfferPublisher,
    ReportError,
    ReportWriter,
    offer_payload,
    offer_topic,
    parse_reports,
    report_subscription,
    report_topic,
    serial_from_report_topic,
)
from posops.upgrades.schemas import NextOut
from posops.upgrades.steps import TargetState
from posops.worker import Worker
from tests.conftest import Fleet
from tests.helpers import add_colleague, wait_until
from tests.telemetry import conftest as telemetry_fixtures
from tests.telemetry.conftest import MQTT_URL, MqttNames
from tests.upgrades.world import NIGHT, World, add_package, build_world, install, started

mqtt_endpoint = telemetry_fixtures.mqtt_endpoint
names = telemetry_fixtures.names
"""The broker and the per-test MQTT names of the telemetry tests."""

# -- without a broker ------------------------------------------------------------------------------


def test_topics() -> None:
    assert offer_topic("PAA920000001") == "posops/v1/terminals/PAA920000001/upgrade"
    assert report_topic("PAA920000001") == "posops/v1/terminals/PAA920000001/upgrade/report"
    assert report_subscription() == "$share/posops/posops/v1/terminals/+/upgrade/report"
    assert serial_from_report_topic("test-1/posops/v1/terminals/X9/upgrade/report") == "X9"
    for other in ("posops/v1/terminals/X9/upgrade", "posops/v1/terminals/X9/heartbeat",
                  "posops/v1/terminals//upgrade/report", "posops/v1/devices/X9/upgrade/report"):
        assert serial_from_report_topic(other) is None
    assert offer_payload(None) == b""
    offer = NextOut(install=True, campaign_id=3, version="3.3.0")
    assert NextOut.model_validate_json(offer_payload(offer)) == offer


def report(report_id: str, campaign_id: int, step: str, **extra: Any) -> dict[str, Any]:
    return {"report_id": report_id, "campaign_id": campaign_id, "step": step,
            "at": (NIGHT + timedelta(minutes=5)).isoformat(), **extra}


@pytest.mark.parametrize(("payload", "expected"), [
    (b"not json", "not valid JSON"),
    (b'{"report": []}', "reports: Field required"),
    (json.dumps({"reports": [report("r1", 1, "rebooting")]}).encode(), "reports.0.step: Input should be"),
    (json.dumps({"reports": [report("r1", 1, "failed")]}).encode(), "A failed step needs its failure code"),
    (json.dumps({"reports": [report("r1", 1, "installed", at="2026-01-01T01:00:00")]}).encode(),
     "Times must carry a time zone"),
    (b'{"reports": []}', "reports: List should have at least 1 item"),
])
def test_a_payload_that_is_not_reports_says_why(payload: bytes, expected: str) -> None:
    with pytest.raises(ReportError) as refused:
        parse_reports(payload)
    assert expected in refused.value.reason


def test_an_oversized_payload_is_refused_before_parsing() -> None:
    with pytest.raises(ReportError, match="payload too large"):
        parse_reports(b" " * (MAX_REPORT_BYTES + 1))


@dataclass(frozen=True)
class Arrived:
    """A delivery as the consumer hands it over (only what the writer reads)."""

    topic: str
    payload: bytes


@pytest.fixture
def world(db: Database, fleet: Fleet) -> World:
    checker = add_colleague(db, fleet, "agent", "checker")
    return build_world(db, fleet.users["agent"], fleet.users[checker], count=40)


@pytest.fixture
def campaign_id(world: World, tmp_path: Path) -> int:
    return started(world, add_package(world, tmp_path / "var", "3.3.0"))


def offered(world: World, campaign_id: int) -> list[str]:
    with world.db.transaction() as session:
        ids = set(session.scalars(select(Target.terminal_id).where(Target.campaign_id == campaign_id,
                                                                   Target.state == TargetState.OFFERED)))
    return sorted(sn for sn, terminal_id in world.terminals.items() if terminal_id in ids)


def state_of(world: World, campaign_id: int, sn: str) -> str:
    with world.db.transaction() as session:
        return session.scalars(select(Target.state).where(Target.campaign_id == campaign_id,
                                                          Target.terminal_id == world.terminals[sn])).one()


def dead_letters(db: Database) -> list[tuple[str | None, str]]:
    with db.transaction() as session:
        return [(d.sn, d.reason) for d in session.scalars(select(DeadLetter).order_by(DeadLetter.id))]


def test_the_writer_records_reports_once_and_dead_letters_what_can_never_be_stored(
        world: World, campaign_id: int) -> None:
    sn, other = offered(world, campaign_id)[:2]
    good = json.dumps({"reports": [report(f"{sn}-1", campaign_id, "downloading"),
                                   report(f"{sn}-2", campaign_id, "downloaded")]}).encode()
    elsewhere = json.dumps({"reports": [report(f"{other}-1", campaign_id + 1, "downloading")]}).encode()
    writer = ReportWriter(world.db)
    writer([Arrived(report_topic(sn), good), Arrived(report_topic(sn), good),
            Arrived(report_topic("NO-SUCH-SN"), good), Arrived(report_topic(other), elsewhere),
            Arrived(report_topic(sn), b"\x00garbage"), Arrived(offer_topic(sn), good)])
    assert state_of(world, campaign_id, sn) == TargetState.DOWNLOADED
    with world.db.transaction() as session:
        assert len(session.scalars(select(Report)).all()) == 2
    letters = dead_letters(world.db)
    assert [letter_sn for letter_sn, _ in letters] == ["NO-SUCH-SN", other, sn, None]
    assert letters[0][1] == "unknown terminal serial number 'NO-SUCH-SN'"
    assert f"not a target of campaign {campaign_id + 1}" in letters[1][1]
    assert letters[2][1] == "not valid JSON" and letters[3][1].startswith("not an upgrade report topic")
    counts = writer.counters
    assert (counts.received, counts.stored, counts.duplicates, counts.dead_lettered) == (6, 2, 2, 4)


def test_a_database_failure_leaves_the_batch_to_come_back(world: World, campaign_id: int,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    sn = offered(world, campaign_id)[0]
    writer = ReportWriter(world.db)

    def unavailable(*args: object, **kwargs: object) -> None:
        raise OSError("database unavailable")

    monkeypatch.setattr("posops.upgrades.service.record_reports", unavailable)
    body = json.dumps({"reports": [report(f"{sn}-1", campaign_id, "downloading")]}).encode()
    with pytest.raises(OSError):
        writer([Arrived(report_topic(sn), body)])
    assert writer.counters.retries == 1 and dead_letters(world.db) == []


# -- the live broker (marked mqtt) -------------------------------------------------------------------


class Terminal:
    """A terminal's MQTT client: subscribes to its offer topic and keeps what arrives, in order."""

    def __init__(self, endpoint: MqttEndpoint, names: MqttNames, sn: str) -> None:
        self.topic = offer_topic(sn, names.root)
        self.messages: queue.SimpleQueue[mqtt.MQTTMessage] = queue.SimpleQueue()
        self.subscribed = threading.Event()
        self.client = new_client(endpoint, names.client_id(f"terminal-{sn}"))
        self.client.on_connect = lambda client, *_: client.subscribe(self.topic, qos=1)
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = lambda _client, _userdata, message: self.messages.put(message)
        self.client.connect(endpoint.host, endpoint.port)
        self.client.loop_start()
        assert self.subscribed.wait(20), "the terminal did not subscribe"

    def next(self) -> mqtt.MQTTMessage:
        return self.messages.get(timeout=20)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@contextmanager
def publisher(endpoint: MqttEndpoint, names: MqttNames) -> Iterator[OfferPublisher]:
    offers = OfferPublisher(new_client(endpoint, names.client_id("offers")), endpoint.host, endpoint.port,
                            root=names.root)
    offers.start()
    try:
        assert offers.wait_connected(20), "the publisher did not connect"
        yield offers
    finally:
        offers.close()


@pytest.mark.mqtt
def test_an_offer_is_retained_for_a_terminal_that_connects_later_and_cleared_once_installed(
        mqtt_endpoint: MqttEndpoint, names: MqttNames, world: World, campaign_id: int) -> None:
    sn = offered(world, campaign_id)[0]
    topic = offer_topic(sn, names.root)
    with publisher(mqtt_endpoint, names) as offers:
        jobs.push_offers(world.db, NIGHT, offers)
        assert offers.acknowledged == len(offered(world, campaign_id)) and offers.refused == 0
        terminal = Terminal(mqtt_endpoint, names, sn)  # connects after the push
        try:
            message = terminal.next()
            assert (message.topic, message.retain, message.qos) == (topic, True, 1)
            offer = NextOut.model_validate_json(message.payload)
            assert (offer.install, offer.campaign_id, offer.version) == (True, campaign_id, "3.3.0")
        finally:
            terminal.close()

        install(world, sn, campaign_id, NIGHT + timedelta(minutes=1))
        jobs.push_offers(world.db, NIGHT + timedelta(minutes=2), offers, since=NIGHT + timedelta(seconds=30))
        marker = new_client(mqtt_endpoint, names.client_id("marker"))
        marker.connect(mqtt_endpoint.host, mqtt_endpoint.port)
        marker.loop_start()
        later = Terminal(mqtt_endpoint, names, sn)
        try:
            marker.publish(topic, b"marker", qos=1).wait_for_publish(20)
            assert later.next().payload == b"marker", "nothing retained before it: the offer was cleared"
        finally:
            later.close()
            marker.disconnect()
            marker.loop_stop()


@contextmanager
def running_worker(database_url: str, names: MqttNames) -> Iterator[Worker]:
    """A worker of this test's group in a thread, without periodic jobs."""
    worker = Worker(Settings(database_url=database_url, mqtt_url=MQTT_URL), worker_id=names.client_id("worker"),
                    topic_root=names.root, share_group=f"g-{names.token}", max_wait=0.05, jobs=[], tick_s=0.1,
                    session_expiry=60)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        assert worker.report_consumer is not None and worker.report_consumer.wait_ready(20), "not subscribed"
        yield worker
    finally:
        worker.stop()
        thread.join(15)


@pytest.mark.mqtt
def test_the_worker_records_reports_a_terminal_publishes_and_dead_letters_a_stranger(
        mqtt_endpoint: MqttEndpoint, names: MqttNames, database_url: str, world: World, campaign_id: int) -> None:
    sn = offered(world, campaign_id)[0]
    steps = ("downloading", "downloaded", "installing", "installed")
    body = json.dumps({"reports": [report(f"{sn}-{i}", campaign_id, step) for i, step in enumerate(steps)]})
    with running_worker(database_url, names) as worker:
        client = new_client(mqtt_endpoint, names.client_id(f"terminal-{sn}"))
        client.connect(mqtt_endpoint.host, mqtt_endpoint.port)
        client.loop_start()
        try:
            for topic, payload in [(report_topic(sn, names.root), body), (report_topic(sn, names.root), body),
                                   (report_topic("STRANGER", names.root), body)]:
                client.publish(topic, payload, qos=1).wait_for_publish(20)
        finally:
            client.disconnect()
            client.loop_stop()
        assert wait_until(lambda: worker.report_counters.received == 3)
        assert worker.report_consumer is not None and wait_until(lambda: worker.report_consumer.acknowledged == 3)
    assert state_of(world, campaign_id, sn) == TargetState.INSTALLED
    counts = worker.report_counters
    assert (counts.stored, counts.duplicates, counts.dead_lettered) == (4, 4, 1)
    assert dead_letters(world.db) == [("STRANGER", "unknown terminal serial number 'STRANGER'")]
