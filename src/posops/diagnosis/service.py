"""Use cases of troubleshooting: start a diagnosis, answer its steps, read it, learn from resolved ones."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from threading import Lock
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from posops.core import audit
from posops.core.audit import AuditEntity
from posops.core.auth import Principal, Role, require_role
from posops.core.config import get_settings
from posops.core.db import Database, conflict_on_duplicate, utcnow
from posops.core.errors import Conflict, Forbidden
from posops.core.labels import Label, catalog_sentence, said
from posops.core.scoping import load_visible
from posops.diagnosis.continuity import likely_down, meanwhile
from posops.diagnosis.engine import Assessment, DiagnosisEngine, SessionState, status_word
from posops.diagnosis.knowledge import Check, Knowledge, apply_overlay, load_knowledge
from posops.diagnosis.learning import ResolvedCase, learned_overlay, refit
from posops.diagnosis.models import DiagnosisSession, DiagnosisStep, KnowledgeOverlay
from posops.diagnosis.schemas import (
    DeskQueue,
    DiagnosisCreate,
    DiagnosisDetail,
    DiagnosisOut,
    DiagnosisSummary,
    HandoverIn,
    NextStep,
    RankedCause,
    StepAnswer,
    StepRecord,
    SuspensionOut,
    SymptomChoice,
    SymptomPick,
    UpgradeCauseOut,
)
from posops.diagnosis.vocabulary import ESCALATE, HandoverReason, SessionStatus, StepBy, StepKind
from posops.iso8583 import service as traffic
from posops.telemetry import service as telemetry
from posops.terminals import service as terminals
from posops.terminals.lifecycle import REASON_LABELS, SuspensionReason, TerminalStatus
from posops.terminals.models import Terminal
from posops.tickets import service as tickets
from posops.upgrades import service as upgrades
from posops.upgrades.gate import HEALTH_SIGNALS
from posops.upgrades.schemas import CampaignStatus
from posops.upgrades.service import UpgradeFacts
from posops.upgrades.steps import IN_PROGRESS, FailureCode, TargetState

TOP_CAUSES = 8
MERCHANT_STEP_BUDGET = 12
"""Answered steps of a merchant-led session after which contacting support is proposed."""
SIBLINGS_SHOWN = 3
HANDOVERS_SHOWN_FOR = timedelta(days=14)
DESK = (Role.AGENT, Role.TECHNICIAN, Role.ADMIN)
"""Who works the desk's queue of diagnoses."""
WARM_UP_TEXT = "POS机刷卡没反应"
IDLE_SCAN = Principal(user_id=None, username="diagnosis-idle-scan", role=Role.SYSTEM)
HALTED_RELEASE = "sw.upgrade_bug"
"""The cause a campaign's health gate records when it halts the version a terminal runs: a defect in that release."""
VERIFY_FAILURES = frozenset({FailureCode.CHECKSUM_FAILED, FailureCode.SIGNATURE_INVALID})
_engines: dict[tuple[str, int] | None, DiagnosisEngine] = {}
_engines_lock = Lock()


def _engine(session: Session) -> DiagnosisEngine:
    """The engine built from the written knowledge and the newest learned overlay, built once per overlay."""
    overlay_id = session.scalar(select(func.max(KnowledgeOverlay.id)))
    key = None if overlay_id is None else (str(session.get_bind().engine.url), overlay_id)
    engine = _engines.get(key)
    if engine is None:
        with _engines_lock:
            engine = _engines.get(key)
            if engine is None:
                knowledge: Knowledge = load_knowledge()
                if overlay_id is not None:
                    row = session.get(KnowledgeOverlay, overlay_id)
                    assert row is not None
                    knowledge = apply_overlay(knowledge, row.overlay)
                engine = _engines[key] = DiagnosisEngine(knowledge)
    return engine


def warm_up(db: Database) -> None:
    """Build the engine in force and train its learned reader, so that the first diagnosis does not wait."""
    with db.transaction() as session:
        _engine(session).start(WARM_UP_TEXT)


