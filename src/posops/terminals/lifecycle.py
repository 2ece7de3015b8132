"""Terminal lifecycle: the states a terminal can be in and which actor may move it where.

The state machine is pure: it takes the current status (and suspension reason), the actor's
role and the requested action, and either returns the resulting :class:`Transition` or raises

* :class:`IllegalTransition` (HTTP 409) when the action is not possible from this state, or
* :class:`NotAllowed` (HTTP 403) when it is possible, but not for this role.

Both errors carry the zh-CN and English message and the actions the role *can* take from here.

>>> decide("active", None, "agent", "suspend", new_reason="arrears").to_reason
<SuspensionReason.ARREARS: 'arrears'>
>>> allowed_actions("suspended", "security", "agent")
[<Action.DECOMMISSION: 'decommission'>]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from posops.core.auth import Role
from posops.core.labels import (
    Condition,
    Label,
    catalog_condition,
    catalog_labels,
    catalog_sentence,
)
from posops.core.transitions import ACTOR_LABELS, ConditionsNotMet, IllegalTransition, NotAllowed, TransitionError

Actor = Role
"""Who acts: the five user roles of posops plus the scheduled worker (``Role.SYSTEM``)."""


class TerminalStatus(StrEnum):
    """Where a terminal is in its life."""

    ONBOARDING = "onboarding"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    DECOMMISSIONED = "decommissioned"


class SuspensionReason(StrEnum):
    """Why a terminal is suspended (停机原因); decides how it may be reactivated."""

    ARREARS = "arrears"
    RISK_LIMIT = "risk_limit"
    DEVICE_FAULT = "device_fault"
    SYSTEM_UPDATE = "system_update"
    SECURITY = "security"
    DORMANT = "dormant"
    POLICY = "policy"
    OTHER = "other"


class Action(StrEnum):
    """A change of a terminal's status."""

    ACTIVATE = "activate"
    SUSPEND = "suspend"
    CHANGE_REASON = "change_reason"
    REACTIVATE = "reactivate"
    DECOMMISSION = "decommission"


STATUS_LABELS: Mapping[TerminalStatus, Label] = catalog_labels("status.", TerminalStatus)
REASON_LABELS: Mapping[SuspensionReason, Label] = catalog_labels("reason.", SuspensionReason)
ACTION_LABELS: Mapping[Action, Label] = catalog_labels("terminals.action.", Action)

# Reasons only the risk team may set or lift (DESIGN: risk owns risk, fraud and security).
RISK_REASONS: frozenset[SuspensionReason] = frozenset(
    {SuspensionReason.RISK_LIMIT, SuspensionReason.SECURITY}
)

ACTIVATORS: frozenset[str] = frozenset({Actor.AGENT, Actor.ADMIN})
DECOMMISSIONERS: frozenset[str] = frozenset({Actor.AGENT, Actor.ADMIN})

_AGENT_OR_RISK = frozenset({Actor.AGENT, Actor.RISK})
_RISK_ONLY = frozenset({Actor.RISK})

SUSPENDERS: Mapping[SuspensionReason, frozenset[str]] = {
    SuspensionReason.ARREARS: _AGENT_OR_RISK,
    SuspensionReason.RISK_LIMIT: _RISK_ONLY,
    SuspensionReason.DEVICE_FAULT: _AGENT_OR_RISK,
    SuspensionReason.SYSTEM_UPDATE: _AGENT_OR_RISK,
    SuspensionReason.SECURITY: _RISK_ONLY,
    SuspensionReason.DORMANT: frozenset({Actor.SYSTEM, Actor.AGENT}),
    SuspensionReason.POLICY: _AGENT_OR_RISK,
    SuspensionReason.OTHER: _AGENT_OR_RISK,
}
"""Who may suspend a terminal for each reason."""

REACTIVATORS: Mapping[SuspensionReason, frozenset[str]] = {
    reason: _RISK_ONLY if reason in RISK_REASONS else frozenset({Actor.AGENT}) for reason in SuspensionReason
} | {SuspensionReason.DEVICE_FAULT: frozenset({Actor.AGENT, Actor.SYSTEM})}
"""Who may approve a reactivation (复机) request, and so reactivate, for each reason.

A device fault is also lifted by the system, when the merchant accepts the repair of its ticket."""

