"""Telemetry use cases: store heartbeats (HTTP and MQTT), terminal tokens, a terminal's state and evidence.

Storing a batch is one transaction (:func:`record_batch`): invalid messages and heartbeats of
unknown terminals go to the dead-letter table with their reason; the history takes each
``(sn, seq)`` once (``INSERT … ON CONFLICT DO NOTHING``); the latest snapshot of a terminal
moves only forward (``ON CONFLICT … DO UPDATE … WHERE excluded.seq > seq``). So a redelivered
message changes nothing, and the batch can be acknowledged to the broker once this returns.
On PostgreSQL (psycopg) a batch is COPied into a temporary table and written with one
``INSERT … SELECT`` per table; elsewhere with one executemany per table.

Outage incidents: the periodic scan counts, per group, the terminals whose latest heartbeat arrived
in the window and how many of them are failing, lets :func:`posops.telemetry.analytics.scan`
decide, and writes the outcome in the same transaction (incidents opened, updated or closed and
audited, one timeline sample per open incident, the terminals affected, the baselines).
The periodic jobs the worker runs are in ``jobs``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    SQLColumnExpression,
    bindparam,
    case,
    delete,
    exists,
    func,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from posops.core import accounts, audit
from posops.core.audit import AuditEntity
from posops.core.auth import STAFF_ROLES, Principal, Role, bearer_token, hash_token, require_role, scoped
from posops.core.config import Settings, get_settings
from posops.core.db import Database, insert_for, utcnow
from posops.core.errors import Forbidden, Invalid, NotFound, Problem, Unauthorized
from posops.core.labels import Label, catalog_label
from posops.core.models import ScheduledRun
from posops.core.paging import check_limit
from posops.core.versions import is_version, version_key
from posops.telemetry import analytics
from posops.telemetry.analytics import (
    DEFAULT_INCIDENT_POLICY,
    SCANNED_DIMENSIONS,
    Dimension,
    GroupKey,
    GroupStat,
    IncidentPolicy,
    IncidentStatus,
    failure_reasons,
)
from posops.telemetry.evidence import Evidence, FleetFacts, derive_evidence
from posops.telemetry.heartbeat import Heartbeat, HeartbeatError, parse_heartbeat
from posops.telemetry.models import (
    DeadLetter,
    GroupBaseline,
    HeartbeatRecord,
    Incident,
    IncidentSample,
    IncidentTerminal,
    TelemetrySnapshot,
    TerminalToken,
)
from posops.telemetry.schemas import (
    AffectedTerminal,
    DeadLetterOut,
    DeadLetters,
    IncidentDetail,
    IncidentRef,
    IngestResult,
    Point,
    Rejected,
    Sample,
    ScanOut,
    TerminalHistory,
    TerminalTelemetry,
    TerminalTokenOut,
)
from posops.telemetry.series import Reading, bucket_means, error_rates, plotted_at
from posops.terminals import service as terminals
from posops.terminals.lifecycle import TerminalStatus
from posops.terminals.models import Merchant, Terminal

TERMINAL_TOKEN_PREFIX = "posterm_"
"""Terminal tokens look different from user tokens (``pos_…``), so the API knows where to look them up."""
POSTER_ROLES = (Role.ADMIN,)
"""Besides a terminal's own token, who may post heartbeats over HTTP (for any terminal)."""
TOKEN_ISSUERS = (Role.ADMIN,)
DEAD_LETTER_EXCERPT = 4000
SCAN_JOB = "incident_scan"
SCAN_FRESH_FOR = timedelta(minutes=10)
"""The fleet-level evidence says "no outage" only if an outage scan ran this recently."""
HISTORY_SPAN_MAX = timedelta(hours=24)
HISTORY_SPAN_MIN = timedelta(minutes=15)
HISTORY_ROWS_MAX = 20_000


# -- messages and batches ------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """One message as it arrived: the heartbeat in it, or why it is not one."""

    source: str
    """mqtt or http."""
    payload: bytes
    topic: str | None = None
    heartbeat: Heartbeat | None = None
    error: str | None = None
    sn_hint: str | None = None
    """The serial number the message seems to be from, for a dead letter."""

    @classmethod
    def parse(cls, source: str, payload: bytes, *, topic: str | None = None, expected_sn: str | None = None,
              sn_hint: str | None = None) -> Message:
        """Parse ``payload`` as a heartbeat; a payload that is not one becomes a message with an error."""
        try:
            return cls(source, payload, topic, parse_heartbeat(payload, expected_sn=expected_sn))
        except HeartbeatError as exc:
            return cls(source, payload, topic, error=exc.reason, sn_hint=sn_hint or expected_sn)

    @property
    def sn(self) -> str | None:
        """The serial number of the heartbeat, or the hint for an invalid message."""
        return self.heartbeat.sn if self.heartbeat is not None else self.sn_hint


@dataclass
class _Batch:
    """Rows of one batch being prepared."""

    history: list[dict[str, Any]] = field(default_factory=list)
    latest: dict[int, dict[str, Any]] = field(default_factory=dict)
    dead: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    signed_in: dict[int, datetime] = field(default_factory=dict)
    """Terminal id → time of the latest successful sign-in the batch reports."""


