"""Use cases of ISO 8583 traffic: decode a frame, import a log or capture, read a terminal's latest traffic.

An import analyses the file first (outside any transaction: it may take a while), then stores in
one transaction, for each registered terminal whose TID appears, the analysis summary and the
diagnosis evidence it implies; moves the terminal's ``last_transaction_at`` forward to its latest
approved payment; and writes an audit event per terminal. TIDs posops does not know are reported
back, never created. The raw file is never stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from posops.core import audit
from posops.core.audit import AuditEntity
from posops.core.auth import Principal, Role, require_role
from posops.core.db import Database, utcnow
from posops.core.errors import Invalid, NotFound, Problem
from posops.iso8583.analysis import AnalysisSettings, TerminalTraffic, TrafficReport, analyze
from posops.iso8583.codec import frame_from_hex
from posops.iso8583.errors import FrameError
from posops.iso8583.masking import mask_card_numbers
from posops.iso8583.models import TerminalTrafficRecord, TrafficAnalysis
from posops.iso8583.naming import KINDS
from posops.iso8583.pcap import PcapError
from posops.iso8583.response_codes import lookup
from posops.iso8583.safe import decode_safe
from posops.iso8583.schemas import (
    DecodedFrame,
    DecodeIn,
    MatchedTerminal,
    TerminalTrafficOut,
    TrafficImportOut,
)
from posops.iso8583.sources import read_frames
from posops.terminals import service as terminals
from posops.terminals.models import Terminal

IMPORTERS = (Role.AGENT, Role.TECHNICIAN, Role.ADMIN)
"""Who may import traffic: the support desk, technicians in the field and administrators."""
EVIDENCE_MAX_AGE = timedelta(days=30)
"""Traffic older than this says nothing about the terminal today: the diagnosis engine is not told of it."""
CLOCK_SKEW = timedelta(hours=1)
"""A transaction time later than now by more than this is a wrong terminal clock, not activity."""
_MAX_SOURCE_NAME = 255


def may_import(principal: Principal) -> bool:
    """Tell whether the caller's role may import traffic (to offer the upload page)."""
    return principal.role in IMPORTERS


def ensure_may_import(principal: Principal) -> None:
    """Refuse (403) a caller who may not import traffic, before the upload is even read."""
    require_role(principal, *IMPORTERS)


# -- decoding ---------------------------------------------------------------------------------


def decode(principal: Principal, data: DecodeIn) -> DecodedFrame:
    """Decode one frame to its masked, named and explained view; a malformed frame is a 422 naming part and offset."""
    del principal  # any signed-in role may decode: the answer holds nothing the caller did not send, masked
    master_key = _master_key(data.master_key)
    try:
        safe = decode_safe(frame_from_hex(data.hex), master_key)
    except FrameError as exc:
        raise Invalid.many([Problem("hex", exc.said, context=exc.to_dict())]) from None
    return DecodedFrame.model_validate(safe.to_dict())


def _master_key(text: str | None) -> bytes | None:
    if text is None or not text.strip():
        return None
    try:
        key = bytes.fromhex("".join(text.split()))
    except ValueError:
        raise Invalid("master_key", key="iso8583.error.master_key_hex") from None
    if len(key) not in (8, 16, 24):
        raise Invalid("master_key", key="iso8583.error.master_key_size")
    return key


# -- importing --------------------------------------------------------------------------------


def import_traffic(db: Database, principal: Principal, path: Path, source_name: str, *,
                   settings: AnalysisSettings | None = None, master_keys: Mapping[str, bytes] | None = None,
                   port: int | None = None) -> TrafficImportOut:
    """Analyse a frame log or pcap file (streamed, never stored) and attach the result to the terminals in it."""
    ensure_may_import(principal)
    try:
        report = analyze(read_frames(path, port=port), settings, master_keys)
    except PcapError as exc:
        raise Invalid("file", exc.said) from None
    return import_report(db, principal, report, source_name)