_FROM_STATUSES: Mapping[Action, frozenset[TerminalStatus]] = {
    Action.ACTIVATE: frozenset({TerminalStatus.ONBOARDING}),
    Action.SUSPEND: frozenset({TerminalStatus.ACTIVE}),
    Action.CHANGE_REASON: frozenset({TerminalStatus.SUSPENDED}),
    Action.REACTIVATE: frozenset({TerminalStatus.SUSPENDED}),
    Action.DECOMMISSION: frozenset(
        {TerminalStatus.ONBOARDING, TerminalStatus.ACTIVE, TerminalStatus.SUSPENDED}
    ),
}

_TO_STATUS: Mapping[Action, TerminalStatus] = {
    Action.ACTIVATE: TerminalStatus.ACTIVE,
    Action.SUSPEND: TerminalStatus.SUSPENDED,
    Action.CHANGE_REASON: TerminalStatus.SUSPENDED,
    Action.REACTIVATE: TerminalStatus.ACTIVE,
    Action.DECOMMISSION: TerminalStatus.DECOMMISSIONED,
}


@dataclass(frozen=True)
class Transition:
    """The outcome of an allowed action: the terminal's status and reason before and after."""

    action: Action
    from_status: TerminalStatus
    from_reason: SuspensionReason | None
    to_status: TerminalStatus
    to_reason: SuspensionReason | None
    must_sign_in: bool = False
    """True when the terminal must sign in (签到) again before it may transact."""


def status_label(status: TerminalStatus | str, reason: SuspensionReason | str | None = None) -> Label:
    """Name a terminal's status, with the suspension reason when there is one."""
    base = STATUS_LABELS[TerminalStatus(status)]
    if reason is None:
        return base
    why = REASON_LABELS[SuspensionReason(reason)]
    return catalog_sentence("terminals.status_with_reason", status=base, reason=why)


def may_suspend(role: str, reason: SuspensionReason | str) -> bool:
    """Tell whether ``role`` may suspend an active terminal for ``reason``."""
    return str(role) in SUSPENDERS[SuspensionReason(reason)]


def may_reactivate(role: str, reason: SuspensionReason | str) -> bool:
    """Tell whether ``role`` may approve reactivation of a terminal suspended for ``reason``."""
    return str(role) in REACTIVATORS[SuspensionReason(reason)]


def may_change_reason(role: str, old: SuspensionReason | str, new: SuspensionReason | str) -> bool:
    """Tell whether ``role`` may re-label a suspension from ``old`` to ``new`` without reactivating.

    The role must be able to suspend for ``new``, and lifting a risk reason needs the risk role;
    the scheduled worker never re-labels.
    """
    old_r, new_r, who = SuspensionReason(old), SuspensionReason(new), str(role)
    if old_r is new_r or who == Actor.SYSTEM or not may_suspend(who, new_r):
        return False
    return old_r not in RISK_REASONS or who in REACTIVATORS[old_r]


def suspension_reasons_for(
    role: str, current: SuspensionReason | str | None = None
) -> list[SuspensionReason]:
    """List the reasons ``role`` may suspend for (or re-label to, when ``current`` is given)."""
    if current is None:
        return [r for r in SuspensionReason if may_suspend(role, r)]
    return [r for r in SuspensionReason if may_change_reason(role, current, r)]


def _role_may(action: Action, role: str, reason: SuspensionReason | None) -> bool:
    """Tell whether ``role`` may take ``action`` at all from a state with this suspension ``reason``."""
    if action is Action.ACTIVATE:
        return role in ACTIVATORS
    if action is Action.DECOMMISSION:
        return role in DECOMMISSIONERS
    if action is Action.SUSPEND:
        return bool(suspension_reasons_for(role))
    if reason is None:  # CHANGE_REASON and REACTIVATE start from a suspended terminal
        return False
    if action is Action.CHANGE_REASON:
        return bool(suspension_reasons_for(role, reason))
    return may_reactivate(role, reason)


def _state(
    status: TerminalStatus | str, reason: SuspensionReason | str | None
) -> tuple[TerminalStatus, SuspensionReason | None]:
    st = TerminalStatus(status)
    if st is TerminalStatus.SUSPENDED:
        if reason is None:
            raise ValueError("a suspended terminal must have a suspension reason")
        return st, SuspensionReason(reason)
    return st, None


