"""Use cases for reactivation (复机) requests: submit, record evidence and documents, approve, reject, resubmit.

The rules (who decides, what each suspension reason needs) live in ``reactivation``; this
module records facts, computes what is still missing from them, and moves the request and the
terminal in one audited transaction. A decision claims the request with a conditional UPDATE
(``… WHERE status = 'submitted'``), so two approvals at once leave exactly one.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from posops.core import audit
from posops.core import documents as storage
from posops.core.audit import AuditEntity
from posops.core.auth import Principal, Role, require_role, scoped
from posops.core.config import get_settings
from posops.core.db import Database, compare_and_set, conflict_on_duplicate, utcnow
from posops.core.documents import DocumentOut
from posops.core.errors import Conflict, Invalid, RuleBroken, excerpt
from posops.core.labels import Label, said
from posops.core.maker_checker import Maker, require_second_person, second_person_refusal
from posops.core.models import StoredDocument
from posops.core.paging import Page, check_page, paginate
from posops.core.scoping import load_visible
from posops.reactivation import conditions as rules
from posops.reactivation.models import ReactivationRequest
from posops.reactivation.schemas import (
    ArrearsLineOut,
    ArrearsOut,
    DocumentsRequestedEvidence,
    Evidence,
    IdentityEvidence,
    PaymentEvidence,
    PaymentOut,
    ReactivationRequestIn,
    ReactivationRequestOut,
    RequiredVersionEvidence,
    ResolvedConfirmedEvidence,
    UnpaidBillsEvidence,
)
from posops.terminals import arrears, notices
from posops.terminals.lifecycle import RISK_REASONS, Action, SuspensionReason
from posops.terminals.models import FeePlan, Merchant, Suspension, Terminal
from posops.terminals.schemas import ConditionOut
from posops.terminals.service import (
    current_suspension,
    end_suspension,
    load_terminal,
    lock_terminal,
    move_terminal,
    notify_merchant,
    pure_fee_plan,
    suspension_chain,
    suspension_imposer,
    terminal_state,
)
from posops.tickets.lifecycle import TicketStatus
from posops.tickets.models import Ticket

READERS = (Role.MERCHANT, Role.AGENT, Role.RISK, Role.ADMIN)
_ACCEPTED = (TicketStatus.ACCEPTED, TicketStatus.CLOSED)
REPAIR_ACCEPTANCE = Principal(user_id=None, username="repair-acceptance", role=Role.SYSTEM)
"""Approves the reactivation of a device-fault suspension when the merchant accepts the repair."""
OWNER = AuditEntity.REACTIVATION_REQUEST
MAX_DOCUMENT_NAME = 64
SECOND_PERSON = "reactivation.error.second_person"
_MAKER_PARTS = {"submit": "reactivation.maker.filed", "resubmit": "reactivation.maker.resubmitted",
                "document.upload": "reactivation.maker.document"} | {
    f"evidence.{kind.value}": {rules.EvidenceKind.PAYMENT: "reactivation.maker.payment",
                               rules.EvidenceKind.UNPAID_BILLS: "reactivation.maker.unpaid_bills"}
    .get(kind, "reactivation.maker.evidence") for kind in rules.MAKER_EVIDENCE}
"""The request's audit actions whose actor is one of its makers, and the part each says they played."""


def _load(session: Session, principal: Principal, request_id: int, *, lock: bool = False) -> ReactivationRequest:
    require_role(principal, *READERS)
    return load_visible(session, principal, ReactivationRequest, request_id, "reactivation request", lock=lock)


def _lock_pair(session: Session, principal: Principal, request_id: int) -> tuple[ReactivationRequest, Terminal]:
    """Lock the request's terminal, then the request (always in this order, so decisions cannot deadlock)."""
    terminal_id = _load(session, principal, request_id).terminal_id
    terminal = lock_terminal(session, principal, terminal_id)
    return _load(session, principal, request_id, lock=True), terminal


