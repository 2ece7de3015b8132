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
    """Where a diagnosis session stands: still asking, closed by a repair, or handed to the service desk."""

    OPEN = "open"
    """The engine still has a step to propose."""
    RESOLVED = "resolved"
    """A repair was answered ``fixed``."""
    ESCALATED = "escalated"
    """The case went to the service desk: the ``escalate`` repair, or the person asked for it."""
    ABANDONED = "abandoned"
    """Nobody answered for POSOPS_DIAGNOSIS_IDLE_HOURS; closed by the worker."""


class StepKind(StrEnum):
    """What a step asks of the person: a check to make or a repair to try."""

    CHECK = "check"
    """An observation: it changes nothing on the terminal."""
    ACTION = "action"
    """A repair: answered ``fixed``, ``not_fixed`` or ``unknown``."""


class StepBy(StrEnum):
    """Who can take a step: the merchant at the counter, the provider's service desk, or a technician."""

    MERCHANT = "merchant"
    SUPPORT = "support"
    """The service desk: TMS, merchant records, key management, the acquirer's host."""
    TECHNICIAN = "technician"


class HandoverReason(StrEnum):
    """Why a session went to the service desk."""

    REQUESTED = "requested"
    """The person chose to stop and contact support."""
    REPAIR = "repair"
    """The engine proposed the hand-over: nothing cheaper is likely to help."""


class StepOutcome(StrEnum):
    """Answers shared by every step: a repair fixed it or not, or nobody could do the step."""

    FIXED = "fixed"
    NOT_FIXED = "not_fixed"
    UNKNOWN = "unknown"
    """Nobody could do the step; it is never proposed again."""


REPAIR_OUTCOMES = (StepOutcome.FIXED, StepOutcome.NOT_FIXED, StepOutcome.UNKNOWN)
"""The answers a repair takes, in the order they are offered."""

ESCALATE = "escalate"
"""The knowledge base's repair that hands the case to the service desk; when it 'fixes', the session escalates."""