class TerminalDirectory:
    """Serial number → terminal id, remembered for ``ttl`` so a worker does not look up every batch.

    Only serial numbers found are remembered: a terminal registered a moment ago is found at
    its first heartbeat. A serial number that changes owner shows under the old one for at most
    ``ttl``.
    """

    def __init__(self, ttl: timedelta = timedelta(minutes=1), clock: Callable[[], datetime] = utcnow) -> None:
        self.ttl = ttl
        self._clock = clock
        self._ids: dict[str, int] = {}
        self._since = self._clock()

    def resolve(self, session: Session, serials: set[str]) -> dict[str, int]:
        """The ids of those serial numbers that are registered terminals."""
        if self._clock() - self._since > self.ttl:
            self._ids, self._since = {}, self._clock()
        missing = serials - self._ids.keys()
        if missing:
            self._ids.update(session.execute(select(Terminal.serial_number, Terminal.id)
                                             .where(Terminal.serial_number.in_(missing))).all())
        return {sn: self._ids[sn] for sn in serials if sn in self._ids}


def record_batch(db: Database, messages: Sequence[Message], now: datetime | None = None,
                 directory: TerminalDirectory | None = None) -> IngestResult:
    """Store a batch of messages in one transaction (see the module docstring); the worker's use case."""
    with db.transaction() as session:
        return store_messages(session, messages, now or utcnow(), directory)


def store_messages(session: Session, messages: Sequence[Message], now: datetime,
                   directory: TerminalDirectory | None = None) -> IngestResult:
    """Store heartbeats, their snapshots and the dead letters in the caller's transaction."""
    return store_received(session, [(now, messages)], directory)


def store_received(session: Session, arrivals: Sequence[tuple[datetime, Sequence[Message]]],
                   directory: TerminalDirectory | None = None) -> IngestResult:
    """Store messages that arrived at different times, ``(received_at, messages)`` oldest first, in one go.

    The rows :func:`store_messages` would write for each arrival in turn — every heartbeat at its
    own receipt time, dead letters likewise — with one statement per table: each terminal's
    snapshot is written once, from its latest heartbeat. For a backlog loaded at once (the demo's
    history); ``rejected`` indexes count across all arrivals.
    """
    batch = _Batch()
    serials = {m.heartbeat.sn for _, messages in arrivals for m in messages if m.heartbeat is not None}
    known = (directory or TerminalDirectory()).resolve(session, serials) if serials else {}
    received = [(now, message) for now, messages in arrivals for message in messages]
    for index, (now, message) in enumerate(received):
        heartbeat = message.heartbeat
        if heartbeat is None:
            _dead_letter(batch, index, message, message.error or "not a heartbeat", now)
        elif heartbeat.sn not in known:
            _dead_letter(batch, index, message, f"unknown terminal serial number {heartbeat.sn!r}", now)
        else:
            _add_heartbeat(batch, known[heartbeat.sn], heartbeat, message.payload, now)
    stored = 0
    if batch.history:
        write = _copy_rows if session.get_bind().dialect.driver == "psycopg" else _insert_rows
        stored = write(session, HeartbeatRecord, batch.history, "ON CONFLICT (sn, seq) DO NOTHING")
        # A redelivered heartbeat has the seq already there, so the WHERE keeps the snapshot as it is.
        write(session, TelemetrySnapshot, list(batch.latest.values()),
              "ON CONFLICT (terminal_id) DO UPDATE SET "
              + ", ".join(f"{name} = excluded.{name}" for name in _SNAPSHOT_UPDATES)
              + " WHERE excluded.seq > telemetry_snapshots.seq")
    if batch.dead:
        session.execute(insert_for(session, DeadLetter).on_conflict_do_nothing(index_elements=["digest"]), batch.dead)
    terminals.record_sign_ins(session, batch.signed_in)
    return IngestResult(received=len(received), stored=stored, duplicates=len(batch.history) - stored,
                        rejected=batch.rejected)


def _add_heartbeat(batch: _Batch, terminal_id: int, heartbeat: Heartbeat, payload: bytes, now: datetime) -> None:
    reasons = failure_reasons(heartbeat)
    sign_in = heartbeat.last_signin
    if sign_in is not None and sign_in.ok and sign_in.at is not None:
        batch.signed_in[terminal_id] = max(sign_in.at, batch.signed_in.get(terminal_id, sign_in.at))
    reader = heartbeat.reader
    body = payload.decode("utf-8")  # parse_heartbeat has checked it
    batch.history.append({
        "sn": heartbeat.sn, "seq": heartbeat.seq, "terminal_id": terminal_id, "ts": heartbeat.ts, "received_at": now,
        "battery_pct": heartbeat.battery.pct if heartbeat.battery else None,
        "signal_dbm": heartbeat.network.signal_dbm if heartbeat.network else None,
        "reads": reader.reads if reader else None,
        "read_errors": reader.swipe_err + reader.chip_err + reader.tap_err if reader else None,
        "failing": bool(reasons), "payload": body})
    current = batch.latest.get(terminal_id)
    if current is None or heartbeat.seq > current["seq"]:
        # One row per terminal and statement: PostgreSQL refuses to update a row twice in one upsert.
        batch.latest[terminal_id] = {
            "terminal_id": terminal_id, "sn": heartbeat.sn, "seq": heartbeat.seq, "ts": heartbeat.ts,
            "last_seen_at": now, "app_version": heartbeat.software.app if heartbeat.software else None,
            "failing": bool(reasons), "failure_reasons": ",".join(reasons)[:255], "payload": body}