def fleet_evidence(session: Session, terminal: Terminal) -> dict[str, str]:
    """What posops already knows about a terminal, as check outcomes the engine need not ask for."""
    evidence: dict[str, str] = {}
    account = terminals.account_status_evidence(session, terminal)
    if account is not None:
        evidence["account_status"] = account
    evidence.update(traffic.traffic_evidence(session, terminal))  # response_code, key_check, host_status
    # Telemetry last: its volatile checks (response_code among them) come only from a heartbeat at most
    # 15 minutes old, so when it has them they are fresher than imported traffic and win.
    evidence.update(telemetry.telemetry_evidence(session, terminal))
    # The campaign's reports and its gate know more of an upgrade than the fleet's heartbeats guess.
    evidence.update(upgrade_evidence(upgrades.upgrade_facts(session, terminal.id), terminal))
    return evidence


def upgrade_evidence(facts: UpgradeFacts | None, terminal: Terminal) -> dict[str, str]:
    """``upgrade_log`` and ``version_cohort`` from the latest campaign that reached the terminal (none: nothing).

    The terminal's own reports give the log: installed is ``ok``; a checksum or signature that did not verify
    is ``failed_verify``; an install under way or that failed otherwise is ``incomplete`` (an offer that
    expired before the terminal got to it installed nothing, and says nothing). The gate gives the cohort:
    the terminal runs a version whose campaign halted on a health signal, so other terminals on it fail too.
    """
    if facts is None:
        return {}
    evidence: dict[str, str] = {}
    if facts.state is TargetState.INSTALLED:
        evidence["upgrade_log"] = "ok"
    elif facts.last_code in VERIFY_FAILURES:
        evidence["upgrade_log"] = "failed_verify"
    elif facts.state in IN_PROGRESS or facts.last_code not in (None, FailureCode.OUT_OF_DATE):
        evidence["upgrade_log"] = "incomplete"
    if runs_halted_release(facts, terminal):
        evidence["version_cohort"] = "yes"
    return evidence


def runs_halted_release(facts: UpgradeFacts | None, terminal: Terminal) -> bool:
    """Whether the terminal installed, and still runs, a version whose campaign its gate halted on a health signal."""
    return (facts is not None and facts.campaign_status is CampaignStatus.HALTED
            and facts.halted_on in {signal.value for signal in HEALTH_SIGNALS}
            and facts.state is TargetState.INSTALLED
            and facts.version in (terminal.app_version, terminal.firmware_version))


def recorded_causes(session: Session, terminal: Terminal | None) -> list[str]:
    """Causes posops's records establish for a terminal (a halted release it runs), which the engine repairs first."""
    if terminal is None or not runs_halted_release(upgrades.upgrade_facts(session, terminal.id), terminal):
        return []
    return [HALTED_RELEASE]


def _halted_release(session: Session, terminal: Terminal | None, lang: str) -> UpgradeCauseOut | None:
    """The halted campaign whose version the terminal runs: which campaign, which version, and what to do."""
    facts = upgrades.upgrade_facts(session, terminal.id) if terminal is not None else None
    if facts is None or terminal is None or not runs_halted_release(facts, terminal):
        return None
    note = catalog_sentence("diagnosis.upgrade.halted", campaign=facts.campaign_id, version=facts.version,
                            previous=facts.from_version).text(lang)
    if facts.rollback_campaign_id is not None:
        rollback = catalog_sentence("diagnosis.upgrade.rolling_back", rollback=facts.rollback_campaign_id)
        note += (" " if lang != "zh-CN" else "") + rollback.text(lang)
    return UpgradeCauseOut(campaign_id=facts.campaign_id, version=facts.version, from_version=facts.from_version,
                           halted_on=facts.halted_on or "", rollback_campaign_id=facts.rollback_campaign_id, note=note)