def _claim(session: Session, request: ReactivationRequest, from_status: rules.RequestStatus, **values: Any) -> None:
    """Move the request out of `from_status` only if it is still there; 409 when someone else was first."""
    compare_and_set(session, update(ReactivationRequest)
                    .where(ReactivationRequest.id == request.id, ReactivationRequest.status == from_status.value)
                    .values(updated_at=utcnow(), **values),
                    key="reactivation.error.changed_meanwhile", id=request.id)
    session.refresh(request)


def _documents(session: Session, request_id: int) -> list[StoredDocument]:
    return list(session.scalars(select(StoredDocument).where(StoredDocument.owner_type == OWNER,
                                                             StoredDocument.owner_id == request_id)
                                .order_by(StoredDocument.id)))


def _arrears(session: Session, request: ReactivationRequest,
             today: date) -> tuple[int | None, bool, ArrearsOut | None]:
    """What is owed (as of the last payment when it covered it, else today), whether a plan exists, the statement."""
    plan = session.get(FeePlan, request.merchant_id)
    if plan is None or not request.unpaid_due_dates:
        return None, plan is not None, None
    pure, due = pure_fee_plan(plan), [date.fromisoformat(d) for d in request.unpaid_due_dates]
    paid = sum(int(p["amount_fen"]) for p in request.payments)
    statement = None
    if request.payments:
        statement = arrears.compute_arrears(pure, due, max(date.fromisoformat(p["paid_on"]) for p in request.payments))
    if statement is None or paid < statement.total_fen:
        statement = arrears.compute_arrears(pure, due, today)  # not settled: the penalty keeps accruing
    lines = [ArrearsLineOut(due_on=line.due_on, days_overdue=line.days_overdue, principal_fen=line.principal_fen,
                            penalty_fen=line.penalty_fen) for line in statement.lines]
    out = ArrearsOut(as_of=statement.as_of, lines=lines, principal_fen=statement.principal_fen,
                     penalty_fen=statement.penalty_fen, penalty_capped=statement.penalty_capped,
                     total_fen=statement.total_fen, paid_fen=paid, remaining_fen=max(0, statement.total_fen - paid))
    return statement.total_fen, True, out


def _facts(session: Session, request: ReactivationRequest, terminal: Terminal,
           documents: list[StoredDocument]) -> tuple[rules.ReactivationFacts, ArrearsOut | None]:
    is_arrears = request.reason == SuspensionReason.ARREARS
    ticket = _repair_ticket(session, request) if request.reason == SuspensionReason.DEVICE_FAULT else None
    due, plan_known, statement = _arrears(session, request, utcnow().date()) if is_arrears else (None, True, None)
    facts = rules.ReactivationFacts(
        amount_due_fen=due, fee_plan_known=plan_known, unpaid_bills_known=bool(request.unpaid_due_dates),
        amount_paid_fen=sum(int(p["amount_fen"]) for p in request.payments),
        payment_voucher=request.payments[-1]["voucher"] if request.payments else None,
        documents_requested=tuple(request.documents_requested or ()),
        documents_provided=frozenset(d.kind for d in documents),
        repair_ticket_id=str(ticket.id) if ticket else None,
        repair_accepted_by_merchant=ticket is not None and ticket.status in _ACCEPTED,
        required_version=request.required_version, reported_version=terminal.app_version or None,
        identity_reconfirmed=request.identity_reconfirmed_by is not None,
        agent_confirmed=request.resolved_confirmed_by is not None)
    return facts, statement