_SNAPSHOT_UPDATES = ("sn", "seq", "ts", "last_seen_at", "app_version", "failing", "failure_reasons", "payload")


def _insert_rows(session: Session, model: type[Any], rows: list[dict[str, Any]], on_conflict: str) -> int:
    """Insert rows with one executemany; returns how many were written (the ON CONFLICT clause is SQL)."""
    table = model.__table__
    columns = [column.name for column in table.columns]
    statement = text(f"INSERT INTO {table.name} ({', '.join(columns)}) "
                     f"VALUES ({', '.join(':' + c for c in columns)}) {on_conflict}")
    statement = statement.bindparams(*(bindparam(c, type_=table.c[c].type) for c in columns))
    return _rowcount(session.execute(statement.execution_options(preserve_rowcount=True), rows))


def _copy_rows(session: Session, model: type[Any], rows: list[dict[str, Any]], on_conflict: str) -> int:
    """PostgreSQL: COPY the rows into a temporary table, then one INSERT … SELECT; returns how many were written.

    Much cheaper for the server than one INSERT per row: the batch is one statement.
    """
    table = model.__table__
    columns = ", ".join(column.name for column in table.columns)
    staging = f"staging_{table.name}"
    connection = session.connection()
    connection.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS {staging} (LIKE {table.name}) "
                               "ON COMMIT DELETE ROWS")
    connection.exec_driver_sql(f"DELETE FROM {staging}")  # empty after each commit; this is for a 2nd batch in one
    driver = connection.connection.driver_connection  # psycopg's, in this transaction
    assert driver is not None
    copy_sql = f"COPY {staging} ({columns}) FROM STDIN"
    try:
        with driver.cursor() as cursor, cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row([row[column.name] for column in table.columns])
    except driver.Error as exc:  # the same exception classes SQLAlchemy raises for its own statements
        raise DBAPIError.instance(copy_sql, None, exc, type(driver).Error) from exc
    return _rowcount(connection.exec_driver_sql(
        f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM {staging} {on_conflict}"))


def _dead_letter(batch: _Batch, index: int, message: Message, reason: str, now: datetime) -> None:
    digest = hashlib.sha256(b"\0".join([message.source.encode(), (message.topic or "").encode(),
                                        message.payload])).hexdigest()
    sn = _storable(message.sn[:64]) if message.sn else None
    reason = _storable(reason[:500])
    batch.dead.append({"digest": digest, "received_at": now, "source": message.source,
                       "topic": _storable(message.topic[:255]) if message.topic else None, "sn": sn, "reason": reason,
                       "payload": _storable(message.payload[:DEAD_LETTER_EXCERPT].decode("utf-8", "backslashreplace"))})
    batch.rejected.append(Rejected(index=index, sn=sn, reason=reason))


def _storable(text: str) -> str:
    """``text`` with NUL written as ``\\x00``: PostgreSQL text cannot hold it, and a dead letter must always store."""
    return text.replace("\x00", "\\x00")


# -- HTTP ingestion --------------------------------------------------------------------------------


MAX_HTTP_BODY = 4 * 1024 * 1024
MAX_HTTP_HEARTBEATS = 1000


@dataclass(frozen=True)
class Sender:
    """Who posts heartbeats over HTTP: one terminal (its own heartbeats only) or an administrator."""

    principal: Principal | None = None
    terminal_id: int | None = None
    serial_number: str | None = None


def sender_for_terminal_token(db: Database, token: str) -> Sender | None:
    """The terminal a terminal token belongs to, or None when it is unknown or revoked."""
    with db.transaction() as session:
        row = session.execute(
            select(TerminalToken, Terminal.serial_number).join(Terminal, Terminal.id == TerminalToken.terminal_id)
            .where(TerminalToken.token_hash == hash_token(token), TerminalToken.revoked_at.is_(None))).first()
        if row is None:
            return None
        token_row, serial = row
        token_row.last_used_at = utcnow()
        return Sender(terminal_id=token_row.terminal_id, serial_number=serial)


def sender_for_bearer(db: Database, settings: Settings, authorization: str | None) -> Sender:
    """Who sends with this Authorization header: a terminal's own token (``posterm_…``) or a user's; else 401."""
    token = bearer_token(authorization)
    if token is None:
        raise Unauthorized(key="error.unauthorized.required")
    if token.startswith(TERMINAL_TOKEN_PREFIX):
        sender = sender_for_terminal_token(db, token)
    else:
        principal = accounts.principal_for_token(db, settings, token)
        sender = Sender(principal=principal) if principal is not None else None
    if sender is None:
        raise Unauthorized(key="error.unauthorized.bad_token")
    return sender


def ingest_http(db: Database, sender: Sender, body: bytes, now: datetime | None = None) -> IngestResult:
    """Store one heartbeat or a JSON array of them, posted over HTTP.

    Refuses (403) a terminal posting for another serial number, or a user of another role than
    admin. Every invalid heartbeat, and every heartbeat of an unknown serial number, is kept as a
    dead letter and then refused with 422 naming the field and the reason; the valid ones of
    the same array are stored all the same (storing is idempotent, so resending the whole array
    is safe).
    """
    if sender.terminal_id is None:
        if sender.principal is None:
            raise Forbidden(key="telemetry.error.poster")
        require_role(sender.principal, *POSTER_ROLES)
    messages = _http_messages(body, sender)
    with db.transaction() as session:
        result = store_messages(session, messages, now or utcnow())
    if result.rejected:
        array = body.lstrip().startswith(b"[")
        raise Invalid.many([problem for r in result.rejected for problem in _problems(r, array)])
    return result


def _http_messages(body: bytes, sender: Sender) -> list[Message]:
    """Split a request body into messages, refusing a terminal that posts for another."""
    if len(body) > MAX_HTTP_BODY:
        raise Invalid("body", key="telemetry.error.body_too_large", size=len(body), limit=MAX_HTTP_BODY)
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return [Message.parse("http", body, expected_sn=sender.serial_number)]  # dead-lettered with the reason
    items = document if isinstance(document, list) else [document]
    if not items:
        raise Invalid("body", key="telemetry.error.empty_array")
    if len(items) > MAX_HTTP_HEARTBEATS:
        raise Invalid("body", key="telemetry.error.too_many_heartbeats", max=MAX_HTTP_HEARTBEATS)
    if sender.serial_number is not None:
        for item in items:
            claimed = item.get("sn") if isinstance(item, dict) else None
            if isinstance(claimed, str) and claimed != sender.serial_number:
                raise Forbidden(key="telemetry.error.other_terminal", sn=sender.serial_number)
    messages = []
    for item in items:
        hint = item.get("sn") if isinstance(item, dict) and isinstance(item.get("sn"), str) else None
        payload = json.dumps(item, ensure_ascii=False).encode() if isinstance(document, list) else body
        messages.append(Message.parse("http", payload, expected_sn=sender.serial_number, sn_hint=hint))
    return messages


def _problems(rejected: Rejected, array: bool) -> list[Problem]:
    """The field path and message of each problem in a dead letter's reason (``battery.pct: Input …``).

    A dead letter keeps its reason in English only (it is for the terminal's developers), so both
    languages of the problem say it in English.
    """
    problems: list[Problem] = []
    for part in rejected.reason.split("; "):
        where, sep, message = part.partition(": ")
        if not sep or not all(name.isidentifier() or name.isdigit() for name in where.split(".")):
            where, message = ("sn" if part.startswith("unknown terminal") else "payload"), part
        problems.append(Problem(f"{rejected.index}.{where}" if array else where, Label(message, message)))
    return problems


# -- terminal tokens ----------------------------------------------------------------------------


def issue_terminal_token(db: Database, principal: Principal, terminal_id: int) -> TerminalTokenOut:
    """Issue a bearer token a terminal posts its own heartbeats with; revokes the terminal's earlier ones."""
    require_role(principal, *TOKEN_ISSUERS)
    with db.transaction() as session:
        terminal = terminals.load_terminal(session, principal, terminal_id)
        now = utcnow()
        revoked = session.execute(update(TerminalToken).where(
            TerminalToken.terminal_id == terminal.id, TerminalToken.revoked_at.is_(None)).values(revoked_at=now))
        token = TERMINAL_TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = TerminalToken(terminal_id=terminal.id, token_hash=hash_token(token), prefix=token[:12],
                            created_by=principal.username, created_at=now)
        session.add(row)
        session.flush()
        audit.record(session, principal, AuditEntity.TERMINAL, terminal.id, "telemetry_token_issue",
                     after={"token_id": row.id, "prefix": row.prefix, "revoked_earlier": _rowcount(revoked)})
        return TerminalTokenOut(terminal_id=terminal.id, serial_number=terminal.serial_number, token=token,
                                prefix=row.prefix)


def revoke_terminal_tokens(db: Database, principal: Principal, terminal_id: int) -> int:
    """Revoke every token of a terminal; returns how many were in use."""
    require_role(principal, *TOKEN_ISSUERS)
    with db.transaction() as session:
        terminal = terminals.load_terminal(session, principal, terminal_id)
        revoked = _rowcount(session.execute(update(TerminalToken).where(
            TerminalToken.terminal_id == terminal.id, TerminalToken.revoked_at.is_(None)).values(revoked_at=utcnow())))
        audit.record(session, principal, AuditEntity.TERMINAL, terminal.id, "telemetry_token_revoke",
                     after={"revoked": revoked})
        return revoked


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


# -- a terminal's state ---------------------------------------------------------------------------


def terminal_telemetry(db: Database, principal: Principal, terminal_id: int,
                       now: datetime | None = None) -> TerminalTelemetry:
    """A terminal's latest heartbeat, online or not, the evidence it gives and its groups' open incidents."""
    with db.transaction() as session:
        terminal = terminals.load_terminal(session, principal, terminal_id)
        return _telemetry(session, terminal, now or utcnow())


def online_since(now: datetime | None = None) -> datetime:
    """The instant after which a heartbeat's receipt counts a terminal as online (POSOPS_TELEMETRY_OFFLINE_AFTER_S)."""
    return (now or utcnow()) - timedelta(seconds=get_settings().telemetry_offline_after_s)


def _telemetry(session: Session, terminal: Terminal, now: datetime) -> TerminalTelemetry:
    snapshot = session.get(TelemetrySnapshot, terminal.id)
    heartbeat = _heartbeat(snapshot)
    incidents = open_incidents_for(session, terminal, snapshot)
    evidence = derive_evidence(heartbeat, fleet_facts(session, terminal, snapshot, incidents, now))
    refs = [incident_ref(i) for i in incidents]
    if snapshot is None:
        return TerminalTelemetry(terminal_id=terminal.id, serial_number=terminal.serial_number, online=None,
                                 evidence=evidence, incidents=refs)
    return TerminalTelemetry(
        terminal_id=terminal.id, serial_number=terminal.serial_number,
        online=snapshot.last_seen_at >= online_since(now), last_seen_at=snapshot.last_seen_at,
        seq=snapshot.seq, ts=snapshot.ts, failing=snapshot.failing,
        failure_reasons=[r for r in snapshot.failure_reasons.split(",") if r],
        heartbeat=json.loads(snapshot.payload), evidence=evidence, incidents=refs)


def _heartbeat(snapshot: TelemetrySnapshot | None) -> Heartbeat | None:
    if snapshot is None:
        return None
    try:
        return parse_heartbeat(snapshot.payload)
    except HeartbeatError:
        return None  # stored under an older schema version: says nothing today


def open_incidents_for(session: Session, terminal: Terminal,
                       snapshot: TelemetrySnapshot | None = None) -> list[Incident]:
    """Open incidents of the terminal's area (region, carrier) and cohort (model, app version it runs)."""
    app = (snapshot.app_version if snapshot is not None else None) or terminal.app_version
    groups = [(Dimension.AREA.value, terminal.region, terminal.carrier), (Dimension.COHORT.value, terminal.model, app)]
    return list(session.scalars(select(Incident).where(
        Incident.status == IncidentStatus.OPEN,
        tuple_(Incident.dimension, Incident.group_first, Incident.group_second).in_(groups)).order_by(Incident.id)))


def fleet_facts(session: Session, terminal: Terminal, snapshot: TelemetrySnapshot | None,
                incidents: Sequence[Incident], now: datetime) -> FleetFacts:
    """What the fleet says about a terminal (see :class:`FleetFacts`).

    The latest release of a model is the newest ``app_version`` registered for that model in
    the terminals table (no separate release catalogue). An open incident of the terminal's
    area or cohort is a "yes"; its absence is a "no" only while outage scans are running.
    """
    versions = [v for v in session.scalars(select(Terminal.app_version).distinct()
                                           .where(Terminal.model == terminal.model)) if v and is_version(v)]
    latest = max(versions, key=version_key) if versions else None
    dimensions = {incident.dimension for incident in incidents}
    scanned = session.scalar(select(func.max(ScheduledRun.finished_at)).where(ScheduledRun.job == SCAN_JOB))
    live = scanned is not None and now - scanned <= SCAN_FRESH_FOR

    def known(dimension: Dimension) -> bool | None:
        return True if dimension.value in dimensions else (False if live else None)

    del snapshot  # the cohort is already chosen by open_incidents_for
    return FleetFacts(now=now, latest_app=latest, area_incident=known(Dimension.AREA),
                      cohort_incident=known(Dimension.COHORT))


def telemetry_evidence(session: Session, terminal: Terminal, now: datetime | None = None) -> Evidence:
    """Check outcomes the terminal's telemetry and the fleet support, for a diagnosis started on it.

    Volatile checks (battery, signal, paper, screen, response code) are only given from a
    heartbeat at most 15 minutes old (``EvidencePolicy.stale_after``).
    """
    now = now or utcnow()
    snapshot = session.get(TelemetrySnapshot, terminal.id)
    incidents = open_incidents_for(session, terminal, snapshot)
    return derive_evidence(_heartbeat(snapshot), fleet_facts(session, terminal, snapshot, incidents, now))


def incident_ref(incident: Incident, affected: int = 0) -> IncidentRef:
    """An incident as listed."""
    campaign = incident.group_first if incident.dimension == Dimension.CAMPAIGN else ""
    return IncidentRef(id=incident.id, dimension=incident.dimension, group_first=incident.group_first,
                       group_second=incident.group_second, campaign_id=int(campaign) if campaign.isdigit() else None,
                       status=incident.status, opened_at=incident.opened_at,
                       closed_at=incident.closed_at, baseline=incident.baseline, terminals=incident.terminals,
                       failing=incident.failing,
                       share=incident.failing / incident.terminals if incident.terminals else 0.0,
                       peak_share=incident.peak_share, affected=affected)


# -- history and charts -----------------------------------------------------------------------------


def terminal_history(db: Database, principal: Principal, terminal_id: int, *, hours: int | None = None,
                     now: datetime | None = None) -> TerminalHistory:
    """Battery, signal and reader error rate over ``hours`` (default: as far back as it reported, 15 min to 24 h)."""
    now = now or utcnow()
    if hours is not None and not 1 <= hours <= 24 * 7:
        raise Invalid("hours", key="telemetry.error.between", min=1, max=24 * 7)
    with db.transaction() as session:
        terminal = terminals.load_terminal(session, principal, terminal_id)
        return _history(session, terminal, now, timedelta(hours=hours) if hours else None)


def _history(session: Session, terminal: Terminal, now: datetime, span: timedelta | None) -> TerminalHistory:
    earliest = now - (span or HISTORY_SPAN_MAX)
    rows = session.execute(
        select(HeartbeatRecord.ts, HeartbeatRecord.received_at, HeartbeatRecord.battery_pct,
               HeartbeatRecord.signal_dbm, HeartbeatRecord.reads, HeartbeatRecord.read_errors)
        .where(HeartbeatRecord.terminal_id == terminal.id, HeartbeatRecord.received_at >= earliest,
               HeartbeatRecord.received_at <= now)
        .order_by(HeartbeatRecord.received_at.desc()).limit(HISTORY_ROWS_MAX)).all()
    readings = sorted((Reading(plotted_at(ts, received), *values) for ts, received, *values in rows),
                      key=lambda r: r.at)
    if span is None:
        first = readings[0].at if readings else now
        span = min(max(now - first, HISTORY_SPAN_MIN), HISTORY_SPAN_MAX)
    since = now - span

    def points(values: list[tuple[datetime, float]]) -> list[Point]:
        return [Point(at=at, value=round(value, 4)) for at, value in values]

    return TerminalHistory(
        terminal_id=terminal.id, since=since, until=now,
        battery_pct=points(bucket_means(readings, lambda r: r.battery_pct, since=since, until=now, buckets=60)),
        signal_dbm=points(bucket_means(readings, lambda r: r.signal_dbm, since=since, until=now, buckets=60)),
        read_error_rate=points(error_rates(readings, since=since, until=now, buckets=24)))


@dataclass(frozen=True)
class TelemetrySection:
    """What the terminal page's telemetry section shows."""

    state: TerminalTelemetry
    history: TerminalHistory
    network_type: str | None


def terminal_section(db: Database, principal: Principal, terminal_id: int,
                     now: datetime | None = None) -> TelemetrySection:
    """The terminal page's telemetry: state, evidence, incidents and charts, in one transaction."""
    now = now or utcnow()
    with db.transaction() as session:
        terminal = terminals.load_terminal(session, principal, terminal_id)
        state = _telemetry(session, terminal, now)
        history = _history(session, terminal, now, None)
    network = (state.heartbeat or {}).get("network") or {}
    network_type = network.get("type") if isinstance(network, dict) else None
    return TelemetrySection(state=state, history=history, network_type=network_type)


# -- dead letters and retention ---------------------------------------------------------------------


def dead_letters(db: Database, principal: Principal, *, limit: int = 50) -> DeadLetters:
    """The dead letters: how many, how many per reason (its text up to the first colon), the newest ones."""
    require_role(principal, *STAFF_ROLES)
    if not 1 <= limit <= 500:
        raise Invalid("limit", key="telemetry.error.between", min=1, max=500)
    with db.transaction() as session:
        total = session.scalar(select(func.count(DeadLetter.id))) or 0
        by_reason: dict[str, int] = {}
        for reason, count in session.execute(select(DeadLetter.reason, func.count(DeadLetter.id))
                                             .group_by(DeadLetter.reason)):
            kind = _reason_kind(reason)
            by_reason[kind] = by_reason.get(kind, 0) + count
        items = [DeadLetterOut.model_validate(row, from_attributes=True) for row in session.scalars(
            select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit))]
        return DeadLetters(total=total, by_reason=by_reason, items=items)


def _reason_kind(reason: str) -> str:
    """``battery.pct: Input should be …`` → ``battery.pct``; ``unknown terminal serial number 'X'`` → its words."""
    if reason.startswith("unknown terminal"):
        return "unknown terminal serial number"
    return reason.split(":", 1)[0].split(";", 1)[0][:80]


def prune_history(db: Database, now: datetime, *, retention_days: int | None = None,
                  chunk: int = 5000, max_chunks: int = 1000) -> int:
    """Delete heartbeats and dead letters received more than the retention period ago; returns how many.

    Deletes in chunks, one transaction each, so a long backlog never holds a lock for long.
    """
    days = retention_days if retention_days is not None else get_settings().telemetry_retention_days
    if days < 1:
        raise Invalid("retention_days", key="telemetry.error.retention_days", min=1)
    cutoff = now - timedelta(days=days)
    removed = 0
    for _ in range(max_chunks):
        with db.transaction() as session:
            old = (select(HeartbeatRecord.sn, HeartbeatRecord.seq).where(HeartbeatRecord.received_at < cutoff)
                   .limit(chunk))
            count = _rowcount(session.execute(delete(HeartbeatRecord).where(
                tuple_(HeartbeatRecord.sn, HeartbeatRecord.seq).in_(old))))
        removed += count
        if count < chunk:
            break
    with db.transaction() as session:
        removed += _rowcount(session.execute(delete(DeadLetter).where(DeadLetter.received_at < cutoff)))
    return removed


def fleet_profiles(db: Database, limit: int) -> list[dict[str, str]]:
    """Registry values of up to ``limit`` terminals in service (active or suspended), for the simulator."""
    with db.transaction() as session:
        rows = session.execute(
            select(Terminal.serial_number, Terminal.model, Terminal.region, Terminal.carrier, Terminal.network_type,
                   Terminal.app_version, Terminal.firmware_version)
            .where(Terminal.status.in_((TerminalStatus.ACTIVE, TerminalStatus.SUSPENDED)))
            .order_by(Terminal.id).limit(limit)).all()
    names = ("sn", "model", "region", "carrier", "network", "app_version", "firmware")
    return [{name: value for name, value in zip(names, row, strict=True) if value} for row in rows]


# ---------------------------------------------------------------- outage incidents

SCANNER = Principal(user_id=None, username="outage-scan", role=Role.ADMIN)
"""The actor of incidents opened and closed by the scan."""


def _group_columns(dimension: Dimension) -> tuple[SQLColumnExpression[str], SQLColumnExpression[str]]:
    if dimension is Dimension.AREA:
        return Terminal.region, Terminal.carrier
    return Terminal.model, func.coalesce(TelemetrySnapshot.app_version, Terminal.app_version)


def group_counts(session: Session, now: datetime, policy: IncidentPolicy) -> dict[GroupKey, GroupStat]:
    """Per group of both scanned dimensions: terminals that reported in the window, and how many are failing."""
    window = (TelemetrySnapshot.last_seen_at > now - policy.window, TelemetrySnapshot.last_seen_at <= now)
    stats: dict[GroupKey, GroupStat] = {}
    for dimension in SCANNED_DIMENSIONS:
        first, second = _group_columns(dimension)
        query = (select(first, second, func.count(), func.sum(case((TelemetrySnapshot.failing, 1), else_=0)))
                 .select_from(TelemetrySnapshot).join(Terminal, Terminal.id == TelemetrySnapshot.terminal_id)
                 .where(*window).group_by(first, second))
        for a, b, reporting, failing in session.execute(query):
            if a and b:  # a terminal without region or carrier (model or version) belongs to no group
                stats[GroupKey(dimension, a, b)] = GroupStat(terminals=reporting, failing=int(failing or 0))
    return stats


def failing_terminals(session: Session, keys: set[GroupKey], now: datetime,
                      policy: IncidentPolicy) -> dict[GroupKey, dict[str, int]]:
    """The failing terminals (serial number → id) of some groups in the window."""
    found: dict[GroupKey, dict[str, int]] = defaultdict(dict)
    for dimension in SCANNED_DIMENSIONS:
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
                for i in session.scalars(select(Incident).where(Incident.status == IncidentStatus.OPEN,
                                                                Incident.dimension != Dimension.CAMPAIGN))}
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
            row.status, row.closed_at = IncidentStatus.CLOSED, incident.closed_at
            audit.record(session, SCANNER, AuditEntity.INCIDENT, row.id, "close",
                         before={"status": IncidentStatus.OPEN},
                         after={"status": IncidentStatus.CLOSED, "terminals": row.terminals, "failing": row.failing},
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
                   group_second=incident.key.second, status=IncidentStatus.OPEN, opened_at=now,
                   baseline=incident.baseline,
                   terminals=incident.terminals, failing=incident.failing, peak_share=incident.peak_share,
                   updated_at=now)
    session.add(row)
    session.flush()
    audit.record(session, SCANNER, AuditEntity.INCIDENT, row.id, "open",
                 after={"dimension": row.dimension, "group": [row.group_first, row.group_second],
                        "terminals": row.terminals, "failing": row.failing},
                 reason=f"{incident.share:.1%} failing against a baseline of {incident.baseline:.1%}")
    return row


