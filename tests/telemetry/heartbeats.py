"""Heartbeat payloads for the telemetry tests, built as terminals send them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from posops.telemetry.heartbeat import Heartbeat, parse_heartbeat

CHINA = timezone(timedelta(hours=8))
NOW = datetime(2025, 3, 1, 10, 0, tzinfo=CHINA)


def full_payload(**changes: Any) -> dict[str, Any]:
    """A complete, healthy heartbeat of schema version 1; keyword arguments replace top-level fields."""
    payload: dict[str, Any] = {
        "v": 1, "sn": "PAA920000001", "seq": 42, "ts": NOW.isoformat(),
        "battery": {"pct": 80, "charging": False, "power_source": "battery"},
        "network": {"type": "4g", "signal_dbm": -90, "ip": "10.1.2.3", "gateway": None,
                    "dns": ["114.114.114.114"], "host_reachable": True},
        "software": {"app": "3.2.1", "firmware": "PayDroid 8.1.0"},
        "reader": {"swipe_err": 1, "chip_err": 0, "tap_err": 0, "reads": 300},
        "printer": {"paper": "ok", "head_temp_ok": True},
        "tamper": False, "screen_notice": None, "last_rc": "00",
        "last_signin": {"at": NOW.replace(hour=8).isoformat(), "ok": True},
    }
    payload.update(changes)
    return payload


def heartbeat(**changes: Any) -> Heartbeat:
    """:func:`full_payload` parsed through the real parser."""
    return parse_heartbeat(json.dumps(full_payload(**changes)).encode())


def section(name: str, **changes: Any) -> dict[str, Any]:
    """One section of :func:`full_payload` with some fields changed."""
    return {**full_payload()[name], **changes}