def _makers(session: Session, request: ReactivationRequest, documents: list[StoredDocument]) -> list[Maker]:
    """Everyone who prepared the request: filed it, recorded its evidence, uploaded its documents (read only).

    The audit log names them all; the request's own columns are read too, for rows written before it
    (a payment or a field keeps only a username). Whoever re-labelled the stop, or imposed a risk reason of it, is one.
    """
    makers = [Maker(e.actor, e.actor_user_id, _MAKER_PARTS[e.action]) for e in audit.history(session, OWNER, request.id)
              if e.action in _MAKER_PARTS]
    makers.append(Maker(request.requested_by, request.requested_by_user_id, "reactivation.maker.filed"))
    makers += [Maker(p["recorded_by"], p.get("recorded_by_user_id"), "reactivation.maker.payment")
               for p in request.payments]
    makers += [Maker(d.uploaded_by, d.uploaded_by_user_id, "reactivation.maker.document") for d in documents]
    makers += [Maker(name, None, "reactivation.maker.evidence")
               for name in (request.identity_reconfirmed_by, request.resolved_confirmed_by) if name]
    chain = _stop(session, request)
    # whoever re-labelled the stop changed what it asks for, and a risk team's imposer judged the risk
    makers += [suspension_imposer(session, suspension) for suspension in chain
               if suspension.reason in RISK_REASONS or suspension is not chain[-1]]
    return makers


def _stop(session: Session, request: ReactivationRequest) -> list[Suspension]:
    """The suspensions of the stop this request would end: the current one and those it re-labelled."""
    suspension = session.get(Suspension, request.suspension_id) if request.suspension_id is not None else None
    return suspension_chain(session, suspension) if suspension is not None else []


def _needs_second_person(session: Session, request: ReactivationRequest) -> bool:
    """Whether any reason the stop carried needs a second person: re-labelling arrears as "other" waives nothing."""
    override = get_settings().second_person_reasons
    reasons = {request.reason, *(suspension.reason for suspension in _stop(session, request))}
    return any(rules.needs_second_person(reason, override) for reason in reasons)


def _approval_refusal(session: Session, principal: Principal, request: ReactivationRequest,
                      documents: list[StoredDocument]) -> Label | None:
    """Why ``principal`` may not approve this request although their role may: they prepared it (maker–checker)."""
    if request.status != rules.RequestStatus.SUBMITTED or not _needs_second_person(session, request) \
            or principal.role.value not in rules.approvers_for(request.reason):
        return None
    return second_person_refusal(principal, _makers(session, request, documents), key=SECOND_PERSON)


def _out(session: Session, principal: Principal, request: ReactivationRequest) -> ReactivationRequestOut:
    terminal = session.get(Terminal, request.terminal_id)
    merchant = session.get(Merchant, request.merchant_id)
    assert terminal is not None and merchant is not None
    documents = _documents(session, request.id)
    facts, statement = _facts(session, request, terminal, documents)
    decided = request.status == rules.RequestStatus.APPROVED
    unmet = [] if decided else rules.unmet_conditions(request.reason, facts)
    role = principal.role.value
    refused = _approval_refusal(session, principal, request, documents)
    actions = [a.value for a in rules.allowed_request_actions(request.status, request.reason, role)
               if not (refused and a is rules.RequestAction.APPROVE)]
    return ReactivationRequestOut(
        id=request.id, terminal_id=terminal.id, terminal_tid=terminal.tid, terminal_serial=terminal.serial_number,
        terminal_status=terminal.status, terminal_reason=terminal.status_reason, merchant_id=merchant.id,
        merchant_name=merchant.name, reason=request.reason, status=request.status, note=request.note,
        requested_by=request.requested_by, created_at=request.created_at, updated_at=request.updated_at,
        submissions=request.submissions, rejection_reason=request.rejection_reason, decided_by=request.decided_by,
        decided_at=request.decided_at,
        unpaid_due_dates=[date.fromisoformat(d) for d in request.unpaid_due_dates or []] or None,
        payments=[PaymentOut.model_validate(p) for p in request.payments], arrears=statement,
        documents_requested=list(request.documents_requested or []),
        documents=[DocumentOut.model_validate(d) for d in documents],
        repair_ticket_id=request.repair_ticket_id,
        required_version=request.required_version, reported_version=terminal.app_version or None,
        identity_reconfirmed_by=request.identity_reconfirmed_by, resolved_confirmed_by=request.resolved_confirmed_by,
        unmet=[ConditionOut(**c._asdict()) for c in unmet],
        approvers=sorted(rules.approvers_for(request.reason)),
        allowed_actions=actions, needs_second_person=_needs_second_person(session, request),
        approval_refused=None if refused is None else {"zh-CN": refused.zh, "en": refused.en},
        evidence_kinds=[k.value for k in rules.evidence_kinds_for(request.status, request.reason, role)
                        if not (k is rules.EvidenceKind.IDENTITY and request.identity_reconfirmed_by)])