def import_report(db: Database, principal: Principal, report: TrafficReport, source_name: str) -> TrafficImportOut:
    """Store an analysis for every registered terminal it covers, in one transaction, audited per terminal."""
    ensure_may_import(principal)
    if report.frames == 0:
        raise Invalid("file", key="iso8583.error.no_frames")
    name = clean_source_name(source_name)
    now = utcnow()
    with db.transaction() as session:
        by_tid = terminals.lock_terminals_by_tid(session, principal, (t.tid for t in report.terminals))
        summary = report.to_dict()
        del summary["terminals"]
        unknown = [t.tid for t in report.terminals if t.tid not in by_tid and t.tid != "-"]
        analysis = TrafficAnalysis(
            source_name=name, analysed_at=now, analysed_by=principal.username,
            analysed_by_user_id=principal.user_id, frames=report.frames, malformed=report.malformed,
            traffic_started=_time(report.started), traffic_ended=_time(report.ended),
            matched_terminals=sum(1 for t in report.terminals if t.tid in by_tid), unknown_tids=unknown,
            summary=summary)
        session.add(analysis)
        session.flush()
        stored: list[TerminalTrafficOut] = []
        matched: list[MatchedTerminal] = []
        for traffic in report.terminals:
            terminal = by_tid.get(traffic.tid)
            if terminal is None:
                continue
            record = _attach(session, principal, analysis, terminal, traffic, now)
            stored.append(_traffic_out(record, analysis, terminal.serial_number))
            matched.append(MatchedTerminal(terminal_id=terminal.id, tid=terminal.tid,
                                           serial_number=terminal.serial_number,
                                           last_transaction_at=terminal.last_transaction_at))
        figures = {key: summary[key] for key in ("frames", "malformed", "errors", "unmatched_answers", "started",
                                                 "ended", "approved", "failures", "fleet_storms")}
        return TrafficImportOut.model_validate({
            **figures, "id": analysis.id, "source_name": name, "analysed_at": now,
            "analysed_by": principal.username, "matched": matched, "unknown_tids": unknown, "terminals": stored})


def clean_source_name(name: str) -> str:
    """The file name to keep: its last path part, printable, shortened, any card-number-like digits masked."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    printable = "".join(ch for ch in base if ch.isprintable()).strip()
    return mask_card_numbers(printable)[:_MAX_SOURCE_NAME] or "upload"


def _time(moment: float | None) -> datetime | None:
    return None if moment is None else _at(moment)


def _at(moment: float) -> datetime:
    return datetime.fromtimestamp(moment, UTC)


def _attach(session: Session, principal: Principal, analysis: TrafficAnalysis, terminal: Terminal,
            traffic: TerminalTraffic, now: datetime) -> TerminalTrafficRecord:
    """Store one terminal's traffic, move its activity forward, and audit it."""
    last_payment = _time(traffic.last_approved_transaction)
    if last_payment is not None and last_payment > now + CLOCK_SKEW:
        last_payment = None  # a terminal clock in the future must not postpone dormancy forever
    last_sign_in = _time(traffic.last_successful_sign_in)
    record = TerminalTrafficRecord(
        analysis_id=analysis.id, terminal_id=terminal.id, tid=traffic.tid, analysed_at=now,
        first_seen=min(_at(traffic.first_seen), now), last_seen=min(_at(traffic.last_seen), now),
        last_outcome_code=traffic.last_outcome.code if traffic.last_outcome is not None else None,
        last_approved_transaction_at=last_payment, summary=traffic.to_dict(), evidence=dict(traffic.evidence))
    session.add(record)
    before = {"last_transaction_at": _iso(terminal.last_transaction_at), "must_sign_in": terminal.must_sign_in}
    terminals.record_activity(session, terminal, transaction_at=last_payment,
                              signed_in=_signed_in_since_marked(session, terminal, last_sign_in))
    session.flush()
    audit.record(session, principal, AuditEntity.TERMINAL, terminal.id, "traffic_import", before=before,
                 after={"last_transaction_at": _iso(terminal.last_transaction_at),
                        "must_sign_in": terminal.must_sign_in, "traffic_analysis_id": analysis.id,
                        "last_outcome": record.last_outcome_code, "evidence": record.evidence},
                 reason=analysis.source_name)
    return record


def _signed_in_since_marked(session: Session, terminal: Terminal, last_sign_in: datetime | None) -> bool:
    """True when the traffic shows a successful sign-in after the terminal was told to sign in again."""
    if not terminal.must_sign_in or last_sign_in is None:
        return False
    marked = [e.at for e in audit.history(session, AuditEntity.TERMINAL, terminal.id)
              if isinstance(e.after, dict) and e.after.get("must_sign_in") is True
              and not (isinstance(e.before, dict) and e.before.get("must_sign_in") is True)]
    return bool(marked) and last_sign_in > max(marked)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


# -- reading ----------------------------------------------------------------------------------


