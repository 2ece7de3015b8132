"""Fixtures of the telemetry tests: the MQTT broker, and names no other test run uses."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

import pytest

from posops.telemetry.mqtt import HeartbeatPublisher, MqttEndpoint, heartbeat_subscription, parse_mqtt_url
from tests.conftest import missing_service

MQTT_URL = os.environ.get("POSOPS_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")


@pytest.fixture(scope="session")
def mqtt_endpoint() -> MqttEndpoint:
    """The test broker from POSOPS_TEST_MQTT_URL; skips (fails under CI) when it does not answer."""
    endpoint = parse_mqtt_url(MQTT_URL)
    try:
        # A missing broker refuses at once, so a generous wait costs nothing when it is absent.
        with HeartbeatPublisher(endpoint, connect_timeout=20):
            pass
    except (ConnectionError, OSError) as exc:
        missing_service(f"MQTT broker at {endpoint.host}:{endpoint.port} ({exc.__class__.__name__}; "
                        "set POSOPS_TEST_MQTT_URL)")
    return endpoint


@dataclass(frozen=True)
class MqttNames:
    """A topic root, share group and client id prefix of one test, so parallel runs never meet."""

    token: str

    @property
    def root(self) -> str:
        """Topic root in place of ``posops/v1``."""
        return f"test-{self.token}/posops/v1"

    @property
    def subscription(self) -> str:
        """The shared subscription of this test's worker group."""
        return heartbeat_subscription(f"g-{self.token}", self.root)

    def client_id(self, name: str) -> str:
        """A client id unique to this test."""
        return f"test-{self.token}-{name}"

    def serial(self, index: int) -> str:
        """A terminal serial number unique to this test."""
        return f"T{self.token[:8]}{index:05d}"


@pytest.fixture
def names() -> MqttNames:
    """Fresh MQTT names for one test."""
    return MqttNames(uuid.uuid4().hex[:12])
