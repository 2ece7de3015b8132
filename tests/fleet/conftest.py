"""Fixtures of the fleet tests: the small fleet with heartbeats at chosen times and merchants' contact phones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from posops.core.db import Database, utcnow
from posops.terminals.models import Merchant
from tests.conftest import Fleet
from tests.telemetry.storage import healthy, store
from tests.terminals.flows import CONTACT, FEE_PLAN, ok

SILENT_FOR = {"SN-TEST-0000": timedelta(seconds=10), "SN-TEST-0004": timedelta(seconds=60),
              "SN-TEST-0003": timedelta(minutes=20), "SN-TEST-0001": timedelta(hours=3)}
"""How long ago each terminal's latest heartbeat arrived; SN-TEST-0002 never reports. 0000 and 0004 are online
(the threshold is 300 s), 0003 and 0001 offline."""
PHONES = {"甲商户": "021-5555 1234", "乙商户": "+86 138 0013 8002"}


@dataclass(frozen=True)
class Heard:
    """The fleet with heartbeats stored: who is online, offline, never reported, and when each was last seen."""

    fleet: Fleet
    last_seen: dict[str, datetime]


@pytest.fixture
def heard(db: Database, fleet: Fleet) -> Heard:
    """Store one heartbeat per terminal of SILENT_FOR, received that long ago, and give the merchants phones."""
    now = utcnow()
    seen = {}
    for sn, silent in SILENT_FOR.items():
        at = now - silent
        result = store(db, [healthy(sn, 1, at)], at, source="http")
        assert result.stored == 1, result
        seen[sn] = at
    with db.transaction() as session:
        for merchant in session.scalars(select(Merchant)):
            merchant.contact_phone = PHONES[merchant.name]
            merchant.contact_name = "周先生"
    return Heard(fleet, seen)


@dataclass(frozen=True)
class Records:
    """Records of merchant A in each section of its page, and one of merchant B."""

    request: int
    application: int
    diagnosis: str
    ticket: int
    assigned_ticket: int
    other_ticket: int


@pytest.fixture
def records(client: TestClient, heard: Heard) -> Records:
    """A fee plan, a reactivation request, an application, a diagnosis and tickets for merchant A (one for B)."""
    fleet = heard.fleet
    agent, merchant = fleet.headers("agent"), fleet.headers("merchant")
    ok(client.put(f"/api/v1/merchants/{fleet.merchant_a}/fee-plan", json={**FEE_PLAN, "contract_ref": "HT-9"},
                  headers=agent))
    ok(client.post(f"/api/v1/terminals/{fleet.terminals_a[0]}/suspend", json={"reason": "dormant", "note": "久未使用"},
                   headers=agent))
    request = ok(client.post(f"/api/v1/terminals/{fleet.terminals_a[0]}/reactivation-requests", json={},
                             headers=merchant), 201)["id"]
    application = ok(client.post("/api/v1/onboarding/applications", headers=merchant,
                                 json={"applicant_type": "business", "terminal_model": "Landi A8", **CONTACT}),
                        201)["id"]
    diagnosis = ok(client.post("/api/v1/diagnoses", headers=merchant,
                               json={"text": "小票打出来是白纸", "terminal_id": "SN-TEST-0001"}), 201)["id"]
    ticket = ok(client.post("/api/v1/tickets", json={"terminal_id": fleet.terminals_a[1], "description": "读卡不灵"},
                            headers=agent), 201)["id"]
    assigned = ok(client.post("/api/v1/tickets", json={"terminal_id": fleet.terminals_a[2], "description": "黑屏"},
                              headers=agent), 201)["id"]
    ok(client.post(f"/api/v1/tickets/{assigned}/assign", json={"technician": "technician"}, headers=agent))
    other = ok(client.post("/api/v1/tickets", json={"terminal_id": fleet.terminals_b[0], "description": "死机"},
                           headers=agent), 201)["id"]
    return Records(request, application, diagnosis, ticket, assigned, other)
