"""Outage incidents: the periodic scan that opens and closes them, and reading them (a merchant sees its own).

The scan counts, per group, the terminals whose latest heartbeat arrived in the window and how
many of them are failing (two GROUP BY queries over ``telemetry_snapshots`` joined to
``terminals``), fetches the failing terminals only of the groups that are or may become
incidents, lets :func:`posops.telemetry.analytics.scan` decide, and writes the outcome in the
same transaction: incidents opened, updated or closed (audited), one timeline sample per open
incident, the terminals affected, and the baselines.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import datetime

from sqlalchemy import ColumnElement, SQLColumnExpression, case, exists, func, select, tuple_
from sqlalchemy.orm import Session

from posops.core import audit
from posops.core.auth import Principal, Role, merchant_scope
from posops.core.db import Database, utcnow
from posops.core.errors import Invalid, NotFound
from posops.telemetry import analytics
from posops.telemetry.analytics import DEFAULT_INCIDENT_POLICY, Dimension, GroupKey, GroupStat, IncidentPolicy
from posops.telemetry.models import (
    GroupBaseline,
    Incident,
    IncidentSample,
    IncidentTerminal,
    TelemetrySnapshot,
)
from posops.telemetry.outputs import AffectedTerminal, IncidentDetail, IncidentRef, Sample, ScanOut
from posops.telemetry.service import incident_ref, insert_for
from posops.terminals.models import Merchant, Terminal

SCANNER = Principal(user_id=None, username="outage-scan", role=Role.ADMIN)
"""The actor of incidents opened and closed by the scan."""
MAX_LISTED = 200


def _group_columns(dimension: Dimension) -> tuple[SQLColumnExpression[str], SQLColumnExpression[str]]:
    if dimension is Dimension.AREA:
        return Terminal.region, Terminal.carrier
    return Terminal.model, func.coalesce(TelemetrySnapshot.app_version, Terminal.app_version)


def group_counts(session: Session, now: datetime, policy: IncidentPolicy) -> dict[GroupKey, GroupStat]:
    """Per group of both dimensions: terminals that reported in the window, and how many are failing."""
    window = (TelemetrySnapshot.last_seen_at > now - policy.window, TelemetrySnapshot.last_seen_at <= now)
    stats: dict[GroupKey, GroupStat] = {}
    for dimension in Dimension:
        first, second = _group_columns(dimension)
        query = (select(first, second, func.count(), func.sum(case((TelemetrySnapshot.failing, 1), else_=0)))
                 .select_from(TelemetrySnapshot).join(Terminal, Terminal.id == TelemetrySnapshot.terminal_id)
                 .where(*window).group_by(first, second))
        for a, b, terminals, failing in session.execute(query):
            if a and b:  # a terminal without region or carrier (model or version) belongs to no group
                stats[GroupKey(dimension, a, b)] = GroupStat(terminals=terminals, failing=int(failing or 0))
    return stats


def failing_terminals(session: Session, keys: set[GroupKey], now: datetime,
                      policy: IncidentPolicy) -> dict[GroupKey, dict[str, int]]:
    """The failing terminals (serial number → id) of some groups in the window."""
    found: dict[GroupKey, dict[str, int]] = defaultdict(dict)
    for dimension in Dimension:
        wanted = [(k.first, k.second) for k in keys if k.dimension is dimension]
        if not wanted:
            continue
        first, second = _group_columns(dimension)
        query = (select(first, second, Terminal.serial_number, Terminal.id).select_from(TelemetrySnapshot)
                 .join(Terminal, Terminal.id == TelemetrySnapshot.terminal_id)
                 .where(TelemetrySnapshot.failing, TelemetrySnapshot.last_seen_at > now - policy.window,
                        TelemetrySnapshot.last_seen_at <= now, tuple_(first, second).in_(wanted)))
        for a, b, sn, terminal_id in session.execute(query):
            found[GroupKey(dimension, a, b)][sn] = terminal_id
    return found


def scan_incidents(db: Database, now: datetime | None = None,
                   policy: IncidentPolicy = DEFAULT_INCIDENT_POLICY) -> ScanOut:
    """Run one outage scan over the fleet's latest heartbeats and record its outcome (one transaction)."""
    now = now or utcnow()
    with db.transaction() as session:
        stats = group_counts(session, now, policy)
        rows = {GroupKey(Dimension(i.dimension), i.group_first, i.group_second): i
                for i in session.scalars(select(Incident).where(Incident.status == "open"))}
        incidents = {key: analytics.Incident(key=key, opened_at=row.opened_at, baseline=row.baseline,
                                             terminals=row.terminals, failing=row.failing,
                                             peak_share=row.peak_share, calm_since=row.calm_since)
                     for key, row in rows.items()}
        baselines = {GroupKey(Dimension(b.dimension), b.group_first, b.group_second):
                     analytics.Baseline(share=b.share, at=b.at) for b in session.scalars(select(GroupBaseline))}
        failing = failing_terminals(session, analytics.candidate_groups(stats, incidents, baselines, policy),
                                    now, policy)
        stats = {key: replace(stat, failing_terminals=frozenset(failing.get(key, {}))) if key in failing else stat
                 for key, stat in stats.items()}
        result = analytics.scan(stats, incidents=incidents, baselines=baselines, now=now, policy=policy)
        opened = [_open(session, incident, now) for incident in result.opened]
        for key, incident in result.incidents.items():
            row = rows.get(key)
            if row is not None:
                _update(row, incident, now)
        closed = []
        for incident in result.closed:
            row = rows[incident.key]
            _update(row, incident, now)
            row.status, row.closed_at = "closed", incident.closed_at
            audit.record(session, SCANNER, "incident", row.id, "close", before={"status": "open"},
                         after={"status": "closed", "terminals": row.terminals, "failing": row.failing},
                         reason=f"failing share back to {incident.share:.1%} (baseline {row.baseline:.1%})")
            closed.append(row)
        session.flush()
        touched = [*opened, *(rows[k] for k in result.incidents if k in rows), *closed]
        _record_samples(session, touched, stats, failing, now)
        _store_baselines(session, result.baselines, baselines)
        return ScanOut(at=now, groups=len(stats), opened=[incident_ref(r) for r in opened],
                       closed=[incident_ref(r) for r in closed],
                       open=len(result.incidents))


