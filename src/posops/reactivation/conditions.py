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

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from posops.core.errors import RuleBroken
from posops.core.labels import Condition, Label, catalog_condition, catalog_labels, catalog_sentence
from posops.core.transitions import (
    ACTOR_LABELS,
    ConditionsNotMet,
    IllegalTransition,
    NotAllowed,
    TransitionError,
    allowed_sentence,
)
from posops.core.versions import compare_versions
from posops.terminals.arrears import format_yuan
from posops.terminals.lifecycle import (
    REACTIVATORS,
    REASON_LABELS,
    RISK_REASONS,
    Action,
    Actor,
    SuspensionReason,
    TerminalStatus,
    Transition,
    decide,
    status_label,
)

# ---------------------------------------------------------------- software versions


_CONDITION = "reactivation.condition."
_REFUSAL = "reactivation.refusal."


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
    """The terminal's repair ticket opened since it was suspended, if any."""
    repair_accepted_by_merchant: bool = False
    """That ticket's repair was accepted by the merchant (测试与验收)."""
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
        catalog_condition(_CONDITION, "document_missing", doc, document=doc)
        for doc in facts.documents_requested
        if doc not in provided
    ]


def _arrears(facts: ReactivationFacts) -> list[Condition]:
    if facts.amount_due_fen is None:
        missing = []
        if not facts.fee_plan_known:
            missing.append(catalog_condition(_CONDITION, "fee_plan_missing"))
        if not facts.unpaid_bills_known:
            missing.append(catalog_condition(_CONDITION, "unpaid_bills_missing"))
        if missing:
            return missing
        return [catalog_condition(_CONDITION, "arrears_not_computed")]
    if facts.amount_due_fen == 0:
        return []
    unmet = []
    remaining = facts.amount_due_fen - facts.amount_paid_fen
    if remaining > 0:
        unmet.append(catalog_condition(_CONDITION, "arrears_unpaid", str(remaining), owed=format_yuan(remaining)))
    if not (facts.payment_voucher or "").strip():
        unmet.append(catalog_condition(_CONDITION, "payment_voucher_missing"))
    return unmet


def _security(facts: ReactivationFacts) -> list[Condition]:
    unmet = _documents(facts)
    if facts.tamper_triggered:
        unmet.append(catalog_condition(_CONDITION, "tamper_still_triggered"))
    return unmet


def _device_fault(facts: ReactivationFacts) -> list[Condition]:
    if facts.repair_ticket_id:
        if facts.repair_accepted_by_merchant:
            return []
        ticket = facts.repair_ticket_id
        return [catalog_condition(_CONDITION, "repair_not_accepted", ticket, ticket=ticket)]
    return [catalog_condition(_CONDITION, "repair_no_ticket")]


def _system_update(facts: ReactivationFacts) -> list[Condition]:
    required, reported = facts.required_version, facts.reported_version
    if not required:
        return [catalog_condition(_CONDITION, "required_version_not_set")]
    if not reported:
        return [catalog_condition(_CONDITION, "version_not_reported", required, required=required)]
    try:
        new_enough = version_at_least(reported, required)
    except ValueError:
        return [catalog_condition(_CONDITION, "version_unreadable", reported, reported=reported)]
    if new_enough:
        return []
    return [catalog_condition(_CONDITION, "version_too_old", required, reported=reported, required=required)]


def _dormant(facts: ReactivationFacts) -> list[Condition]:
    if facts.identity_reconfirmed:
        return []
    return [catalog_condition(_CONDITION, "identity_not_reconfirmed")]


def _other(facts: ReactivationFacts) -> list[Condition]:
    if facts.agent_confirmed:
        return []
    return [catalog_condition(_CONDITION, "agent_confirmation_missing")]


@dataclass(frozen=True)
class ReasonRule:
    """What a suspension reason asks before reactivation."""

    check: Callable[[ReactivationFacts], list[Condition]]
    """Lists the conditions still unmet, from the recorded facts."""
    needs_second_person: bool = False
    """Maker–checker: the approver must not have filed the request, recorded its evidence or uploaded its
    documents (nor, for a risk reason, imposed the suspension). Set where money is paid or a risk lifted."""


_RULES: Mapping[SuspensionReason, ReasonRule] = {
    SuspensionReason.ARREARS: ReasonRule(_arrears, needs_second_person=True),
    SuspensionReason.RISK_LIMIT: ReasonRule(_documents, needs_second_person=True),
    SuspensionReason.SECURITY: ReasonRule(_security, needs_second_person=True),
    SuspensionReason.DEVICE_FAULT: ReasonRule(_device_fault),
    SuspensionReason.SYSTEM_UPDATE: ReasonRule(_system_update),
    SuspensionReason.DORMANT: ReasonRule(_dormant),
    SuspensionReason.POLICY: ReasonRule(_documents),
    SuspensionReason.OTHER: ReasonRule(_other),
}


def unmet_conditions(reason: SuspensionReason | str, facts: ReactivationFacts) -> list[Condition]:
    """List what still stands between a terminal suspended for ``reason`` and reactivation.

    An empty list means the request may be approved by one of :func:`approvers_for` ``(reason)``.
    """
    return _RULES[SuspensionReason(reason)].check(facts)