def latest_traffic(db: Database, principal: Principal, terminal_id: int) -> TerminalTrafficOut:
    """The newest traffic analysed for a terminal the caller may see; 404 when there is none."""
    with db.transaction() as session:
        terminal = terminals.load_terminal(session, principal, terminal_id)
        found = _latest(session, terminal.id)
        if found is None:
            raise NotFound(key="iso8583.error.no_traffic")
        return _traffic_out(*found, terminal.serial_number)


def _latest(session: Session, terminal_id: int) -> tuple[TerminalTrafficRecord, TrafficAnalysis] | None:
    """The record with the newest traffic (an older log imported later does not hide newer traffic)."""
    row = session.execute(
        select(TerminalTrafficRecord, TrafficAnalysis)
        .join(TrafficAnalysis, TrafficAnalysis.id == TerminalTrafficRecord.analysis_id)
        .where(TerminalTrafficRecord.terminal_id == terminal_id)
        .order_by(TerminalTrafficRecord.last_seen.desc(), TerminalTrafficRecord.id.desc()).limit(1)).first()
    return None if row is None else (row[0], row[1])


def _traffic_out(record: TerminalTrafficRecord, analysis: TrafficAnalysis,
                 serial_number: str | None = None) -> TerminalTrafficOut:
    return TerminalTrafficOut(
        terminal_id=record.terminal_id, tid=record.tid, serial_number=serial_number, analysis_id=analysis.id,
        source_name=analysis.source_name, analysed_at=record.analysed_at, analysed_by=analysis.analysed_by,
        first_seen=record.first_seen, last_seen=record.last_seen,
        last_approved_transaction_at=record.last_approved_transaction_at, evidence=dict(record.evidence),
        traffic=dict(record.summary))


def traffic_evidence(session: Session, terminal: Terminal) -> dict[str, str]:
    """Check outcomes the terminal's newest traffic proves (``response_code``, ``key_check``, ``host_status``).

    Empty when no traffic was imported or it is older than :data:`EVIDENCE_MAX_AGE`. The caller
    has already loaded ``terminal`` with its own scoping.
    """
    found = _latest(session, terminal.id)
    if found is None or found[0].last_seen < utcnow() - EVIDENCE_MAX_AGE:
        return {}
    return {str(check): str(outcome) for check, outcome in found[0].evidence.items()}


# -- the terminal page ------------------------------------------------------------------------


@dataclass(frozen=True)
class FailureRow:
    """One failure code of a terminal's traffic, with its meaning and share of the failures."""

    code: str
    count: int
    zh: str
    en: str
    percent: float


@dataclass(frozen=True)
class TrafficSection:
    """What the terminal page's traffic section shows, and whether the viewer may import more."""

    traffic: TerminalTrafficOut | None
    can_import: bool
    stale: bool = False
    """The traffic is older than :data:`EVIDENCE_MAX_AGE`: diagnoses no longer use it."""
    max_age_days: int = EVIDENCE_MAX_AGE.days
    failures: list[FailureRow] = field(default_factory=list)
    response_meaning: dict[str, str] = field(default_factory=dict)
    """zh and en meaning of the ``response_code`` evidence, when there is one."""
    last_kind: dict[str, str] = field(default_factory=dict)
    """zh and en name of the last outcome's message kind (purchase, sign-in …)."""

    @property
    def data(self) -> dict[str, Any]:
        """The stored traffic summary (empty when none)."""
        return self.traffic.traffic if self.traffic is not None else {}


def terminal_section(db: Database, principal: Principal, terminal_id: int) -> TrafficSection:
    """The terminal page's traffic section: latest analysis, failures by code with meanings, evidence."""
    with db.transaction() as session:
        terminal = terminals.load_terminal(session, principal, terminal_id)
        found = _latest(session, terminal.id)
        if found is None:
            return TrafficSection(traffic=None, can_import=may_import(principal))
        out = _traffic_out(*found, terminal.serial_number)
    failures: dict[str, int] = out.traffic.get("failures") or {}
    total = sum(failures.values()) or 1
    rows = [FailureRow(code, count, lookup(code).zh, lookup(code).en, round(100 * count / total, 1))
            for code, count in failures.items()]
    code = out.evidence.get("response_code")
    meaning = {}
    if code is not None and code != "none":
        meaning = {"zh": lookup(code).zh, "en": lookup(code).en}
    last = out.traffic.get("last_outcome") or {}
    kind = KINDS.get(str(last.get("kind")))
    return TrafficSection(traffic=out, can_import=may_import(principal),
                          stale=out.last_seen < utcnow() - EVIDENCE_MAX_AGE, failures=rows, response_meaning=meaning,
                          last_kind=kind.to_dict() if kind is not None else {})