def _open(session: Session, incident: analytics.Incident, now: datetime) -> Incident:
    row = Incident(dimension=incident.key.dimension.value, group_first=incident.key.first,
                   group_second=incident.key.second, status="open", opened_at=now, baseline=incident.baseline,
                   terminals=incident.terminals, failing=incident.failing, peak_share=incident.peak_share,
                   updated_at=now)
    session.add(row)
    session.flush()
    audit.record(session, SCANNER, "incident", row.id, "open",
                 after={"dimension": row.dimension, "group": [row.group_first, row.group_second],
                        "terminals": row.terminals, "failing": row.failing},
                 reason=f"{incident.share:.1%} failing against a baseline of {incident.baseline:.1%}")
    return row


def _update(row: Incident, incident: analytics.Incident, now: datetime) -> None:
    row.terminals, row.failing = incident.terminals, incident.failing
    row.peak_share, row.calm_since, row.updated_at = incident.peak_share, incident.calm_since, now


def _record_samples(session: Session, rows: list[Incident], stats: dict[GroupKey, GroupStat],
                    failing: dict[GroupKey, dict[str, int]], now: datetime) -> None:
    samples, affected = [], []
    for row in rows:
        key = GroupKey(Dimension(row.dimension), row.group_first, row.group_second)
        stat = stats.get(key)
        if stat is None:
            continue  # nobody in the group reported: no point on the timeline
        samples.append({"incident_id": row.id, "at": now, "terminals": stat.terminals, "failing": stat.failing})
        if row.status == "open":
            affected += [{"incident_id": row.id, "terminal_id": terminal_id, "since": now}
                         for terminal_id in failing.get(key, {}).values()]
    if samples:
        session.execute(insert_for(session, IncidentSample).on_conflict_do_nothing(
            index_elements=["incident_id", "at"]), samples)
    if affected:
        session.execute(insert_for(session, IncidentTerminal).on_conflict_do_nothing(
            index_elements=["incident_id", "terminal_id"]), affected)