# reading -------------------------------------------------------------------------------------


def get_request(db: Database, principal: Principal, request_id: int) -> ReactivationRequestOut:
    """Read a request with what is recorded, what is missing and what the caller may do."""
    with db.transaction() as session:
        return _out(session, principal, _load(session, principal, request_id))


def list_requests(db: Database, principal: Principal, *, status: str | None = None, terminal_id: int | None = None,
                  for_me: bool = False, page: int = 1, per_page: int = 50) -> Page[ReactivationRequestOut]:
    """List requests, newest first; `for_me` keeps those the caller may decide (a review queue)."""
    require_role(principal, *READERS)
    check_page(page, per_page)
    if status is not None and status not in {s.value for s in rules.RequestStatus}:
        raise Invalid("status", key="reactivation.error.status")
    query = select(ReactivationRequest).order_by(ReactivationRequest.id.desc())
    query = scoped(query, principal, ReactivationRequest.merchant_id)
    if status:
        query = query.where(ReactivationRequest.status == status)
    if terminal_id is not None:
        query = query.where(ReactivationRequest.terminal_id == terminal_id)
    if for_me:
        mine = [r.value for r in SuspensionReason if principal.role.value in rules.approvers_for(r)]
        query = query.where(ReactivationRequest.status == rules.RequestStatus.SUBMITTED,
                            ReactivationRequest.reason.in_(mine))
    with db.transaction() as session:
        rows, total = paginate(session, query, page, per_page)
        return Page[ReactivationRequestOut](items=[_out(session, principal, r) for r in rows], total=total,
                                            page=page, per_page=per_page)


# submitting ----------------------------------------------------------------------------------


def submit_request(db: Database, principal: Principal, terminal_id: int,
                   data: ReactivationRequestIn) -> ReactivationRequestOut:
    """Ask for a suspended terminal to be reactivated (the merchant, or an agent for it)."""
    with db.transaction() as session:
        terminal = lock_terminal(session, principal, terminal_id)
        rules.submit_request(terminal.status, terminal.status_reason, principal.role.value)
        suspension = current_suspension(session, terminal.id)
        existing = session.scalar(select(ReactivationRequest).where(
            ReactivationRequest.terminal_id == terminal.id,
            ReactivationRequest.status.in_((rules.RequestStatus.SUBMITTED, rules.RequestStatus.REJECTED)))
            .order_by(ReactivationRequest.id.desc()).limit(1))
        if existing is not None and existing.status == rules.RequestStatus.SUBMITTED:
            raise Conflict(key="reactivation.error.already_open", id=existing.id)
        if existing is not None and existing.reason == terminal.status_reason:
            raise Conflict(key="reactivation.error.rejected_resubmit", id=existing.id,
                           reason=excerpt(existing.rejection_reason or ""))
        request = ReactivationRequest(
            terminal_id=terminal.id, merchant_id=terminal.merchant_id, reason=terminal.status_reason,
            suspension_id=suspension.id if suspension else None, note=data.note,
            requested_by=principal.username, requested_by_user_id=principal.user_id,
            unpaid_due_dates=suspension.unpaid_due_dates if suspension else None,
            documents_requested=list(suspension.documents_requested or []) if suspension else [],
            required_version=suspension.required_version if suspension else None, payments=[])
        session.add(request)
        with conflict_on_duplicate(key="reactivation.error.open_request_exists", id=terminal.id,
                                   sn=terminal.serial_number):
            session.flush()
        audit.record(session, principal, OWNER, request.id, "submit", reason=data.note or None,
                     after={"terminal_id": terminal.id, "reason": request.reason, "status": request.status})
        return _out(session, principal, request)


