"""Reactivation (复机) requests: the conditions each suspension reason sets, checked from recorded facts.

A suspended terminal comes back only through a request that posops has checked: the arrears
and penalty are computed from the merchant's fee plan and must be paid with a voucher; a risk
or security suspension needs the risk team and the documents it asked for; a device fault needs
a repair the merchant accepted; a forced update needs the terminal to report the version; and
so on. People do not have to remember the rules, they record facts.

Money is integer fen (分) throughout (see :mod:`posops.terminals.arrears`).

>>> version_at_least("3.10.0", "3.9.2")
True
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from posops.core.labels import Condition, catalog_labels, upper_first
from posops.core.versions import compare_versions
from posops.terminals.arrears import format_yuan
from posops.terminals.lifecycle import (
    ACTOR_LABELS,
    REACTIVATORS,
    REASON_LABELS,
    Action,
    Actor,
    ConditionsNotMet,
    IllegalTransition,
    Label,
    NotAllowed,
    SuspensionReason,
    TerminalStatus,
    Transition,
    TransitionError,
    allowed_sentence,
    decide,
    status_label,
)

# ---------------------------------------------------------------- software versions


def version_at_least(reported: str, required: str) -> bool:
    """Tell whether the ``reported`` version is ``required`` or newer."""
    return compare_versions(reported, required) >= 0


# ---------------------------------------------------------------- conditions per reason


@dataclass(frozen=True)
class ReactivationFacts:
    """What has been recorded about a request; each reason reads the fields it needs."""

    # arrears
    amount_due_fen: int | None = None
    """Total of the arrears statement (principal + penalty) as of the payment date, in fen."""
    fee_plan_known: bool = True
    """arrears: the merchant's fee plan is on record (without it nothing can be computed)."""
    unpaid_bills_known: bool = True
    """arrears: the due dates of the unpaid bills are recorded."""
    amount_paid_fen: int = 0
    payment_voucher: str | None = None
    """Reference of the payment voucher (缴费凭证), e.g. the bank transfer's serial number."""
    # risk_limit, security, policy
    documents_requested: tuple[str, ...] = ()
    documents_provided: Collection[str] = field(default_factory=frozenset)
    tamper_triggered: bool | None = None
    """security: the terminal's latest reported tamper flag; ``None`` when nothing was reported."""
    # device_fault
    repair_ticket_id: str | None = None
    repair_accepted_by_merchant: bool = False
    repair_confirmed_by_agent: bool = False
    """Until repair tickets exist: an agent confirms the device was repaired or replaced."""
    # system_update
    required_version: str | None = None
    reported_version: str | None = None
    # dormant
    identity_reconfirmed: bool = False
    # other
    agent_confirmed: bool = False


def _documents(facts: ReactivationFacts) -> list[Condition]:
    provided = set(facts.documents_provided)
    return [
        Condition("document_missing", f"尚未提交:{doc}。", f"Not yet provided: {doc}.", doc)
        for doc in facts.documents_requested
        if doc not in provided
    ]


def _arrears(facts: ReactivationFacts) -> list[Condition]:
    if facts.amount_due_fen is None:
        missing = []
        if not facts.fee_plan_known:
            missing.append(
                Condition("fee_plan_missing", "商户没有登记费率方案。", "The merchant has no fee plan on record.")
            )
        if not facts.unpaid_bills_known:
            missing.append(
                Condition(
                    "unpaid_bills_missing",
                    "未登记欠费账单的到期日。",
                    "The due dates of the unpaid bills are not recorded.",
                )
            )
        if missing:
            return missing
        return [
            Condition(
                "arrears_not_computed",
                "尚未按费率计算欠费及罚金。",
                "The arrears and penalty have not been computed from the fee plan yet.",
            )
        ]
    if facts.amount_due_fen == 0:
        return []
    unmet = []
    remaining = facts.amount_due_fen - facts.amount_paid_fen
    if remaining > 0:
        owed = format_yuan(remaining)
        unmet.append(
            Condition(
                "arrears_unpaid",
                f"欠费及罚金尚差 {owed} 元未缴清。",
                f"CNY {owed} of the arrears and penalty is still unpaid.",
                str(remaining),
            )
        )
    if not (facts.payment_voucher or "").strip():
        unmet.append(
            Condition(
                "payment_voucher_missing", "未登记缴费凭证号。", "No payment voucher reference recorded."
            )
        )
    return unmet


