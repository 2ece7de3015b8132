"""HeartbeatConsumer without a broker: batching, acknowledgement after commit, retries with backoff."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from sqlalchemy import select

from posops.core.db import Database, utcnow
from posops.telemetry.ingest import BatchWriter, message_of
from posops.telemetry.models import DeadLetter, HeartbeatRecord
from posops.telemetry.mqtt import Delivery, HeartbeatConsumer, MqttEndpoint, heartbeat_subscription, heartbeat_topic
from tests.conftest import Fleet
from tests.helpers import wait_until
from tests.telemetry.storage import healthy

ENDPOINT = MqttEndpoint("broker.invalid")


class FakeBroker:
    """One persistent session: keeps each message until it is acknowledged, resends it on every new connection."""

    def __init__(self) -> None:
        self.pending: dict[int, tuple[str, bytes]] = {}
        self.acked: list[int] = []
        self.clients: list[FakeClient] = []
        self.connected_at: list[float] = []
        self._mids = 0
        self._lock = threading.Lock()

    def client(self, endpoint: MqttEndpoint, client_id: str) -> FakeClient:
        """The consumer's client factory."""
        client = FakeClient(self)
        self.clients.append(client)
        return client

    @property
    def current(self) -> FakeClient | None:
        return self.clients[-1] if self.clients and self.clients[-1].subscribed else None

    def publish(self, topic: str, payload: bytes) -> int:
        with self._lock:
            self._mids += 1
            mid = self._mids
            self.pending[mid] = (topic, payload)
        client = self.current
        if client is not None:
            client.deliver(mid, topic, payload, dup=False)
        return mid

    def ack(self, mid: int) -> None:
        with self._lock:
            self.acked.append(mid)
            self.pending.pop(mid, None)

    def resend(self, client: FakeClient) -> None:
        with self._lock:
            waiting = sorted(self.pending.items())
        for mid, (topic, payload) in waiting:
            client.deliver(mid, topic, payload, dup=True)


class FakeClient:
    """The paho client methods the consumer calls; its "network thread" is whoever calls the broker."""

    def __init__(self, broker: FakeBroker) -> None:
        self.broker = broker
        self.subscribed = False
        self.unsubscribed = False
        self.disconnect_properties: Properties | None = None
        self.on_connect: Any = None
        self.on_disconnect: Any = None
        self.on_subscribe: Any = None
        self.on_message: Any = None

    def reconnect_delay_set(self, min_delay: int = 1, max_delay: int = 120) -> None:
        pass

    def connect_async(self, host: str, port: int = 1883, keepalive: int = 60, bind_address: str = "",
                      bind_port: int = 0, clean_start: bool = False, properties: Properties | None = None) -> None:
        assert clean_start is False, "the session must survive a reconnection"

    def loop_start(self) -> None:
        self.broker.connected_at.append(time.monotonic())
        self.on_connect(self, None, mqtt.ConnectFlags(session_present=True), ReasonCode(PacketTypes.CONNACK), None)

    def loop_stop(self) -> None:
        pass

    def subscribe(self, topic: str, qos: int = 0) -> None:
        self.subscribed = True
        self.on_subscribe(self, None, 1, [ReasonCode(PacketTypes.SUBACK, "Granted QoS 1")], None)
        self.broker.resend(self)

    def unsubscribe(self, topic: str) -> None:
        self.unsubscribed = True

    def ack(self, mid: int, qos: int) -> None:
        self.broker.ack(mid)

    def disconnect(self, reasoncode: ReasonCode | None = None, properties: Properties | None = None) -> None:
        self.subscribed = False
        self.disconnect_properties = properties

    def deliver(self, mid: int, topic: str, payload: bytes, *, dup: bool) -> None:
        if not self.subscribed:
            return
        message = mqtt.MQTTMessage(mid, topic.encode())
        message.payload, message.qos, message.dup = payload, 1, dup
        self.on_message(self, None, message)


class Handler:
    """A batch handler that records each batch and when it got it; fails its first ``fail_first`` calls."""

    def __init__(self, fail_first: int = 0, then: Callable[[Sequence[Delivery]], None] | None = None) -> None:
        self.batches: list[list[Delivery]] = []
        self.failed_at: list[float] = []
        self.handed_at: list[float] = []
        self.fail_first = fail_first
        self.then = then

    def __call__(self, batch: Sequence[Delivery]) -> None:
        self.handed_at.append(time.monotonic())
        if len(self.failed_at) < self.fail_first:
            self.failed_at.append(time.monotonic())
            raise ConnectionError("database unavailable")
        if self.then is not None:
            self.then(batch)
        self.batches.append(list(batch))



@contextmanager
def consuming(broker: FakeBroker, handler: Callable[[Sequence[Delivery]], None],
              **options: Any) -> Iterator[HeartbeatConsumer]:
    settings = {"batch_size": 50, "max_wait": 0.05, "retry_initial": 0.05} | options
    consumer = HeartbeatConsumer(ENDPOINT, handler, client_id="fake-worker", client_factory=broker.client,
                                 **settings).start()
    try:
        assert consumer.wait_ready(5), "the consumer did not subscribe"
        yield consumer
    finally:
        consumer.stop()


def topic(index: int) -> str:
    return heartbeat_topic(f"SN-{index:04d}")


def test_the_consumer_subscribes_to_the_shared_heartbeat_topic() -> None:
    broker = FakeBroker()
    with consuming(broker, Handler()) as consumer:
        assert consumer.subscription == heartbeat_subscription()
    assert len(broker.clients) == 1 and not broker.clients[0].unsubscribed


