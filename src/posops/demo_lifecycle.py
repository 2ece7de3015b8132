"""The demo's suspensions and reactivation (复机) requests, made through the lifecycle and reactivation services.

Each suspension is made by the demo user whose role the reason needs (the desk for arrears,
dormancy and device faults, the risk team for risk limits and security) with a note and what
lifting it needs (the unpaid bills' due dates, the documents asked for), so the terminal's
screen notice, the merchant's notice with the arrears owed and the timeline follow as in use.
Four suspensions get a request: one waiting for the rest of the money, one paid in full and
reactivated, one whose payment voucher the desk refused, one with its documents uploaded and
waiting for the risk team.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from posops.core.auth import Principal
from posops.core.db import Database
from posops.demo_cast import Cast, People, merchant_or_desk
from posops.demo_documents import JPEG, pdf
from posops.reactivation import service as reactivation
from posops.reactivation.schemas import PaymentEvidence, ReactivationRequestIn
from posops.terminals import service as terminals
from posops.terminals.lifecycle import SuspensionReason
from posops.terminals.schemas import SuspendIn

NOTES: dict[SuspensionReason, str] = {
    SuspensionReason.ARREARS: "连续两期服务费未缴，电话提醒后仍未缴纳。",
    SuspensionReason.RISK_LIMIT: "单日交易金额超出限额，需核实经营情况。",
    SuspensionReason.DORMANT: "超过 90 天无交易。",
    SuspensionReason.DEVICE_FAULT: "读卡模块故障，暂停使用待维修。",
    SuspensionReason.SECURITY: "终端防拆告警，需现场核查。",
}
DOCUMENTS: dict[SuspensionReason, list[str]] = {
    SuspensionReason.RISK_LIMIT: ["近三个月交易流水说明", "经营场所照片"],
    SuspensionReason.SECURITY: ["现场核查报告"],
}
"""What the risk team asks for before it lifts these suspensions."""
RISK_ONLY = frozenset({SuspensionReason.RISK_LIMIT, SuspensionReason.SECURITY})
MONTHLY_FEN = 3900 + 1000
"""One month of the demo fee plan (service fee and data fee): what the waiting request has paid so far."""


@dataclass(frozen=True)
class LifecycleSummary:
    """What the lifecycle part of the load did."""

    suspended: int
    requests: dict[str, int]
    """Reactivation requests by status."""


def unpaid_due_dates(today: date) -> list[date]:
    """The due dates of the last two monthly bills: the 1st of the two months before this one."""
    last = today.replace(day=1) - timedelta(days=1)
    return [(last.replace(day=1) - timedelta(days=1)).replace(day=1), last.replace(day=1)]


def load_lifecycle(db: Database, cast: Cast, people: People, var_dir: Path, today: date) -> LifecycleSummary:
    """Suspend the cast's terminals, then file and decide the reactivation requests (one transaction each)."""
    for terminal_id in cast.arrears:
        _suspend(db, people, terminal_id, SuspensionReason.ARREARS, today)
    _suspend(db, people, cast.risk_held, SuspensionReason.RISK_LIMIT, today)
    for terminal_id, reason in cast.others:
        _suspend(db, people, terminal_id, reason, today)
    statuses = Counter([_waiting_for_the_rest(db, merchant_or_desk(cast, people, cast.suspended), cast.suspended,
                                              today),
                        _paid_and_reactivated(db, people, merchant_or_desk(cast, people, cast.reactivated),
                                              cast.reactivated, today),
                        _voucher_refused(db, people, cast.rejected, today),
                        _documents_uploaded(db, people, cast.risk_held, var_dir)])
    return LifecycleSummary(suspended=len(cast.arrears) + 1 + len(cast.others), requests=dict(statuses))


def _suspend(db: Database, people: People, terminal_id: int, reason: SuspensionReason, today: date) -> None:
    who = people.risk if reason in RISK_ONLY else people.agent
    terminals.suspend_terminal(db, who, terminal_id, SuspendIn(
        reason=reason, note=NOTES[reason], documents_requested=DOCUMENTS.get(reason, []),
        unpaid_due_dates=unpaid_due_dates(today) if reason is SuspensionReason.ARREARS else None))


def _voucher(request_id: int, paid_on: date) -> str:
    return f"BANK{paid_on:%Y%m%d}{request_id:06d}"


def _pay(db: Database, who: Principal, request_id: int, amount_fen: int, paid_on: date) -> None:
    reactivation.record_evidence(db, who, request_id, PaymentEvidence(
        kind="payment", amount_fen=amount_fen, voucher=_voucher(request_id, paid_on), paid_on=paid_on))


def _owed(db: Database, who: Principal, request_id: int) -> int:
    arrears = reactivation.get_request(db, who, request_id).arrears
    assert arrears is not None, "an arrears request of a merchant with a fee plan has a statement"
    return arrears.remaining_fen


def _waiting_for_the_rest(db: Database, merchant: Principal, terminal_id: int, today: date) -> str:
    """The merchant asks, having paid one month of two: the request says what is still owed."""
    request = reactivation.submit_request(db, merchant, terminal_id, ReactivationRequestIn(
        note="已补缴一期服务费，另一期下周缴清。"))
    _pay(db, merchant, request.id, MONTHLY_FEN, today - timedelta(days=1))
    return reactivation.get_request(db, merchant, request.id).status


def _paid_and_reactivated(db: Database, people: People, merchant: Principal, terminal_id: int, today: date) -> str:
    """The merchant pays everything owed with a voucher; the desk approves and the terminal must sign in.

    When the desk filed and paid for a merchant on the phone, a second agent approves (maker–checker).
    """
    request = reactivation.submit_request(db, merchant, terminal_id, ReactivationRequestIn(
        note="欠费及滞纳金已全部缴清，请复机。"))
    _pay(db, merchant, request.id, _owed(db, merchant, request.id), today)
    approver = people.checker if merchant == people.agent else people.agent
    return reactivation.approve_request(db, approver, request.id).status


def _voucher_refused(db: Database, people: People, terminal_id: int, today: date) -> str:
    """The desk files for a merchant on the phone and records its voucher, then finds no such payment."""
    request = reactivation.submit_request(db, people.agent, terminal_id, ReactivationRequestIn(
        note="商户来电称已缴清欠费，代为申请复机。"))
    _pay(db, people.agent, request.id, _owed(db, people.agent, request.id), today - timedelta(days=2))
    return reactivation.reject_request(db, people.agent, request.id,
                                       "缴费凭证号与银行到账记录不符，请核对后重新提交。").status


def _documents_uploaded(db: Database, people: People, terminal_id: int, var_dir: Path) -> str:
    """The desk files with the two documents the risk team asked for; the decision is the risk team's."""
    request = reactivation.submit_request(db, people.agent, terminal_id, ReactivationRequestIn(
        note="商户已提供流水说明和经营场所照片。"))
    statement, photo = DOCUMENTS[SuspensionReason.RISK_LIMIT]
    reactivation.upload_document(db, people.agent, var_dir, request.id, statement, "statement.pdf",
                                 "application/pdf", pdf("transaction statement, last three months"))
    reactivation.upload_document(db, people.agent, var_dir, request.id, photo, "shop.jpg", "image/jpeg", JPEG)
    return reactivation.get_request(db, people.agent, request.id).status