def resubmit_request(db: Database, principal: Principal, request_id: int,
                     data: ReactivationRequestIn) -> ReactivationRequestOut:
    """Send a rejected request back for review, for the terminal's current suspension reason."""
    with db.transaction() as session:
        request, terminal = _lock_pair(session, principal, request_id)
        rules.resubmit_request(request.status, request.reason, terminal.status, principal.role.value)
        suspension = current_suspension(session, terminal.id)
        before: dict[str, Any] = {"status": request.status, "reason": request.reason,
                                  "rejection_reason": request.rejection_reason}
        values: dict[str, Any] = {"status": rules.RequestStatus.SUBMITTED.value, "reason": terminal.status_reason,
                                  "rejection_reason": None, "decided_by": None, "decided_at": None,
                                  "submissions": request.submissions + 1, "note": data.note or request.note}
        if suspension is not None and suspension.id != request.suspension_id:
            values.update(suspension_id=suspension.id, documents_requested=list(suspension.documents_requested),
                          required_version=suspension.required_version,
                          unpaid_due_dates=suspension.unpaid_due_dates or request.unpaid_due_dates)
        with conflict_on_duplicate(key="reactivation.error.open_request_exists", id=terminal.id,
                                   sn=terminal.serial_number):
            _claim(session, request, rules.RequestStatus.REJECTED, **values)
        audit.record(session, principal, OWNER, request.id, "resubmit", before=before,
                     after={"status": request.status, "reason": request.reason}, reason=data.note or None)
        return _out(session, principal, request)


# evidence ------------------------------------------------------------------------------------


def record_evidence(db: Database, principal: Principal, request_id: int, evidence: Evidence) -> ReactivationRequestOut:
    """Record a fact towards the request's conditions (a payment, an identity check, a confirmation, …)."""
    with db.transaction() as session:
        request = _load(session, principal, request_id, lock=True)
        rules.check_evidence(request.status, request.reason, principal.role.value, evidence.kind)
        before, after, note = _apply(session, principal, request, evidence)
        audit.record(session, principal, OWNER, request.id, f"evidence.{evidence.kind}", before=before, after=after,
                     reason=note)
        session.flush()
        return _out(session, principal, request)


def _apply(session: Session, principal: Principal, request: ReactivationRequest,
           evidence: Evidence) -> tuple[dict[str, Any] | None, dict[str, Any], str | None]:
    """Store one piece of evidence on the request; return audit before, after and note."""
    who = principal.username
    if isinstance(evidence, PaymentEvidence):
        if evidence.paid_on > utcnow().date():
            raise Invalid("paid_on", key="reactivation.error.paid_on_future")
        if any(p["voucher"] == evidence.voucher for p in request.payments):
            raise Conflict(key="reactivation.error.voucher_recorded", voucher=excerpt(evidence.voucher))
        payment = {"amount_fen": evidence.amount_fen, "voucher": evidence.voucher,
                   "paid_on": evidence.paid_on.isoformat(), "recorded_by": who,
                   "recorded_by_user_id": principal.user_id, "recorded_at": utcnow().isoformat()}
        request.payments = [*request.payments, payment]
        return None, payment, None
    before: dict[str, Any]
    if isinstance(evidence, UnpaidBillsEvidence):
        before = {"unpaid_due_dates": request.unpaid_due_dates}
        request.unpaid_due_dates = [d.isoformat() for d in evidence.due_dates]
        return before, {"unpaid_due_dates": request.unpaid_due_dates}, None
    if isinstance(evidence, IdentityEvidence):
        merchant = session.get(Merchant, request.merchant_id)
        assert merchant is not None
        if evidence.legal_id.upper() != merchant.legal_id.upper():
            raise Invalid("legal_id", key="reactivation.error.legal_id_mismatch")
        request.identity_reconfirmed_by = who
        return None, {"identity_reconfirmed_by": who}, None
    if isinstance(evidence, RequiredVersionEvidence):
        before = {"required_version": request.required_version}
        request.required_version = evidence.version
        return before, {"required_version": evidence.version}, None
    if isinstance(evidence, DocumentsRequestedEvidence):
        before = {"documents_requested": request.documents_requested}
        request.documents_requested = list(evidence.documents)
        return before, {"documents_requested": request.documents_requested}, None
    assert isinstance(evidence, ResolvedConfirmedEvidence)
    request.resolved_confirmed_by = who
    return None, {"resolved_confirmed_by": who}, evidence.note