def allowed_actions(
    status: TerminalStatus | str, reason: SuspensionReason | str | None, role: str
) -> list[Action]:
    """List the actions ``role`` may take on a terminal in ``status`` (with ``reason`` if suspended).

    ``reactivate`` is listed for the role that may approve the reactivation request; the
    transition itself still needs that approved request (see :func:`decide`).
    """
    st, why = _state(status, reason)
    who = str(role)
    return [a for a in Action if st in _FROM_STATUSES[a] and _role_may(a, who, why)]


def _refuse(
    cls: type[TransitionError],
    action: Action,
    st: TerminalStatus,
    why: SuspensionReason | None,
    role: str,
    problem: Label,
    unmet: Sequence[Condition] = (),
) -> TransitionError:
    return cls.refusing(action=action, status=st, reason=why, role=role, problem=problem,
                        allowed=allowed_actions(st, why, role), labels=ACTION_LABELS, unmet=unmet)


def _permitted(act: Action, who: str, why: SuspensionReason | None, target: SuspensionReason | None) -> bool:
    """Tell whether ``who`` may take ``act`` from reason ``why`` (to reason ``target``)."""
    if act is Action.ACTIVATE:
        return who in ACTIVATORS
    if act is Action.DECOMMISSION:
        return who in DECOMMISSIONERS
    if act is Action.SUSPEND:
        return target is not None and may_suspend(who, target)
    if why is None:
        return False
    if act is Action.CHANGE_REASON:
        return target is not None and may_change_reason(who, why, target)
    return may_reactivate(who, why)


def decide(
    status: TerminalStatus | str,
    reason: SuspensionReason | str | None,
    role: str,
    action: Action | str,
    *,
    new_reason: SuspensionReason | str | None = None,
    reactivation_approved: bool = False,
) -> Transition:
    """Decide whether ``role`` may take ``action`` on a terminal in ``status`` and return the result.

    ``new_reason`` is required for ``suspend`` and ``change_reason``. ``reactivate`` needs
    ``reactivation_approved=True``: a terminal comes back only through an approved 复机 request.
    Raises :class:`IllegalTransition` (or its :class:`ConditionsNotMet`) or :class:`NotAllowed`.
    """
    st, why = _state(status, reason)
    act, who = Action(action), str(role)
    verb = ACTION_LABELS[act]
    here = status_label(st, why)

    if st not in _FROM_STATUSES[act]:
        problem = catalog_sentence("terminals.refusal.wrong_status", status=here, action=verb)
        raise _refuse(IllegalTransition, act, st, why, who, problem)

    target: SuspensionReason | None = None
    if act in (Action.SUSPEND, Action.CHANGE_REASON):
        if new_reason is None:
            raise ValueError(f"{act} needs a suspension reason")
        target = SuspensionReason(new_reason)
        if act is Action.CHANGE_REASON and target is why:
            problem = catalog_sentence("terminals.refusal.same_reason", reason=REASON_LABELS[target])
            raise _refuse(IllegalTransition, act, st, why, who, problem)

    if not _permitted(act, who, why, target):
        actor = ACTOR_LABELS.get(who, Label(who, who)).starting_sentence()
        if act is Action.CHANGE_REASON and why is not None and target is not None:
            problem = catalog_sentence("terminals.refusal.change_reason", actor=actor, old=REASON_LABELS[why],
                                       new=REASON_LABELS[target])
        elif target is not None:
            problem = catalog_sentence("terminals.refusal.suspend_for", actor=actor, reason=REASON_LABELS[target])
        else:
            problem = catalog_sentence("terminals.refusal.role", actor=actor, action=verb, status=here)
        raise _refuse(NotAllowed, act, st, why, who, problem)

    if act is Action.REACTIVATE and not reactivation_approved:
        needed = catalog_condition("terminals.condition.", "reactivation_request_not_approved")
        raise _refuse(ConditionsNotMet, act, st, why, who, Label(needed.zh, needed.en), unmet=[needed])

    return Transition(
        action=act,
        from_status=st,
        from_reason=why,
        to_status=_TO_STATUS[act],
        to_reason=target,
        must_sign_in=act is Action.REACTIVATE,
    )