def _store_baselines(session: Session, moved: dict[GroupKey, analytics.Baseline],
                     before: dict[GroupKey, analytics.Baseline]) -> None:
    changed = [{"dimension": key.dimension.value, "group_first": key.first, "group_second": key.second,
                "share": baseline.share, "at": baseline.at}
               for key, baseline in moved.items() if before.get(key) != baseline]
    if changed:
        upsert = insert_for(session, GroupBaseline)
        session.execute(upsert.on_conflict_do_update(
            index_elements=["dimension", "group_first", "group_second"],
            set_={"share": upsert.excluded.share, "at": upsert.excluded.at}), changed)


# -- reading ------------------------------------------------------------------------------------------


def _affected_count(session: Session, incident_ids: list[int], merchant_id: int | None) -> dict[int, int]:
    if not incident_ids:
        return {}
    query = (select(IncidentTerminal.incident_id, func.count()).where(IncidentTerminal.incident_id.in_(incident_ids))
             .group_by(IncidentTerminal.incident_id))
    if merchant_id is not None:
        query = query.join(Terminal, Terminal.id == IncidentTerminal.terminal_id).where(
            Terminal.merchant_id == merchant_id)
    return dict(session.execute(query).all())


def _touches_merchant(merchant_id: int) -> ColumnElement[bool]:
    return exists(select(IncidentTerminal.incident_id).join(Terminal, Terminal.id == IncidentTerminal.terminal_id)
                  .where(IncidentTerminal.incident_id == Incident.id, Terminal.merchant_id == merchant_id))


def list_incidents(db: Database, principal: Principal, *, status: str | None = None,
                   limit: int = 50) -> list[IncidentRef]:
    """Incidents, open first then newest; a merchant sees only those that affected its terminals."""
    if status not in (None, "open", "closed"):
        raise Invalid("status", "must be open or closed")
    if not 1 <= limit <= MAX_LISTED:
        raise Invalid("limit", f"must be between 1 and {MAX_LISTED}")
    scope = merchant_scope(principal)
    query = select(Incident).order_by((Incident.status == "open").desc(), Incident.opened_at.desc(),
                                      Incident.id.desc()).limit(limit)
    if status:
        query = query.where(Incident.status == status)
    if scope is not None:
        query = query.where(_touches_merchant(scope))
    with db.transaction() as session:
        rows = list(session.scalars(query))
        counts = _affected_count(session, [r.id for r in rows], scope)
        return [incident_ref(r, counts.get(r.id, 0)) for r in rows]


def get_incident(db: Database, principal: Principal, incident_id: int) -> IncidentDetail:
    """One incident with its timeline and affected terminals (a merchant: its own; others' incidents are 404)."""
    scope = merchant_scope(principal)
    with db.transaction() as session:
        row = session.get(Incident, incident_id)
        if row is None:
            raise NotFound("incident not found")
        query = (select(IncidentTerminal.since, Terminal, Merchant.name)
                 .join(Terminal, Terminal.id == IncidentTerminal.terminal_id)
                 .join(Merchant, Merchant.id == Terminal.merchant_id)
                 .where(IncidentTerminal.incident_id == row.id).order_by(Terminal.serial_number))
        if scope is not None:
            query = query.where(Terminal.merchant_id == scope)
        affected = [AffectedTerminal(terminal_id=t.id, serial_number=t.serial_number, merchant_id=t.merchant_id,
                                     merchant_name=name, region=t.region, carrier=t.carrier, model=t.model,
                                     since=since) for since, t, name in session.execute(query)]
        if scope is not None and not affected:
            raise NotFound("incident not found")
        samples = [Sample(at=s.at, terminals=s.terminals, failing=s.failing,
                          share=s.failing / s.terminals if s.terminals else 0.0)
                   for s in session.scalars(select(IncidentSample).where(IncidentSample.incident_id == row.id)
                                            .order_by(IncidentSample.at))]
        ref = incident_ref(row, len(affected))
        return IncidentDetail(**ref.model_dump(), samples=samples, affected_terminals=affected)