def second_person_reasons(override: str | None = None) -> frozenset[SuspensionReason]:
    """The reasons whose approval needs a second person: the table's, or the comma list ``override``.

    ``override`` is ``POSOPS_SECOND_PERSON_REASONS`` (empty: no reason); ValueError names an unknown reason.

    >>> sorted(r.value for r in second_person_reasons())
    ['arrears', 'risk_limit', 'security']
    >>> sorted(r.value for r in second_person_reasons(" dormant, arrears "))
    ['arrears', 'dormant']
    """
    if override is None:
        return frozenset(reason for reason, rule in _RULES.items() if rule.needs_second_person)
    names = {name.strip().lower() for name in override.split(",")} - {""}
    known = {reason.value for reason in SuspensionReason}
    if unknown := sorted(names - known):
        raise ValueError(f"POSOPS_SECOND_PERSON_REASONS names unknown suspension reasons {', '.join(unknown)} "
                         f"(known: {', '.join(sorted(known))})")
    return frozenset(SuspensionReason(name) for name in names)


def needs_second_person(reason: SuspensionReason | str, override: str | None = None) -> bool:
    """Tell whether approving a reactivation for ``reason`` needs a second person (:func:`second_person_reasons`)."""
    return SuspensionReason(reason) in second_person_reasons(override)


def lifts_risk_alone(old: SuspensionReason | str, new: SuspensionReason | str, override: str | None = None) -> bool:
    """Tell whether re-labelling a suspension from ``old`` to ``new`` lifts a risk reason needing a second person.

    Escalating within the risk reasons (risk limit to security, or back) lifts nothing; anything else
    takes the suspension away from the risk team, so its imposer may not do it alone.

    >>> lifts_risk_alone("security", "arrears"), lifts_risk_alone("risk_limit", "security")
    (True, False)
    """
    old_r, new_r = SuspensionReason(old), SuspensionReason(new)
    return old_r in RISK_REASONS and new_r not in RISK_REASONS and needs_second_person(old_r, override)


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
        here = REQUEST_STATUS_LABELS[st] if st is not None else catalog_sentence("reactivation.not_submitted")
        problem = catalog_sentence(_REFUSAL + "request_status", status=here, action=verb)
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
        problem = catalog_sentence(_REFUSAL + "reason_changed", old=was, new=now)
    else:
        problem = catalog_sentence(_REFUSAL + "not_suspended", status=status_label(term))
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
    problem = catalog_sentence(_REFUSAL + "role", actor=ACTOR_LABELS.get(role, Label(role, role)).starting_sentence(),
                               action=REQUEST_ACTION_LABELS[action], reason=REASON_LABELS[reason],
                               roles=", ".join(sorted(roles)))
    raise _refuse(NotAllowed, action, status, reason, role, problem)


def submit_request(
    terminal_status: TerminalStatus | str, terminal_reason: SuspensionReason | str | None, role: str
) -> RequestStatus:
    """Open a request for a suspended terminal; the request records ``terminal_reason`` as its reason.

    The service must also refuse a second open request for the same terminal.
    """
    who = str(role)
    if TerminalStatus(terminal_status) is not TerminalStatus.SUSPENDED or terminal_reason is None:
        problem = catalog_sentence(_REFUSAL + "terminal_status", status=status_label(terminal_status),
                                   action=REQUEST_ACTION_LABELS[RequestAction.SUBMIT])
        raise IllegalTransition(action=RequestAction.SUBMIT, status=None, role=who, allowed=[], zh=problem.zh,
                                en=problem.en)
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
    """Reject a submitted request; ``rejection_reason`` (shown to the merchant) must not be blank (else RuleBroken)."""
    who, why = str(role), SuspensionReason(reason)
    st = _expect_status(RequestAction.REJECT, status, RequestStatus.SUBMITTED, why, who)
    _expect_role(RequestAction.REJECT, st, why, who, approvers_for(why))
    if not rejection_reason.strip():
        raise RuleBroken("reactivation.error.rejection_reason")
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
        problem = catalog_sentence(_REFUSAL + "conditions_not_met", conditions=Label(
            ";".join(c.zh.rstrip("。") for c in unmet), "; ".join(c.en.rstrip(".") for c in unmet)))
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
agents record what they checked (bills, versions, that the cause is gone); whoever
approves a reason decides which documents it needs. Uploads are accepted for every reason.
"""

_OPEN_STATUSES = frozenset({RequestStatus.SUBMITTED, RequestStatus.REJECTED})

MAKER_EVIDENCE: frozenset[EvidenceKind] = frozenset(EvidenceKind) - {
    EvidenceKind.DOCUMENTS_REQUESTED, EvidenceKind.REQUIRED_VERSION}
"""Evidence whose recorder is a maker of the request (maker–checker): facts towards its conditions.

Which documents a risk case needs, or which version an update needs, is set by the approving side
and does not bar its author from approving.
"""


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
        problem = catalog_sentence(_REFUSAL + "request_decided", status=REQUEST_STATUS_LABELS[st])
        cls: type[TransitionError] = IllegalTransition
    elif why not in _EVIDENCE_RULES[what][0]:
        problem = catalog_sentence(_REFUSAL + "evidence_unrelated", evidence=label.starting_sentence(),
                                   reason=why_label)
        cls = IllegalTransition
    elif who not in _evidence_roles(what, why):
        actor = ACTOR_LABELS.get(who, Label(who, who)).starting_sentence()
        problem = catalog_sentence(_REFUSAL + "evidence_role", actor=actor, evidence=label)
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