def upload_document(db: Database, principal: Principal, var_dir: Path, request_id: int, name: str, filename: str,
                    content_type: str, content: bytes) -> DocumentOut:
    """Keep a document for a request (PDF, JPEG or PNG up to 10 MiB); `name` says which requested document it is."""
    name = name.strip()
    if not 1 <= len(name) <= MAX_DOCUMENT_NAME:
        raise Invalid("name", key="reactivation.error.document_name", max=MAX_DOCUMENT_NAME)
    shown = storage.accepted_name(filename, content_type, content)
    saved = storage.save(var_dir, f"reactivation/{request_id}", content, Path(shown).suffix)
    with storage.kept_only_if_committed(var_dir, saved), db.transaction() as session:
        request = _load(session, principal, request_id, lock=True)
        rules.check_evidence(request.status, request.reason, principal.role.value, rules.EvidenceKind.DOCUMENT)
        document = storage.record(session, principal, OWNER, request.id, name, shown, content_type, saved)
        audit.record(session, principal, OWNER, request.id, "document.upload",
                     after={"document_id": document.id, "name": name, "filename": shown, "sha256": saved.sha256,
                            "size_bytes": saved.size})
        return DocumentOut.model_validate(document)


def document_file(db: Database, principal: Principal, var_dir: Path, request_id: int,
                  document_id: int) -> tuple[Path, DocumentOut]:
    """Locate a request's document file for download (scoped like the request)."""
    with db.transaction() as session:
        _load(session, principal, request_id)
        document = storage.owned(session, OWNER, request_id, document_id)
        return storage.locate(var_dir, document.path), DocumentOut.model_validate(document)


# deciding ------------------------------------------------------------------------------------


def _repair_ticket(session: Session, request: ReactivationRequest) -> Ticket | None:
    """The newest repair ticket of the request's terminal opened since its suspension (read only)."""
    query = select(Ticket).where(Ticket.terminal_id == request.terminal_id,
                                 Ticket.status != TicketStatus.CANCELLED.value)
    suspension = session.get(Suspension, request.suspension_id) if request.suspension_id else None
    if suspension is not None:
        query = query.where(Ticket.created_at >= suspension.suspended_at)
    return session.scalar(query.order_by(Ticket.id.desc()).limit(1))


def reactivate_after_repair(session: Session, principal: Principal, terminal: Terminal, ticket_id: int) -> int:
    """Reactivate a (locked) terminal suspended for a device fault whose repair was just accepted.

    Joins the caller's transaction: the terminal's open request (or a new one filed by ``principal``)
    records the accepted ticket and is approved by the system, so the terminal is active again and
    must sign in first. Returns the request's id.
    """
    request = session.scalar(select(ReactivationRequest).where(
        ReactivationRequest.terminal_id == terminal.id,
        ReactivationRequest.status == rules.RequestStatus.SUBMITTED).with_for_update())
    if request is None:
        suspension = current_suspension(session, terminal.id)
        request = ReactivationRequest(
            terminal_id=terminal.id, merchant_id=terminal.merchant_id, reason=terminal.status_reason,
            suspension_id=suspension.id if suspension else None,
            note=said("terminals.audit.repair_accepted", number=ticket_id),
            requested_by=principal.username, requested_by_user_id=principal.user_id, payments=[],
            documents_requested=[])
        session.add(request)
        session.flush()
        audit.record(session, principal, OWNER, request.id, "submit", reason=request.note,
                     after={"terminal_id": terminal.id, "reason": request.reason, "status": request.status})
    request.repair_ticket_id, request.repair_accepted_by_merchant = str(ticket_id), True
    facts, _ = _facts(session, request, terminal, _documents(session, request.id))
    decision = rules.approve_request(request.status, request.reason, terminal.status, terminal.status_reason,
                                     REPAIR_ACCEPTANCE.role.value, facts)
    _decide(session, REPAIR_ACCEPTANCE, request, terminal, decision)
    return request.id