def _security(facts: ReactivationFacts) -> list[Condition]:
    unmet = _documents(facts)
    if facts.tamper_triggered:
        unmet.append(
            Condition(
                "tamper_still_triggered",
                "终端仍报告防拆触发,须先完成安全检查。",
                "The terminal still reports tamper detection; a security inspection comes first.",
            )
        )
    return unmet


def _device_fault(facts: ReactivationFacts) -> list[Condition]:
    if facts.repair_confirmed_by_agent:
        return []
    if facts.repair_ticket_id:
        if facts.repair_accepted_by_merchant:
            return []
        return [
            Condition(
                "repair_not_accepted",
                f"维修工单 {facts.repair_ticket_id} 尚未经商户验收。",
                f"Repair ticket {facts.repair_ticket_id} has not been accepted by the merchant.",
                facts.repair_ticket_id,
            )
        ]
    return [
        Condition(
            "repair_not_confirmed",
            "没有已验收的维修工单,也没有客服确认设备已修复。",
            "No accepted repair ticket and no agent confirmation that the device was repaired.",
        )
    ]


def _system_update(facts: ReactivationFacts) -> list[Condition]:
    required, reported = facts.required_version, facts.reported_version
    if not required:
        return [
            Condition(
                "required_version_not_set",
                "未设定要求的软件版本。",
                "The required software version is not set.",
            )
        ]
    if not reported:
        return [
            Condition(
                "version_not_reported",
                f"终端尚未上报软件版本(要求 {required} 或更高)。",
                f"The terminal has not reported its software version ({required} or newer is required).",
                required,
            )
        ]
    try:
        new_enough = version_at_least(reported, required)
    except ValueError:
        return [
            Condition(
                "version_unreadable",
                f"终端上报的版本“{reported}”无法识别。",
                f"The version the terminal reported, {reported!r}, cannot be read.",
                reported,
            )
        ]
    if new_enough:
        return []
    return [
        Condition(
            "version_too_old",
            f"终端版本 {reported} 低于要求的 {required},请升级后重启。",
            f"The terminal runs {reported}, older than the required {required}; update it and restart.",
            required,
        )
    ]


def _dormant(facts: ReactivationFacts) -> list[Condition]:
    if facts.identity_reconfirmed:
        return []
    return [
        Condition(
            "identity_not_reconfirmed",
            "商户尚未重新确认身份。",
            "The merchant has not re-confirmed their identity.",
        )
    ]


def _other(facts: ReactivationFacts) -> list[Condition]:
    if facts.agent_confirmed:
        return []
    return [
        Condition(
            "agent_confirmation_missing",
            "尚无客服确认停机原因已消除。",
            "No agent has confirmed that the cause of the suspension is resolved.",
        )
    ]


_CHECKS = {
    SuspensionReason.ARREARS: _arrears,
    SuspensionReason.RISK_LIMIT: _documents,
    SuspensionReason.SECURITY: _security,
    SuspensionReason.DEVICE_FAULT: _device_fault,
    SuspensionReason.SYSTEM_UPDATE: _system_update,
    SuspensionReason.DORMANT: _dormant,
    SuspensionReason.POLICY: _documents,
    SuspensionReason.OTHER: _other,
}


def unmet_conditions(reason: SuspensionReason | str, facts: ReactivationFacts) -> list[Condition]:
    """List what still stands between a terminal suspended for ``reason`` and reactivation.

    An empty list means the request may be approved by one of :func:`approvers_for` ``(reason)``.
    """
    return _CHECKS[SuspensionReason(reason)](facts)


def approvers_for(reason: SuspensionReason | str) -> frozenset[str]:
    """Return the roles that may approve (or reject) a reactivation request for ``reason``."""
    return REACTIVATORS[SuspensionReason(reason)]


# ---------------------------------------------------------------- the request's own states


class RequestStatus(StrEnum):
    """Where a reactivation request is."""

    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"


class RequestAction(StrEnum):
    """A change of a reactivation request's status."""

    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    RESUBMIT = "resubmit"


REQUEST_STATUS_LABELS: Mapping[RequestStatus, Label] = catalog_labels("terminals.request.", RequestStatus)
REQUEST_ACTION_LABELS: Mapping[RequestAction, Label] = catalog_labels("terminals.request_action.", RequestAction)

REQUESTERS: frozenset[str] = frozenset({Actor.MERCHANT, Actor.AGENT})
"""Who may submit or resubmit: the merchant, or the support desk on the merchant's behalf."""


