"""The fixed words of a diagnosis: a session's status, a step's kind and the outcomes every step shares.

A check's own outcomes are the knowledge base's words (``paper: empty | loaded``); only the
answers that mean the same for every step are fixed here.

    >>> SessionStatus("open") is SessionStatus.OPEN
    True
    >>> [str(o) for o in REPAIR_OUTCOMES]
    ['fixed', 'not_fixed', 'unknown']
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ESCALATE", "REPAIR_OUTCOMES", "HandoverReason", "SessionStatus", "StepBy", "StepKind", "StepOutcome"]


class SessionStatus(StrEnum):
    """Where a session stands: ``open`` (a step to propose), ``resolved`` (a repair fixed it),
    ``escalated`` (gone to the service desk: the ``escalate`` repair, or the person asked) or
    ``abandoned`` (nobody answered for POSOPS_DIAGNOSIS_IDLE_HOURS; closed by the worker)."""

    OPEN = "open"
    RESOLVED = "resolved"
    ESCALATED = "escalated"
    ABANDONED = "abandoned"


class StepKind(StrEnum):
    """What a step asks: a ``check`` (an observation that changes nothing) or an ``action`` (a repair)."""

    CHECK = "check"
    ACTION = "action"


class StepBy(StrEnum):
    """Who can take a step: the merchant at the counter, the service desk (``support``: TMS, merchant
    records, keys, the acquirer's host) or a technician."""

    MERCHANT = "merchant"
    SUPPORT = "support"
    TECHNICIAN = "technician"


class HandoverReason(StrEnum):
    """Why a session went to the desk: the person ``requested`` it, or a ``repair`` is needed."""

    REQUESTED = "requested"
    REPAIR = "repair"


class StepOutcome(StrEnum):
    """Answers every step shares: a repair ``fixed`` it or not, or ``unknown`` (nobody could do the step;
    it is never proposed again)."""

    FIXED = "fixed"
    NOT_FIXED = "not_fixed"
    UNKNOWN = "unknown"


REPAIR_OUTCOMES = (StepOutcome.FIXED, StepOutcome.NOT_FIXED, StepOutcome.UNKNOWN)
"""The answers a repair takes, in the order they are offered."""

ESCALATE = "escalate"
"""The knowledge base's repair that hands the case to the service desk; when it 'fixes', the session escalates."""