@dataclass(frozen=True)
class KnownCheck:
    """A check whose outcome posops already knows for a terminal (from its account, traffic or telemetry)."""

    check: Check
    outcome: str


def known_checks(db: Database, principal: Principal, terminal_id: int) -> list[KnownCheck]:
    """The checks a diagnosis of this terminal would not need to ask, with their outcomes, in knowledge order."""
    with db.transaction() as session:
        terminal = terminals.load_terminal(session, principal, terminal_id)
        evidence = fleet_evidence(session, terminal)
    checks = load_knowledge().checks
    return [KnownCheck(check, evidence[check_id]) for check_id, check in checks.items()
            if check_id in evidence and evidence[check_id] in check.outcomes]


def _audience(principal: Principal) -> StepBy:
    """Who reads the answer: the merchant gets plain words and its own steps, the desk everything."""
    return StepBy.MERCHANT if principal.is_merchant else StepBy.SUPPORT


def _suspension(terminal: Terminal | None, lang: str) -> SuspensionOut | None:
    """The terminal's suspension as posops holds it: the reason and what reactivation needs."""
    if terminal is None or terminal.status != TerminalStatus.SUSPENDED or not terminal.status_reason:
        return None
    reason = SuspensionReason(terminal.status_reason)
    return SuspensionOut(reason=reason, reason_name=REASON_LABELS[reason].text(lang),
                         needs=catalog_sentence(f"diagnosis.suspension.needs.{reason}").text(lang),
                         reactivation_url=f"/terminals/{terminal.id}")


def _working_siblings(session: Session, terminal: Terminal | None) -> list[str]:
    """Serial numbers of the merchant's other active terminals (read-only), the shop's plan B."""
    if terminal is None:
        return []
    return list(session.scalars(
        select(Terminal.serial_number).where(Terminal.merchant_id == terminal.merchant_id, Terminal.id != terminal.id,
                                             Terminal.status == TerminalStatus.ACTIVE)
        .order_by(Terminal.serial_number).limit(SIBLINGS_SHOWN)))


def _track(row: DiagnosisSession, state: SessionState, assessment: Assessment) -> None:
    """Keep the queue flags in step with the session: a merchant-led step only the desk can take waits for it."""
    step = assessment.next_step
    row.waiting_for_desk = (row.merchant_led and assessment.status == SessionStatus.OPEN and step is not None
                            and step.by != StepBy.MERCHANT and step.id != ESCALATE)
    row.state, row.status, row.symptom = state.to_dict(), assessment.status, assessment.symptom or row.symptom


def _out(session: Session, row: DiagnosisSession, assessment: Assessment, engine: DiagnosisEngine,
         lang: str) -> dict[str, Any]:
    step = assessment.next_step
    terminal = session.get(Terminal, row.terminal_id) if row.terminal_id is not None else None
    suspension = _suspension(terminal, lang)
    live = assessment.status in (SessionStatus.OPEN, SessionStatus.ESCALATED)
    down = live and (suspension is not None or likely_down(engine.knowledge, assessment.ranking))
    answered = len(row.state.get("answers", ()))
    return {
        "id": row.id, "status": assessment.status, "symptom": assessment.symptom,
        "ranking": [RankedCause(cause=cause, probability=round(p, 4), name=engine.cause_name(cause, lang))
                    for cause, p in assessment.ranking[:TOP_CAUSES]],
        "next_step": None if step is None else NextStep(
            kind=step.kind, id=step.id, title=step.title, guidance=step.guidance, outcomes=list(step.outcomes),
            outcome_labels=dict(step.outcome_labels), cost=step.cost, fix_probability=step.fix_probability,
            by=step.by),
        "explanation": assessment.explanation, "terminal_id": row.terminal_id, "suspension": suspension,
        "upgrade": _halted_release(session, terminal, lang),
        "meanwhile": meanwhile(lang, _working_siblings(session, terminal),
                               loaner_free=terminal is not None and tickets.loaner_free(session, utcnow().date()))
        if down else [],
        "waiting_for_desk": row.waiting_for_desk, "handover_reason": row.handover_reason,
        "ticket_id": tickets.ticket_for_diagnosis(session, row.id) if row.status == SessionStatus.ESCALATED else None,
        "handover_proposed": (row.merchant_led and assessment.status == SessionStatus.OPEN
                              and (answered >= MERCHANT_STEP_BUDGET or (step is not None and step.id == ESCALATE))),
        "symptom_question": [SymptomChoice(symptom=s, name=engine.symptom_name(s, lang), probability=p)
                             for s, p in assessment.symptom_question]}