@dataclass(frozen=True)
class ApprovalDecision:
    """An approved request: its new status and the terminal's return to active."""

    request_status: RequestStatus
    transition: Transition

    @property
    def must_sign_in(self) -> bool:
        """True: the terminal must sign in (签到) again, to get fresh working keys, before it transacts."""
        return self.transition.must_sign_in


def allowed_request_actions(
    status: RequestStatus | str | None, reason: SuspensionReason | str, role: str
) -> list[RequestAction]:
    """List what ``role`` may do with a request for ``reason`` in ``status`` (``None``: no request yet)."""
    who = str(role)
    st = None if status is None else RequestStatus(status)
    if st is None:
        return [RequestAction.SUBMIT] if who in REQUESTERS else []
    if st is RequestStatus.SUBMITTED:
        return [RequestAction.APPROVE, RequestAction.REJECT] if who in approvers_for(reason) else []
    if st is RequestStatus.REJECTED:
        return [RequestAction.RESUBMIT] if who in REQUESTERS else []
    return []


def _refuse(
    cls: type[TransitionError],
    action: RequestAction,
    status: RequestStatus | None,
    reason: SuspensionReason | str,
    role: str,
    problem: Label,
    unmet: Sequence[Condition] = (),
) -> TransitionError:
    return cls.refusing(action=action, status=status, reason=str(reason), role=role, problem=problem,
                        allowed=allowed_request_actions(status, reason, role), labels=REQUEST_ACTION_LABELS,
                        unmet=unmet)


def _expect_status(
    action: RequestAction,
    status: RequestStatus | str | None,
    expected: RequestStatus | None,
    reason: str,
    role: str,
) -> RequestStatus | None:
    st = None if status is None else RequestStatus(status)
    if st is not expected:
        verb = REQUEST_ACTION_LABELS[action]
        here = REQUEST_STATUS_LABELS[st] if st is not None else Label("尚未提交", "not submitted yet")
        problem = Label(
            f"复机申请当前为“{here.zh}”,不能{verb.zh}。", f"Cannot {verb.en}: the request is {here.en}."
        )
        raise _refuse(IllegalTransition, action, st, reason, role, problem)
    return st


def _expect_suspended(
    action: RequestAction,
    status: RequestStatus | None,
    terminal_status: TerminalStatus | str,
    terminal_reason: SuspensionReason | str | None,
    reason: SuspensionReason,
    role: str,
) -> None:
    term = TerminalStatus(terminal_status)
    if (
        term is TerminalStatus.SUSPENDED
        and terminal_reason is not None
        and SuspensionReason(terminal_reason) is reason
    ):
        return
    if term is TerminalStatus.SUSPENDED and terminal_reason is not None:
        now, was = REASON_LABELS[SuspensionReason(terminal_reason)], REASON_LABELS[reason]
        problem = Label(
            f"终端的停机原因已由“{was.zh}”变为“{now.zh}”,请按新原因重新提交。",
            f"The suspension reason changed from {was.en} to {now.en}; resubmit for the new reason.",
        )
    else:
        here = status_label(term)
        problem = Label(
            f"终端当前为“{here.zh}”,无需复机。", f"The terminal is {here.en}; there is nothing to reactivate."
        )
    raise _refuse(IllegalTransition, action, status, reason, role, problem)


def _expect_role(
    action: RequestAction,
    status: RequestStatus | None,
    reason: SuspensionReason,
    role: str,
    roles: frozenset[str],
) -> None:
    if role in roles:
        return
    who = ACTOR_LABELS.get(role, Label(role, role))
    verb, why = REQUEST_ACTION_LABELS[action], REASON_LABELS[reason]
    needed = ", ".join(sorted(roles))
    problem = Label(
        f"{who.zh}不能{verb.zh}(停机原因:{why.zh})。",
        f"{upper_first(who.en)} may not {verb.en} for {why.en} (allowed: {needed}).",
    )
    raise _refuse(NotAllowed, action, status, reason, role, problem)