def open_upgrade_incident(session: Session, actor: Principal, *, campaign_id: int, version: str, terminals: int,
                          failing: int, terminal_ids: Sequence[int], share: float, baseline: float,
                          now: datetime, reason: str) -> int:
    """Open the incident of an upgrade campaign its health gate halted, in the caller's transaction; return its id."""
    row = Incident(dimension=Dimension.CAMPAIGN.value, group_first=str(campaign_id), group_second=version,
                   status=IncidentStatus.OPEN, opened_at=now, baseline=baseline, terminals=terminals,
                   failing=failing, peak_share=share, updated_at=now)
    session.add(row)
    session.flush()
    session.add(IncidentSample(incident_id=row.id, at=now, terminals=terminals, failing=failing))
    session.add_all(IncidentTerminal(incident_id=row.id, terminal_id=t, since=now) for t in terminal_ids)
    audit.record(session, actor, AuditEntity.INCIDENT, row.id, "open",
                 after={"dimension": row.dimension, "group": [row.group_first, row.group_second],
                        "terminals": terminals, "failing": failing}, reason=reason)
    return row.id


def close_upgrade_incident(session: Session, actor: Principal, incident_id: int, now: datetime, reason: str) -> None:
    """Close an upgrade campaign's incident (rolled back, or cancelled by hand) in the caller's transaction."""
    row = session.get(Incident, incident_id, with_for_update=True)
    if row is None or row.status != IncidentStatus.OPEN:
        return
    row.status, row.closed_at, row.updated_at = IncidentStatus.CLOSED, now, now
    audit.record(session, actor, AuditEntity.INCIDENT, row.id, "close", before={"status": IncidentStatus.OPEN},
                 after={"status": IncidentStatus.CLOSED}, reason=reason)


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
        if row.status == IncidentStatus.OPEN:
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