def approve_request(db: Database, principal: Principal, request_id: int) -> ReactivationRequestOut:
    """Approve a request whose conditions are met: the terminal is active again and must sign in first.

    For a reason that needs a second person, whoever filed the request, recorded its evidence or
    uploaded its documents (or, for a risk reason, imposed the suspension) is refused: Forbidden.
    """
    with db.transaction() as session:
        request, terminal = _lock_pair(session, principal, request_id)
        documents = _documents(session, request.id)
        facts, _ = _facts(session, request, terminal, documents)
        decision = rules.approve_request(request.status, request.reason, terminal.status, terminal.status_reason,
                                         principal.role.value, facts)
        if _needs_second_person(session, request):
            require_second_person(principal, _makers(session, request, documents), key=SECOND_PERSON)
        _decide(session, principal, request, terminal, decision)
        return _out(session, principal, request)


def _decide(session: Session, principal: Principal, request: ReactivationRequest, terminal: Terminal,
            decision: rules.ApprovalDecision) -> None:
    """Carry out an approval: the request is approved, the suspension ends, the terminal is active and told so."""
    _claim(session, request, rules.RequestStatus.SUBMITTED, status=decision.request_status.value,
           decided_by=principal.username, decided_at=utcnow())
    before = terminal_state(terminal)
    end_suspension(session, principal, terminal.id, Action.REACTIVATE)
    move_terminal(session, terminal, decision.transition, must_sign_in=decision.must_sign_in)
    audit.record(session, principal, OWNER, request.id, "approve", before={"status": rules.RequestStatus.SUBMITTED},
                 after={"status": request.status})
    audit.record(session, principal, AuditEntity.TERMINAL, terminal.id, "reactivate", before=before,
                 after=terminal_state(terminal), reason=said("terminals.audit.reactivated_by_request",
                                                                                number=request.id))
    notify_merchant(session, terminal, "reactivated", notices.reactivation_approved_notice(terminal.tid))


def reject_request(db: Database, principal: Principal, request_id: int, reason: str) -> ReactivationRequestOut:
    """Reject a submitted request, saying why; the merchant can correct it and resubmit."""
    with db.transaction() as session:
        request, terminal = _lock_pair(session, principal, request_id)
        try:
            status = rules.reject_request(request.status, request.reason, principal.role.value, reason)
        except RuleBroken as exc:
            raise Invalid("reason", exc.said) from None
        _claim(session, request, rules.RequestStatus.SUBMITTED, status=status.value, rejection_reason=reason,
               decided_by=principal.username, decided_at=utcnow())
        audit.record(session, principal, OWNER, request.id, "reject", before={"status": rules.RequestStatus.SUBMITTED},
                     after={"status": request.status}, reason=reason)
        notify_merchant(session, terminal, "reactivation_rejected",
                        notices.reactivation_rejected_notice(reason, terminal.tid))
        return _out(session, principal, request)


def open_request_for(db: Database, principal: Principal, terminal_id: int) -> ReactivationRequestOut | None:
    """The terminal's newest request that is not approved (submitted or rejected), if any."""
    with db.transaction() as session:
        load_terminal(session, principal, terminal_id)
        request = session.scalar(select(ReactivationRequest).where(
            ReactivationRequest.terminal_id == terminal_id,
            ReactivationRequest.status.in_((rules.RequestStatus.SUBMITTED, rules.RequestStatus.REJECTED)))
            .order_by(ReactivationRequest.id.desc()).limit(1))
        if request is None or principal.role not in READERS:
            return None
        return _out(session, principal, request)