def submit_request(
    terminal_status: TerminalStatus | str, terminal_reason: SuspensionReason | str | None, role: str
) -> RequestStatus:
    """Open a request for a suspended terminal; the request records ``terminal_reason`` as its reason.

    The service must also refuse a second open request for the same terminal.
    """
    who = str(role)
    if TerminalStatus(terminal_status) is not TerminalStatus.SUSPENDED or terminal_reason is None:
        here = status_label(terminal_status)
        verb = REQUEST_ACTION_LABELS[RequestAction.SUBMIT]
        raise IllegalTransition(
            action=RequestAction.SUBMIT,
            status=None,
            role=who,
            allowed=[],
            zh=f"终端当前为“{here.zh}”,不能{verb.zh}。",
            en=f"Cannot {verb.en}: the terminal is {here.en}.",
        )
    reason = SuspensionReason(terminal_reason)
    _expect_role(RequestAction.SUBMIT, None, reason, who, REQUESTERS)
    return RequestStatus.SUBMITTED


def resubmit_request(
    status: RequestStatus | str,
    reason: SuspensionReason | str,
    terminal_status: TerminalStatus | str,
    role: str,
) -> RequestStatus:
    """Send a rejected request back for review.

    The terminal must still be suspended; the service sets the request's reason to the terminal's
    current suspension reason, which may have changed since the rejection.
    """
    who, why = str(role), SuspensionReason(reason)
    st = _expect_status(RequestAction.RESUBMIT, status, RequestStatus.REJECTED, why, who)
    if TerminalStatus(terminal_status) is not TerminalStatus.SUSPENDED:
        _expect_suspended(RequestAction.RESUBMIT, st, terminal_status, None, why, who)
    _expect_role(RequestAction.RESUBMIT, st, why, who, REQUESTERS)
    return RequestStatus.SUBMITTED


def reject_request(
    status: RequestStatus | str, reason: SuspensionReason | str, role: str, rejection_reason: str
) -> RequestStatus:
    """Reject a submitted request; ``rejection_reason`` (shown to the merchant) must not be blank."""
    who, why = str(role), SuspensionReason(reason)
    st = _expect_status(RequestAction.REJECT, status, RequestStatus.SUBMITTED, why, who)
    _expect_role(RequestAction.REJECT, st, why, who, approvers_for(why))
    if not rejection_reason.strip():
        raise ValueError("a rejection needs a reason the merchant can act on")
    return RequestStatus.REJECTED


def approve_request(
    status: RequestStatus | str,
    reason: SuspensionReason | str,
    terminal_status: TerminalStatus | str,
    terminal_reason: SuspensionReason | str | None,
    role: str,
    facts: ReactivationFacts,
) -> ApprovalDecision:
    """Approve a submitted request whose conditions are all met, returning the terminal to active.

    Raises :class:`IllegalTransition` (wrong request or terminal state), :class:`NotAllowed`
    (``role`` is not an approver for ``reason``) or :class:`ConditionsNotMet` (listing them).
    The decision says the terminal must sign in again.
    """
    who, why = str(role), SuspensionReason(reason)
    st = _expect_status(RequestAction.APPROVE, status, RequestStatus.SUBMITTED, why, who)
    _expect_suspended(RequestAction.APPROVE, st, terminal_status, terminal_reason, why, who)
    _expect_role(RequestAction.APPROVE, st, why, who, approvers_for(why))
    unmet = unmet_conditions(why, facts)
    if unmet:
        problem = Label(
            "复机条件尚未满足:" + ";".join(c.zh.rstrip("。") for c in unmet) + "。",
            "Reactivation conditions are not met: " + "; ".join(c.en.rstrip(".") for c in unmet) + ".",
        )
        raise ConditionsNotMet(
            action=RequestAction.APPROVE,
            status=st,
            reason=why,
            role=who,
            allowed=[RequestAction.REJECT],
            zh=problem.zh,
            en=problem.en,
            unmet=unmet,
        )
    transition = decide(terminal_status, why, who, Action.REACTIVATE, reactivation_approved=True)
    return ApprovalDecision(RequestStatus.APPROVED, transition)


# ---------------------------------------------------------------- evidence recorded on a request


class EvidenceKind(StrEnum):
    """A fact someone records on a request towards its conditions."""

    PAYMENT = "payment"
    UNPAID_BILLS = "unpaid_bills"
    IDENTITY = "identity"
    REPAIR_CONFIRMED = "repair_confirmed"
    REQUIRED_VERSION = "required_version"
    DOCUMENTS_REQUESTED = "documents_requested"
    RESOLVED_CONFIRMED = "resolved_confirmed"
    DOCUMENT = "document"


EVIDENCE_LABELS: Mapping[EvidenceKind, Label] = catalog_labels("terminals.evidence.", EvidenceKind)

_APPROVER = "approver"
"""Stands for the roles that approve a request for its reason (risk for risk reasons, else agent)."""