def _affected_count(session: Session, principal: Principal, incident_ids: list[int]) -> dict[int, int]:
    """How many terminals the caller may see each incident affected."""
    if not incident_ids:
        return {}
    query = (select(IncidentTerminal.incident_id, func.count())
             .join(Terminal, Terminal.id == IncidentTerminal.terminal_id)
             .where(IncidentTerminal.incident_id.in_(incident_ids)).group_by(IncidentTerminal.incident_id))
    return dict(session.execute(scoped(query, principal, Terminal.merchant_id)).all())


def _touches_visible_terminal(principal: Principal) -> ColumnElement[bool]:
    """True for an incident that affected a terminal the caller may see."""
    touched = (select(IncidentTerminal.incident_id).join(Terminal, Terminal.id == IncidentTerminal.terminal_id)
               .where(IncidentTerminal.incident_id == Incident.id))
    return exists(scoped(touched, principal, Terminal.merchant_id))


def _status_word(status: IncidentStatus) -> Label:
    """An incident status as a refusal names it: the console's word in zh-CN, the API's value in English."""
    return Label(catalog_label(f"telemetry.status.{status.value}").zh, status.value)


def list_incidents(db: Database, principal: Principal, *, status: str | None = None,
                   limit: int = 50) -> list[IncidentRef]:
    """Incidents, open first then newest; a merchant sees only those that affected its terminals."""
    if status is not None and status not in {*IncidentStatus}:
        raise Invalid("status", key="telemetry.error.incident_status", open=_status_word(IncidentStatus.OPEN),
                      closed=_status_word(IncidentStatus.CLOSED))
    check_limit("limit", limit)
    query = select(Incident).order_by((Incident.status == IncidentStatus.OPEN).desc(), Incident.opened_at.desc(),
                                      Incident.id.desc()).limit(limit)
    if status:
        query = query.where(Incident.status == status)
    if principal.is_merchant:
        query = query.where(_touches_visible_terminal(principal))
    with db.transaction() as session:
        rows = list(session.scalars(query))
        counts = _affected_count(session, principal, [r.id for r in rows])
        return [incident_ref(r, counts.get(r.id, 0)) for r in rows]