def start(db: Database, principal: Principal, body: DiagnosisCreate, lang: str = "zh-CN") -> DiagnosisOut:
    """Open a diagnosis from the complaint, the evidence given and what the fleet knows of the terminal."""
    with db.transaction() as session:
        engine = _engine(session)
        terminal = terminals.find_terminal(session, principal, body.terminal_id) if body.terminal_id else None
        known = fleet_evidence(session, terminal) if terminal is not None else {}
        state = engine.start(body.text, symptom=body.symptom, evidence={**known, **body.evidence},
                             recorded=recorded_causes(session, terminal))
        assessment = engine.assess(state, lang, _audience(principal))
        own_merchant = principal.merchant_id if principal.is_merchant else None
        merchant_id = terminal.merchant_id if terminal is not None else own_merchant
        row = DiagnosisSession(
            id=uuid.uuid4().hex, terminal_id=terminal.id if terminal is not None else None,
            merchant_id=merchant_id, created_by_user_id=principal.user_id,
            created_by=principal.username, text=body.text, symptom=assessment.symptom, status=assessment.status,
            initial_evidence=dict(body.evidence), fleet_evidence=known, state=state.to_dict(),
            merchant_led=principal.is_merchant)
        _track(row, state, assessment)
        session.add(row)
        session.flush()
        audit.record(session, principal, AuditEntity.DIAGNOSIS, row.id, "start",
                     after={"terminal_id": row.terminal_id, "symptom": row.symptom}, reason=body.text[:200] or None)
        return DiagnosisOut.model_validate(_out(session, row, assessment, engine, lang))


def _load(session: Session, principal: Principal, session_id: str, *, lock: bool = False) -> DiagnosisSession:
    return load_visible(session, principal, DiagnosisSession, session_id, "diagnosis", lock=lock)


def _load_open(session: Session, principal: Principal, session_id: str) -> DiagnosisSession:
    """Load and lock a session that is still open; a closed one is a 409."""
    row = _load(session, principal, session_id, lock=True)
    if row.status != SessionStatus.OPEN:
        raise Conflict(key="diagnosis.error.closed", status=status_word(SessionStatus(row.status)))
    return row


def answer(db: Database, principal: Principal, session_id: str, body: StepAnswer, lang: str = "zh-CN") -> DiagnosisOut:
    """Record the answer to a step and propose the next one; a fixed action closes the session."""
    with db.transaction() as session:
        engine = _engine(session)
        row = _load_open(session, principal, session_id)
        by = engine.performer(body.step)
        if principal.is_merchant and by is not None and by != StepBy.MERCHANT and body.step != ESCALATE:
            title = Label(engine.step_title(body.step), engine.step_title(body.step, "en"))
            raise Forbidden(key="diagnosis.error.desk_step", step=title)
        previous = SessionState.from_dict(row.state)
        state = engine.apply(previous, body.step, body.outcome)
        assessment = engine.assess(state, lang, _audience(principal))
        seq = (session.scalar(select(func.max(DiagnosisStep.seq)).where(DiagnosisStep.session_id == row.id)) or 0) + 1
        kind = StepKind.ACTION if engine.is_action(body.step) else StepKind.CHECK
        session.add(DiagnosisStep(session_id=row.id, seq=seq, kind=kind, step=body.step, outcome=body.outcome,
                                  answered_by=principal.username))
        _track(row, state, assessment)
        if assessment.status != SessionStatus.OPEN:
            row.closed_at = utcnow()
            row.resolved_action = body.step
            # The cause a fix confirms is judged on the ranking before the fix was tried.
            row.resolved_cause = engine.likely_fixed_cause(body.step, engine.assess(previous, lang).ranking)
            audit.record(session, principal, AuditEntity.DIAGNOSIS, row.id, assessment.status,
                         before={"status": SessionStatus.OPEN}, after={"status": assessment.status, "action": body.step,
                                                           "cause": row.resolved_cause})
            if assessment.status == SessionStatus.ESCALATED:
                row.handover_reason = HandoverReason.REPAIR
                _hand_over_to_desk(session, principal, row, engine, assessment)
        with conflict_on_duplicate(key="diagnosis.error.answer_race"):
            session.flush()
        return DiagnosisOut.model_validate(_out(session, row, assessment, engine, lang))