def test_a_batch_is_acknowledged_only_after_the_handler_returns() -> None:
    broker = FakeBroker()
    entered, release = threading.Event(), threading.Event()

    def slow(batch: Sequence[Delivery]) -> None:
        entered.set()
        assert release.wait(5)

    with consuming(broker, Handler(then=slow), batch_size=3, max_wait=5) as consumer:
        mids = [broker.publish(topic(i), b"{}") for i in range(3)]
        assert entered.wait(5)
        time.sleep(0.05)
        assert broker.acked == [] and consumer.acknowledged == 0, "nothing acknowledged while the batch is stored"
        release.set()
        assert wait_until(lambda: consumer.acknowledged == 3)
    assert broker.acked == mids and broker.pending == {}


def test_a_batch_the_handler_fails_is_not_acknowledged_and_comes_back_after_a_growing_pause() -> None:
    broker = FakeBroker()
    handler = Handler(fail_first=4)
    with consuming(broker, handler, batch_size=10, retry_initial=0.1, retry_max=0.3) as consumer:
        mids = [broker.publish(topic(i), b"{}") for i in range(5)]
        assert wait_until(lambda: consumer.acknowledged == 5)
    assert len(handler.failed_at) == 4 and broker.acked == mids
    assert len(broker.clients) == 5, "one new connection after each failure"
    pauses = [connected - failed for failed, connected in zip(handler.failed_at, broker.connected_at[1:], strict=True)]
    for pause, expected in zip(pauses, [0.1, 0.2, 0.3, 0.3], strict=True):
        assert pause >= expected * 0.95, f"backed off {pause:.3f} s, expected {expected} s"
    assert pauses[3] < 0.6, "the pause stops doubling at retry_max"
    assert [len(batch) for batch in handler.batches] == [5]
    assert all(d.dup for d in handler.batches[0]), "what came back is the broker's resend"


def test_batches_hold_at_most_batch_size_and_wait_at_most_max_wait() -> None:
    broker = FakeBroker()
    handler = Handler()
    with consuming(broker, handler, batch_size=10, max_wait=1.0) as consumer:
        for i in range(25):
            broker.publish(topic(i), b"{}")
        assert wait_until(lambda: consumer.acknowledged == 25)
    assert [len(batch) for batch in handler.batches] == [10, 10, 5]
    waited = [handed - batch[0].received_at for handed, batch in zip(handler.handed_at, handler.batches, strict=True)]
    assert waited[0] < 1.0 and waited[1] < 1.0, "a full batch goes at once"
    assert waited[2] >= 0.95, "a partial batch waits for max_wait"
    assert [d.payload for batch in handler.batches for d in batch] == [b"{}"] * 25


def test_a_message_that_cannot_be_prepared_still_reaches_the_handler() -> None:
    broker = FakeBroker()
    handler = Handler()
    with consuming(broker, handler, prepare=lambda d: 1 / 0 if d.payload == b"boom" else len(d.payload)) as consumer:
        broker.publish(topic(1), b"12345")
        broker.publish(topic(2), b"boom")
        assert wait_until(lambda: consumer.acknowledged == 2)
    assert [(d.payload, d.prepared) for batch in handler.batches for d in batch] == [(b"12345", 5), (b"boom", None)]


def test_leaving_for_good_acknowledges_everything_and_ends_the_session() -> None:
    broker = FakeBroker()
    handler = Handler()
    consumer = HeartbeatConsumer(ENDPOINT, handler, client_id="fake-worker", client_factory=broker.client,
                                 batch_size=100, max_wait=0.05).start()
    assert consumer.wait_ready(5)
    mids = [broker.publish(topic(i), b"{}") for i in range(4)]
    consumer.stop(end_session=True)
    assert broker.acked == mids and sum(map(len, handler.batches)) == 4
    client = broker.clients[-1]
    assert client.unsubscribed and client.disconnect_properties is not None
    assert client.disconnect_properties.SessionExpiryInterval == 0


def test_dead_letters_are_acknowledged_and_the_consumer_carries_on(db: Database, fleet: Fleet) -> None:
    broker = FakeBroker()
    writer = BatchWriter(db)
    now = utcnow()
    with consuming(broker, writer, batch_size=2, prepare=message_of) as consumer:
        broker.publish(heartbeat_topic("SN-TEST-0000"), b"not json")
        broker.publish(heartbeat_topic("GHOST-1"), json.dumps(healthy("GHOST-1", 1, now)).encode())
        assert wait_until(lambda: consumer.acknowledged == 2)
        broker.publish(heartbeat_topic("SN-TEST-0001"), json.dumps(healthy("SN-TEST-0001", 1, now)).encode())
        assert wait_until(lambda: consumer.acknowledged == 3)
    assert broker.pending == {} and len(broker.clients) == 1, "no retry, no reconnection"
    assert (writer.counters.stored, writer.counters.dead_lettered, writer.counters.retries) == (1, 2, 0)
    with db.transaction() as session:
        assert session.scalars(select(HeartbeatRecord.sn)).all() == ["SN-TEST-0001"]
        reasons = {sn: reason for sn, reason in session.execute(select(DeadLetter.sn, DeadLetter.reason))}
    assert reasons["SN-TEST-0000"].startswith("not valid JSON")
    assert reasons["GHOST-1"] == "unknown terminal serial number 'GHOST-1'"