def get_incident(db: Database, principal: Principal, incident_id: int) -> IncidentDetail:
    """One incident with its timeline and affected terminals (a merchant: its own; others' incidents are 404)."""
    with db.transaction() as session:
        row = session.get(Incident, incident_id)
        if row is None:
            raise NotFound(key="telemetry.error.incident_not_found")
        query = scoped(select(IncidentTerminal.since, Terminal, Merchant.name)
                       .join(Terminal, Terminal.id == IncidentTerminal.terminal_id)
                       .join(Merchant, Merchant.id == Terminal.merchant_id)
                       .where(IncidentTerminal.incident_id == row.id).order_by(Terminal.serial_number),
                       principal, Terminal.merchant_id)
        affected = [AffectedTerminal(terminal_id=t.id, serial_number=t.serial_number, merchant_id=t.merchant_id,
                                     merchant_name=name, region=t.region, carrier=t.carrier, model=t.model,
                                     since=since) for since, t, name in session.execute(query)]
        if principal.is_merchant and not affected:
            raise NotFound(key="telemetry.error.incident_not_found")
        samples = [Sample(at=s.at, terminals=s.terminals, failing=s.failing,
                          share=s.failing / s.terminals if s.terminals else 0.0)
                   for s in session.scalars(select(IncidentSample).where(IncidentSample.incident_id == row.id)
                                            .order_by(IncidentSample.at))]
        ref = incident_ref(row, len(affected))
        return IncidentDetail(**ref.model_dump(), samples=samples, affected_terminals=affected)