def _hand_over_to_desk(session: Session, principal: Principal, row: DiagnosisSession, engine: DiagnosisEngine,
                       assessment: Assessment) -> None:
    """Record the hand-over on the terminal and open its repair ticket, pre-filled with what the session found."""
    terminal = session.get(Terminal, row.terminal_id) if row.terminal_id is not None else None
    if terminal is None:
        return
    audit.record(session, principal, AuditEntity.TERMINAL, terminal.id, "diagnosis_escalated",
                 after={"diagnosis": row.id, "reason": row.handover_reason}, reason=said("diagnosis.audit.handed_over"))
    if terminal.status == TerminalStatus.DECOMMISSIONED:
        return
    steps = session.scalars(select(DiagnosisStep).where(DiagnosisStep.session_id == row.id)
                            .order_by(DiagnosisStep.seq))
    facts = tickets.DiagnosisFacts(
        session_id=row.id, symptom=assessment.symptom, complaint=row.text,
        ranking=[{"cause": cause, "probability": round(p, 4), "name": {"zh-CN": engine.cause_name(cause, "zh-CN"),
                                                                       "en": engine.cause_name(cause, "en")}}
                 for cause, p in assessment.ranking[:TOP_CAUSES]],
        steps=[{"step": s.step, "kind": s.kind, "outcome": s.outcome, "answered_by": s.answered_by,
                "title": {"zh-CN": engine.step_title(s.step), "en": engine.step_title(s.step, "en")}}
               for s in steps],
        evidence={**row.fleet_evidence, **row.initial_evidence})
    tickets.open_for_diagnosis(session, principal, terminal, facts)


def pick_symptom(db: Database, principal: Principal, session_id: str, body: SymptomPick,
                 lang: str = "zh-CN") -> DiagnosisOut:
    """Record the symptom the person picked; the ranking and the next step follow it."""
    with db.transaction() as session:
        engine = _engine(session)
        row = _load_open(session, principal, session_id)
        state = engine.confirm_symptom(SessionState.from_dict(row.state), body.symptom)
        assessment = engine.assess(state, lang, _audience(principal))
        before = row.symptom
        _track(row, state, assessment)
        audit.record(session, principal, AuditEntity.DIAGNOSIS, row.id, "symptom",
                     before={"symptom": before}, after={"symptom": body.symptom})
        return DiagnosisOut.model_validate(_out(session, row, assessment, engine, lang))


def hand_over(db: Database, principal: Principal, session_id: str, body: HandoverIn,
              lang: str = "zh-CN") -> DiagnosisOut:
    """Stop the diagnosis and hand it to the service desk with everything found so far (the person asked)."""
    with db.transaction() as session:
        engine = _engine(session)
        row = _load_open(session, principal, session_id)
        state = engine.hand_over(SessionState.from_dict(row.state))
        assessment = engine.assess(state, lang, _audience(principal))
        _track(row, state, assessment)
        row.closed_at, row.handover_reason = utcnow(), HandoverReason.REQUESTED
        audit.record(session, principal, AuditEntity.DIAGNOSIS, row.id, SessionStatus.ESCALATED,
                     before={"status": SessionStatus.OPEN},
                     after={"status": SessionStatus.ESCALATED, "handover_reason": row.handover_reason},
                     reason=body.note or None)
        _hand_over_to_desk(session, principal, row, engine, assessment)
        return DiagnosisOut.model_validate(_out(session, row, assessment, engine, lang))


