"""Telemetry baseline, the broker alone: heartbeats per second from one publisher to one subscriber.

A publisher sends simulated heartbeats at QoS 1 to ``…/terminals/{sn}/heartbeat``; a plain
paho subscriber (QoS 1, automatic acknowledgement, no parsing) in another process counts
them. Any ingestion path through the worker into a database can only be slower than this.

MQTT has no flow control from subscriber to publisher: the broker acknowledges the publisher,
and Mosquitto silently drops what no longer fits a slow subscriber's queue
(``max_queued_messages``, 1000 by default). So the publisher keeps at most ``--window``
messages ahead of what the subscriber has counted; ``--window 0`` publishes unthrottled and
shows the loss.

    .venv/bin/python bench/telemetry_broker.py --messages 50000 --terminals 1000
    POSOPS_MQTT_URL=mqtt://user:pass@broker:1883 .venv/bin/python bench/telemetry_broker.py

Prints one JSON object; the headline is ``msgs_per_s`` (first publish to last receipt).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event
from typing import Any

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from posops.telemetry.mqtt import HeartbeatPublisher, heartbeat_topic, new_client, parse_mqtt_url
from posops.telemetry.simulator import CHINA_TIME, Faults, generate_fleet, initial_state, next_heartbeat

DEFAULT_URL = "mqtt://127.0.0.1:1883"


def make_payloads(count: int, *, terminals: int = 1000, seed: int = 0) -> list[tuple[str, bytes]]:
    """``count`` encoded heartbeats, round the fleet of ``terminals``, as ``(sn, payload)`` pairs."""
    fleet = generate_fleet(terminals, seed=seed)
    rng = random.Random(seed)
    now = datetime.now(CHINA_TIME)
    states = [initial_state(p, start=now, rng=rng) for p in fleet]
    payloads = []
    for index in range(count):
        slot = index % terminals
        heartbeat, states[slot] = next_heartbeat(fleet[slot], states[slot], now=now, faults=Faults(), rng=rng)
        payloads.append((heartbeat.sn, heartbeat.to_json()))
    return payloads


def publish_payloads(url: str, payloads: Sequence[tuple[str, bytes]], *, root: str,
                     throttle: Callable[[int], None] | None = None) -> dict[str, float]:
    """Publish every payload at QoS 1 and wait for the broker's acknowledgements.

    ``throttle(sent)``, when given, is called before each message and may block until the
    receiving side has caught up.
    """
    with HeartbeatPublisher(parse_mqtt_url(url), root=root) as publisher:
        started = time.monotonic()
        for sent, (sn, payload) in enumerate(payloads):
            if throttle is not None:
                throttle(sent)
            publisher.publish_payload(sn, payload)
        publisher.flush(timeout=120)
        return {"started": started, "finished": time.monotonic(), "acknowledged": publisher.acknowledged}


def window_throttle(received: Synchronized[int], window: int) -> Callable[[int], None]:
    """A throttle that waits while more than ``window`` messages are published but not yet received."""
    def wait(sent: int) -> None:
        while sent - received.value >= window:
            time.sleep(0.0005)
    return wait


def count_messages(url: str, topic_filter: str, expected: int, idle: float, ready: Event,
                   progress: Synchronized[int], results: mp.Queue[dict[str, Any]]) -> None:
    """Subscriber process: count messages until ``expected`` arrive or none came for ``idle`` seconds."""
    endpoint = parse_mqtt_url(url)
    client = new_client(endpoint)
    received = 0
    first = last = 0.0

    def on_message(*_: Any) -> None:
        nonlocal received, first, last
        last = time.monotonic()
        if not received:
            first = last
        received += 1
        if received % 50 == 0:
            progress.value = received

    client.on_message = on_message
    client.on_subscribe = lambda *_: ready.set()
    client.on_connect = lambda c, *_: c.subscribe(topic_filter, qos=1)
    # Without a Receive Maximum, Mosquitto keeps only 20 messages in flight to a subscriber.
    properties = Properties(PacketTypes.CONNECT)
    properties.ReceiveMaximum = 65535
    client.connect(endpoint.host, endpoint.port, properties=properties)
    started = time.monotonic()
    while received < expected and time.monotonic() - (last or started) < idle:
        client.loop(timeout=0.05)
    progress.value = received
    client.disconnect()
    results.put({"received": received, "first": first, "last": last})


def run_broker_baseline(url: str, *, messages: int, terminals: int, window: int = 2000, seed: int = 0,
                        idle: float = 10.0) -> dict[str, Any]:
    """Run publisher and subscriber once; return the figures."""
    root = f"bench-{uuid.uuid4().hex[:10]}/posops/v1"  # parallel runs do not see each other
    payloads = make_payloads(messages, terminals=terminals, seed=seed)
    context = mp.get_context("spawn")
    ready = context.Event()
    progress = context.Value("q", 0)
    results: mp.Queue[dict[str, Any]] = context.Queue()
    subscriber = context.Process(target=count_messages,
                                 args=(url, heartbeat_topic("+", root), messages, idle, ready, progress, results))
    subscriber.start()
    try:
        if not ready.wait(30):
            raise SystemExit(f"the subscriber could not subscribe at {parse_mqtt_url(url)}")
        published = publish_payloads(url, payloads, root=root,
                                     throttle=window_throttle(progress, window) if window else None)
        received = results.get(timeout=300)
    finally:
        subscriber.join(10)
        if subscriber.is_alive():
            subscriber.terminate()
    elapsed = received["last"] - published["started"]
    return {
        "benchmark": "telemetry_broker",
        "path": "publisher -> mosquitto -> subscriber (QoS 1)",
        "broker": f"{parse_mqtt_url(url).host}:{parse_mqtt_url(url).port}",
        "messages": messages,
        "terminals": terminals,
        "window": window,
        "payload_bytes_avg": round(sum(len(p) for _, p in payloads) / len(payloads)),
        "received": received["received"],
        "lost": messages - received["received"],
        "publish_msgs_per_s": round(messages / (published["finished"] - published["started"])),
        "msgs_per_s": round(received["received"] / elapsed) if elapsed > 0 else None,
        "seconds": round(elapsed, 3),
        "cpus": os.cpu_count(),
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line, run the baseline, print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("POSOPS_MQTT_URL", DEFAULT_URL),
                        help="broker URL (default: $POSOPS_MQTT_URL or mqtt://127.0.0.1:1883)")
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--terminals", type=int, default=1000)
    parser.add_argument("--window", type=int, default=2000,
                        help="most messages published ahead of the subscriber; 0: unthrottled")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(json.dumps(run_broker_baseline(args.url, messages=args.messages, terminals=args.terminals,
                                         window=args.window, seed=args.seed)))


if __name__ == "__main__":
    main()
