"""Helpers of the telemetry storage tests: terminals in one place, heartbeats stored at a chosen time."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from posops.core.db import Database
from posops.telemetry import service
from posops.telemetry.schemas import IngestResult
from posops.terminals.models import Terminal
from tests.telemetry.heartbeats import full_payload, section


def add_terminals(db: Database, merchant_id: int, count: int, *, prefix: str, region: str = "上海",
                  carrier: str = "中国移动", model: str = "PAX A920", app: str = "3.2.1") -> dict[str, int]:
    """Register ``count`` active terminals; returns serial number → id."""
    with db.transaction() as session:
        rows = [Terminal(serial_number=f"{prefix}{i:04d}", model=model, vendor="PAX", tid=f"{prefix[:4]}{i:04d}",
                         mid=f"{prefix[:4]}{i:011d}", merchant_id=merchant_id, region=region, carrier=carrier,
                         app_version=app, status="active") for i in range(count)]
        session.add_all(rows)
        session.flush()
        return {t.serial_number: t.id for t in rows}


def healthy(sn: str, seq: int, at: datetime, **changes: Any) -> dict[str, Any]:
    """A healthy heartbeat of ``sn`` sent at ``at``."""
    return full_payload(sn=sn, seq=seq, ts=at.isoformat(), **changes)


def failing(sn: str, seq: int, at: datetime) -> dict[str, Any]:
    """A heartbeat of a terminal in a carrier outage: the host unreachable, the last transaction timed out."""
    return healthy(sn, seq, at, network=section("network", host_reachable=False), last_rc="timeout")


def store(db: Database, payloads: list[dict[str, Any]], now: datetime, *, source: str = "mqtt") -> IngestResult:
    """Store payloads as one batch received at ``now``."""
    messages = [service.Message.parse(source, json.dumps(p).encode()) for p in payloads]
    return service.record_batch(db, messages, now)