def close_idle(db: Database, now: datetime, *, hours: int | None = None) -> int:
    """Close as abandoned the open sessions nobody answered for POSOPS_DIAGNOSIS_IDLE_HOURS; return how many."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
    cutoff = now - timedelta(hours=get_settings().diagnosis_idle_hours if hours is None else hours)
    with db.transaction() as session:
        engine = _engine(session)
        rows = list(session.scalars(
            select(DiagnosisSession).where(DiagnosisSession.status == SessionStatus.OPEN,
                                           DiagnosisSession.updated_at < cutoff)
            .with_for_update(skip_locked=True)))
        for row in rows:
            state = engine.abandon(SessionState.from_dict(row.state))
            row.state, row.status, row.closed_at, row.waiting_for_desk = state.to_dict(), state.status, now, False
            audit.record(session, IDLE_SCAN, AuditEntity.DIAGNOSIS, row.id, SessionStatus.ABANDONED,
                         before={"status": SessionStatus.OPEN}, after={"status": SessionStatus.ABANDONED})
        return len(rows)


def desk_queue(db: Database, principal: Principal, *, now: datetime | None = None) -> DeskQueue:
    """What the desk owes merchants: sessions waiting for a desk step, then the recent hand-overs."""
    require_role(principal, *DESK)
    since = (now or utcnow()) - HANDOVERS_SHOWN_FOR
    with db.transaction() as session:
        waiting = _summaries(session, select(DiagnosisSession).where(
            DiagnosisSession.status == SessionStatus.OPEN, DiagnosisSession.waiting_for_desk.is_(True))
            .order_by(DiagnosisSession.updated_at))
        handed_over = _summaries(session, select(DiagnosisSession).where(
            DiagnosisSession.status == SessionStatus.ESCALATED, DiagnosisSession.closed_at >= since)
            .order_by(DiagnosisSession.closed_at.desc()))
        counts = {SessionStatus(status): n for status, n in session.execute(
            select(DiagnosisSession.status, func.count()).group_by(DiagnosisSession.status))}
        return DeskQueue(waiting=waiting, handed_over=handed_over,
                         counts={status: counts.get(status, 0) for status in SessionStatus})


def get(db: Database, principal: Principal, session_id: str, lang: str = "zh-CN") -> DiagnosisDetail:
    """Read a diagnosis with every step."""
    with db.transaction() as session:
        engine = _engine(session)
        row = _load(session, principal, session_id)
        assessment = engine.assess(SessionState.from_dict(row.state), lang, _audience(principal))
        terminal = session.get(Terminal, row.terminal_id) if row.terminal_id is not None else None
        return DiagnosisDetail.model_validate({
            **_out(session, row, assessment, engine, lang), "text": row.text, "created_by": row.created_by,
            "terminal_serial_number": terminal.serial_number if terminal else None,
            "terminal_tid": terminal.tid if terminal else None,
            "created_at": row.created_at, "closed_at": row.closed_at, "evidence": row.initial_evidence,
            "fleet_evidence": row.fleet_evidence, "resolved_action": row.resolved_action,
            "steps": [StepRecord(seq=s.seq, kind=s.kind, step=s.step, outcome=s.outcome, answered_by=s.answered_by,
                                 at=s.at, title=engine.step_title(s.step, lang),
                                 outcome_label=engine.outcome_labels(s.step, lang).get(s.outcome, s.outcome))
                      for s in row.steps]})


def history(db: Database, principal: Principal, terminal_id: int, limit: int = 20) -> list[DiagnosisSummary]:
    """The latest diagnoses of a terminal, newest first."""
    with db.transaction() as session:
        return terminal_history(session, principal, terminal_id, limit)


def terminal_history(session: Session, principal: Principal, terminal_id: int,
                     limit: int = 20) -> list[DiagnosisSummary]:
    """The latest diagnoses of a terminal inside a caller's transaction (for the terminal page)."""
    terminals.load_terminal(session, principal, terminal_id)
    return _summaries(session, select(DiagnosisSession).where(DiagnosisSession.terminal_id == terminal_id)
                      .order_by(DiagnosisSession.created_at.desc()).limit(limit))


