"""Outage incidents through the service: opened by the scan, scoped per merchant, closed on recovery; evidence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from posops.core import scheduler
from posops.core.db import Database, utcnow
from posops.core.errors import NotFound
from posops.core.models import AuditEvent
from posops.telemetry import service
from posops.telemetry.models import Incident, IncidentSample, IncidentTerminal
from posops.terminals.models import Terminal
from tests.conftest import Fleet
from tests.telemetry.storage import add_terminals, failing, healthy, store


@dataclass
class Scene:
    """Shanghai on China Mobile (20 terminals, both merchants) and Beijing on China Unicom (60, merchant A)."""

    shanghai_a: list[str]
    shanghai_b: list[str]
    beijing_pax: list[str]
    beijing_landi: list[str]

    @property
    def everyone(self) -> list[str]:
        return self.shanghai_a + self.shanghai_b + self.beijing_pax + self.beijing_landi


@pytest.fixture
def scene(db: Database, fleet: Fleet) -> Scene:
    def terminals(merchant: int, count: int, prefix: str, **where: str) -> list[str]:
        return list(add_terminals(db, merchant, count, prefix=prefix, **where))

    return Scene(
        shanghai_a=terminals(fleet.merchant_a, 6, "SHAP") + terminals(fleet.merchant_a, 6, "SHAL", model="Landi A8",
                                                                      app="2.8.1"),
        shanghai_b=terminals(fleet.merchant_b, 4, "SHBP") + terminals(fleet.merchant_b, 4, "SHBL", model="Landi A8",
                                                                      app="2.8.1"),
        beijing_pax=terminals(fleet.merchant_a, 30, "BJAP", region="北京", carrier="中国联通"),
        beijing_landi=terminals(fleet.merchant_a, 30, "BJAL", region="北京", carrier="中国联通", model="Landi A8",
                                app="2.8.1"))


def report(db: Database, serials: list[str], at: datetime, broken: set[str] | None = None,
           app: dict[str, str] | None = None) -> None:
    """Every terminal reports once at ``at``: those in ``broken`` cannot reach the host."""
    seq = int(at.timestamp() * 1000)
    payloads = []
    for sn in serials:
        payload = failing(sn, seq, at) if sn in (broken or set()) else healthy(sn, seq, at)
        if app and sn in app:
            payload["software"] = {"app": app[sn], "firmware": "PayDroid 8.1.0"}
            payload["last_signin"] = {"at": at.isoformat(), "ok": False}
        payloads.append(payload)
    result = store(db, payloads, at)
    assert result.stored == len(serials) and not result.rejected


def open_incidents(db: Database) -> list[Incident]:
    with db.transaction() as session:
        return list(session.scalars(select(Incident).where(Incident.status == "open").order_by(Incident.id)))


def evidence_of(db: Database, sn: str, now: datetime) -> dict[str, str]:
    with db.transaction() as session:
        terminal = session.scalars(select(Terminal).where(Terminal.serial_number == sn)).one()
        return service.telemetry_evidence(session, terminal, now)


def test_a_regional_outage_opens_one_incident_and_each_merchant_sees_its_own_share(
        db: Database, fleet: Fleet, scene: Scene) -> None:
    start = utcnow() - timedelta(minutes=3)
    report(db, scene.everyone, start)
    assert service.scan_incidents(db, start).opened == []
    now = start + timedelta(minutes=1)
    broken = set(scene.shanghai_a) | set(scene.shanghai_b[4:7])  # 12 of A's, 3 of B's Landi terminals
    report(db, scene.everyone, now, broken=broken)
    result = service.scan_incidents(db, now)
    [opened] = result.opened
    assert (opened.dimension, opened.group_first, opened.group_second) == ("area", "上海", "中国移动")
    assert (opened.terminals, opened.failing, opened.status) == (20, 15, "open")
    assert [i.id for i in open_incidents(db)] == [opened.id], "the same terminals do not open a cohort incident"
    with db.transaction() as session:
        affected = set(session.scalars(select(Terminal.serial_number).join(
            IncidentTerminal, IncidentTerminal.terminal_id == Terminal.id)))
        event = session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "incident")).one()
    assert affected == broken
    assert (event.action, event.actor, event.entity_id) == ("open", "outage-scan", str(opened.id))

    merchant_a, merchant_b = fleet.users["merchant"], fleet.users["merchant_b"]
    assert [(i.id, i.affected) for i in service.list_incidents(db, merchant_a)] == [(opened.id, 12)]
    assert [(i.id, i.affected) for i in service.list_incidents(db, merchant_b)] == [(opened.id, 3)]
    seen_by_b = service.get_incident(db, merchant_b, opened.id)
    assert {t.serial_number for t in seen_by_b.affected_terminals} == set(scene.shanghai_b[4:7])
    staff = service.get_incident(db, fleet.users["agent"], opened.id)
    assert len(staff.affected_terminals) == 15 and [s.failing for s in staff.samples] == [15]

    # A bad release on merchant A's Beijing PAX terminals: a cohort incident merchant B never sees.
    later = now + timedelta(minutes=1)
    bad = {sn: "3.3.0" for sn in scene.beijing_pax[:12]}
    report(db, scene.everyone, later, broken=broken, app=bad)
    cohort = service.scan_incidents(db, later).opened
    assert [(i.dimension, i.group_first, i.group_second, i.failing) for i in cohort] == [
        ("cohort", "PAX A920", "3.3.0", 12)]
    assert [i.id for i in service.list_incidents(db, merchant_b)] == [opened.id]
    with pytest.raises(NotFound):
        service.get_incident(db, merchant_b, cohort[0].id)
    assert len(service.list_incidents(db, fleet.users["risk"], status="open")) == 2

    assert evidence_of(db, scene.shanghai_b[0], later)["area_outage"] == "yes", "healthy, but in the area"
    assert evidence_of(db, scene.beijing_pax[0], later)["version_cohort"] == "yes"
    assert "area_outage" not in evidence_of(db, scene.beijing_pax[0], later), "no scan recorded: unknown"
    scheduler.record_manual_run(db, service.SCAN_JOB, "test", later, "ok")
    beijing = evidence_of(db, scene.beijing_pax[20], later)
    assert (beijing["area_outage"], beijing["version_cohort"]) == ("no", "no")


def test_an_incident_closes_itself_when_the_group_recovers_and_stays_calm(
        db: Database, fleet: Fleet, scene: Scene) -> None:
    start = utcnow() - timedelta(hours=1)
    broken = set(scene.shanghai_a)
    report(db, scene.everyone, start, broken=broken)
    [opened] = service.scan_incidents(db, start).opened
    for minutes in (5, 12):  # recovered at +5, still calm at +12 but not yet for 10 minutes
        at = start + timedelta(minutes=minutes)
        report(db, scene.everyone, at)
        assert service.scan_incidents(db, at).closed == []
    at = start + timedelta(minutes=16)
    report(db, scene.everyone, at)
    [closed] = service.scan_incidents(db, at).closed
    assert (closed.id, closed.status, closed.closed_at) == (opened.id, "closed", at)
    assert open_incidents(db) == []
    with db.transaction() as session:
        samples = [(s.failing, s.terminals) for s in session.scalars(
            select(IncidentSample).where(IncidentSample.incident_id == opened.id).order_by(IncidentSample.at))]
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == "incident")
                                       .order_by(AuditEvent.id)))
    assert samples == [(12, 20), (0, 20), (0, 20), (0, 20)]
    assert actions == ["open", "close"]
    assert evidence_of(db, scene.shanghai_a[0], at).get("area_outage") != "yes"


def test_silent_terminals_keep_an_incident_open(db: Database, fleet: Fleet, scene: Scene) -> None:
    start = utcnow() - timedelta(hours=1)
    report(db, scene.everyone, start, broken=set(scene.shanghai_a))
    service.scan_incidents(db, start)
    later = start + timedelta(minutes=30)
    report(db, scene.beijing_pax + scene.beijing_landi, later)  # Shanghai says nothing
    result = service.scan_incidents(db, later)
    assert result.closed == [] and len(open_incidents(db)) == 1


def test_telemetry_evidence_reaches_a_diagnosis_started_with_the_terminal(
        client: TestClient, db: Database, fleet: Fleet, scene: Scene) -> None:
    now = utcnow()
    report(db, scene.everyone, now, broken=set(scene.shanghai_a))
    service.scan_incidents(db, now)
    sn = scene.shanghai_a[0]
    doc = client.post("/api/v1/diagnoses", json={"text": "刷卡交易一直超时", "terminal_id": sn},
                      headers=fleet.headers("merchant"))
    assert doc.status_code == 201, doc.text
    detail = client.get(f"/api/v1/diagnoses/{doc.json()['id']}", headers=fleet.headers("agent")).json()
    known = detail["fleet_evidence"]
    assert known["area_outage"] == "yes" and known["response_code"] == "timeout"
    assert known["battery_level"] == "ok" and known["printer_paper"] == "ok" and known["account_status"] == "ok"
    assert doc.json()["next_step"]["id"] not in known, "what telemetry tells is not asked"


def test_a_merchant_sees_on_its_terminal_that_it_is_not_its_device(
        client: TestClient, db: Database, fleet: Fleet, scene: Scene) -> None:
    now = utcnow()
    report(db, scene.everyone, now, broken=set(scene.shanghai_a))
    [incident] = service.scan_incidents(db, now).opened
    with db.transaction() as session:
        terminal_id = session.scalars(select(Terminal.id).where(Terminal.serial_number == scene.shanghai_a[0])).one()
    state = client.get(f"/api/v1/terminals/{terminal_id}/telemetry", headers=fleet.headers("merchant")).json()
    assert state["online"] is True and state["failing"] is True
    assert state["failure_reasons"] == ["host_unreachable", "rc:timeout"]
    assert [i["id"] for i in state["incidents"]] == [incident.id]
    assert state["evidence"]["net_indicator"] == "ok" and state["evidence"]["area_outage"] == "yes"


def open_campaign_incident(db: Database, terminal_ids: list[int], now: datetime, *, campaign_id: int = 7) -> int:
    """What the upgrade gate does on a halt: a campaign incident over the upgraded terminals."""
    with db.transaction() as session:
        return service.open_upgrade_incident(
            session, service.SCANNER, campaign_id=campaign_id, version="3.3.0", terminals=40,
            failing=len(terminal_ids), terminal_ids=terminal_ids, share=0.25, baseline=0.02, now=now,
            reason="health gate: sign_in_failure")


def test_the_scan_neither_opens_nor_closes_campaign_incidents(db: Database, fleet: Fleet, scene: Scene) -> None:
    start = utcnow() - timedelta(hours=1)
    campaign = open_campaign_incident(db, fleet.terminals_a[:2], start)
    bad = {sn: "3.3.0" for sn in scene.beijing_pax[:12]}
    report(db, scene.everyone, start, app=bad)
    opened = service.scan_incidents(db, start).opened
    assert [(i.dimension, i.group_first, i.group_second) for i in opened] == [("cohort", "PAX A920", "3.3.0")]
    for minutes in (5, 12, 30):  # the upgraded terminals all work again: the area stays calm, nothing closes it
        at = start + timedelta(minutes=minutes)
        report(db, scene.everyone, at)
        result = service.scan_incidents(db, at)
        assert campaign not in [i.id for i in result.closed] and result.opened == []
    assert [(i.id, i.dimension) for i in open_incidents(db)] == [(campaign, "campaign"), (opened[0].id, "cohort")]
    with db.transaction() as session:
        samples = session.scalars(select(IncidentSample).where(IncidentSample.incident_id == campaign)).all()
    assert len(samples) == 1, "the scan adds no point to a campaign's incident"


def test_a_campaign_incident_names_its_campaign_to_those_it_touched(db: Database, fleet: Fleet) -> None:
    incident = open_campaign_incident(db, fleet.terminals_a[:2], utcnow(), campaign_id=12)
    [listed] = service.list_incidents(db, fleet.users["merchant"])
    assert (listed.id, listed.dimension, listed.campaign_id, listed.group_second) == (incident, "campaign", 12, "3.3.0")
    assert (listed.affected, listed.peak_share, listed.baseline) == (2, 0.25, 0.02)
    assert service.list_incidents(db, fleet.users["merchant_b"]) == []
    with pytest.raises(NotFound):
        service.get_incident(db, fleet.users["merchant_b"], incident)
    detail = service.get_incident(db, fleet.users["agent"], incident)
    assert detail.campaign_id == 12 and len(detail.affected_terminals) == 2
    assert [i.campaign_id for i in service.scan_incidents(db).opened] == []