_EVIDENCE_RULES: Mapping[EvidenceKind, tuple[frozenset[SuspensionReason], frozenset[str]]] = {
    EvidenceKind.PAYMENT: (frozenset({SuspensionReason.ARREARS}), frozenset({Actor.MERCHANT, Actor.AGENT})),
    EvidenceKind.UNPAID_BILLS: (frozenset({SuspensionReason.ARREARS}), frozenset({Actor.AGENT})),
    EvidenceKind.IDENTITY: (frozenset({SuspensionReason.DORMANT}), frozenset({Actor.MERCHANT, Actor.AGENT})),
    EvidenceKind.REPAIR_CONFIRMED: (frozenset({SuspensionReason.DEVICE_FAULT}), frozenset({Actor.AGENT})),
    EvidenceKind.REQUIRED_VERSION: (frozenset({SuspensionReason.SYSTEM_UPDATE}), frozenset({Actor.AGENT})),
    EvidenceKind.DOCUMENTS_REQUESTED: (
        frozenset({SuspensionReason.RISK_LIMIT, SuspensionReason.SECURITY, SuspensionReason.POLICY}),
        frozenset({_APPROVER}),
    ),
    EvidenceKind.RESOLVED_CONFIRMED: (frozenset({SuspensionReason.OTHER}), frozenset({Actor.AGENT})),
    EvidenceKind.DOCUMENT: (frozenset(SuspensionReason), frozenset({Actor.MERCHANT, Actor.AGENT, Actor.RISK})),
}
"""Each kind of evidence: the suspension reasons it counts towards, and who records it.

The merchant records a payment with its voucher, re-confirms identity and uploads documents;
agents record what they checked (bills, repairs, versions, that the cause is gone); whoever
approves a reason decides which documents it needs. Uploads are accepted for every reason.
"""

_OPEN_STATUSES = frozenset({RequestStatus.SUBMITTED, RequestStatus.REJECTED})


def _evidence_roles(kind: EvidenceKind, reason: SuspensionReason) -> frozenset[str]:
    roles = _EVIDENCE_RULES[kind][1]
    return approvers_for(reason) if _APPROVER in roles else roles


def evidence_kinds_for(status: RequestStatus | str, reason: SuspensionReason | str, role: str) -> list[EvidenceKind]:
    """List the evidence ``role`` may record on a request in ``status`` for ``reason``."""
    if RequestStatus(status) not in _OPEN_STATUSES:
        return []
    why, who = SuspensionReason(reason), str(role)
    return [k for k, (reasons, _) in _EVIDENCE_RULES.items() if why in reasons and who in _evidence_roles(k, why)]


def check_evidence(
    status: RequestStatus | str, reason: SuspensionReason | str, role: str, kind: EvidenceKind | str
) -> None:
    """Raise unless ``role`` may record ``kind`` of evidence on a request in ``status`` for ``reason``.

    :class:`IllegalTransition` when the request is decided or the evidence does not count for this
    reason, :class:`NotAllowed` when another role records it. Both list what the role may record.
    """
    st, why, who, what = RequestStatus(status), SuspensionReason(reason), str(role), EvidenceKind(kind)
    allowed = evidence_kinds_for(st, why, who)
    hint = allowed_sentence(who, allowed, EVIDENCE_LABELS)
    label, why_label = EVIDENCE_LABELS[what], REASON_LABELS[why]
    if st not in _OPEN_STATUSES:
        here = REQUEST_STATUS_LABELS[st]
        problem = Label(
            f"复机申请已{here.zh},不能再补充材料。", f"The request is {here.en}; nothing more can be recorded."
        )
        cls: type[TransitionError] = IllegalTransition
    elif why not in _EVIDENCE_RULES[what][0]:
        problem = Label(
            f"“{label.zh}”与停机原因“{why_label.zh}”无关。",
            f"{upper_first(label.en)} does not count for {why_label.en}.",
        )
        cls = IllegalTransition
    elif who not in _evidence_roles(what, why):
        who_label = ACTOR_LABELS.get(who, Label(who, who))
        problem = Label(
            f"{who_label.zh}不能登记“{label.zh}”。", f"{upper_first(who_label.en)} may not record {label.en}."
        )
        cls = NotAllowed
    else:
        return
    raise cls(
        action=f"evidence.{what}",
        status=st,
        reason=why,
        role=who,
        allowed=allowed,
        zh=f"{problem.zh}{hint.zh}",
        en=f"{problem.en} {hint.en}",
    )