def _summaries(session: Session, query: Select[Any]) -> list[DiagnosisSummary]:
    """One summary line per session of `query`, with its number of answered steps."""
    steps = (select(DiagnosisStep.session_id, func.count(DiagnosisStep.id).label("n"))
             .group_by(DiagnosisStep.session_id).subquery())
    rows = session.execute(query.add_columns(func.coalesce(steps.c.n, 0), Terminal.serial_number)
                           .outerjoin(steps, steps.c.session_id == DiagnosisSession.id)
                           .outerjoin(Terminal, Terminal.id == DiagnosisSession.terminal_id)).all()
    return [DiagnosisSummary(id=r.id, status=r.status, symptom=r.symptom, text=r.text, terminal_id=r.terminal_id,
                             terminal_serial=serial, created_by=r.created_by, created_at=r.created_at,
                             resolved_action=r.resolved_action, waiting_for_desk=r.waiting_for_desk,
                             handover_reason=r.handover_reason, steps=n)
            for r, n, serial in rows]


@dataclass(frozen=True)
class LearnReport:
    """What refitting the knowledge did: how many sessions it used and how the engine did before and after."""

    overlay_id: int
    cases: int
    before: dict[str, float]
    after: dict[str, float]


def _repaired_cases(session: Session, engine: DiagnosisEngine) -> list[ResolvedCase]:
    """Escalated sessions whose repair ticket names the cause the technician found: the true cause, to learn from."""
    rows = list(session.scalars(select(DiagnosisSession).where(DiagnosisSession.status == SessionStatus.ESCALATED)))
    found = tickets.confirmed_causes(session, [r.id for r in rows])
    cases = []
    for row in rows:
        cause = found.get(row.id)
        if cause is None or cause not in engine.knowledge.causes:
            continue
        state = SessionState.from_dict(row.state)
        cases.append(ResolvedCase(symptom=state.symptom or row.symptom, cause=cause, evidence=state.observed))
    return cases


def learn(db: Database, principal: Principal, *, min_cases: int = 20) -> LearnReport:
    """Refit priors and likelihoods from resolved sessions and put the result in force."""
    require_role(principal, Role.ADMIN, Role.AGENT)
    with db.transaction() as session:
        engine = _engine(session)
        rows = list(session.scalars(select(DiagnosisSession).where(
            DiagnosisSession.status == SessionStatus.RESOLVED, DiagnosisSession.resolved_cause.is_not(None))))
        cases = [case for r in rows
                 if (case := engine.resolved_case(SessionState.from_dict(r.state))) is not None]
        cases += _repaired_cases(session, engine)
        if len(cases) < min_cases:
            raise Conflict(key="diagnosis.error.too_few_cases", cases=len(cases), least=min_cases)
        learned = refit(engine.knowledge, cases)
        before = engine.score(cases)
        after = DiagnosisEngine(learned).score(cases)
        row = KnowledgeOverlay(created_by=principal.username, cases=len(cases), overlay=learned_overlay(learned),
                               report={"before": before, "after": after})
        session.add(row)
        session.flush()
        audit.record(session, principal, AuditEntity.KNOWLEDGE, row.id, "learn", after={"cases": len(cases), **after})
        return LearnReport(row.id, len(cases), before, after)
