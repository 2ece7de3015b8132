"""Refusals of a state machine's step, shared by every workflow (terminal lifecycle, onboarding, reactivation …).

A refusal says, in zh-CN and English, what is wrong and what the caller's role may do instead,
and carries the conditions still unmet; the API answers it as 409 (or 403 for the wrong role)
with that description as the body's ``detail``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from posops.core.auth import Role
from posops.core.errors import Conflict, Forbidden, PosopsError
from posops.core.labels import Condition, Label, catalog_labels, catalog_sentence

ACTOR_LABELS: Mapping[str, Label] = catalog_labels("role.", list(Role))
"""Role names as the console shows them, the scheduled worker (``system``) included."""


class TransitionError(PosopsError):
    """A refused state change, with zh-CN and English messages and the actions allowed instead.

    It is a :class:`~posops.core.errors.PosopsError`, so the app answers it as HTTP: its JSON
    ``detail`` is :meth:`as_dict` (what was refused, what is allowed from here, what is missing).
    """

    code = "transition_error"

    def __init__(
        self,
        *,
        action: str,
        status: str | None,
        role: str,
        allowed: Sequence[str],
        zh: str,
        en: str,
        reason: str | None = None,
        unmet: Sequence[Condition] = (),
    ) -> None:
        super().__init__(f"{zh} | {en}")
        self.action = str(action)
        self.state = None if status is None else str(status)
        """The status of the thing acted on (``status`` is the HTTP status of the error class)."""
        self.reason = None if reason is None else str(reason)
        self.role = str(role)
        self.allowed: tuple[str, ...] = tuple(str(a) for a in allowed)
        self.zh = zh
        self.en = en
        self.unmet: tuple[Condition, ...] = tuple(unmet)

    @classmethod
    def refusing(
        cls,
        *,
        action: str,
        status: str | None,
        reason: str | None,
        role: str,
        problem: Label,
        allowed: Sequence[str],
        labels: Mapping[Any, Label],
        unmet: Sequence[Condition] = (),
    ) -> TransitionError:
        """Refuse ``action``: say the ``problem``, then what ``role`` may do instead (named by ``labels``)."""
        hint = allowed_sentence(role, allowed, labels)
        return cls(action=action, status=status, reason=reason, role=role, allowed=allowed,
                   zh=f"{problem.zh}{hint.zh}", en=f"{problem.en} {hint.en}", unmet=unmet)

    def text(self, lang: str = "zh-CN") -> str:
        """Return the message in ``lang`` (``zh-CN`` or ``en``)."""
        return self.en if lang == "en" else self.zh

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready description, for an API error body."""
        return {
            "code": self.code,
            "action": self.action,
            "state": self.state,
            "reason": self.reason,
            "role": self.role,
            "allowed": list(self.allowed),
            "unmet": [c._asdict() for c in self.unmet],
            "message": {"zh-CN": self.zh, "en": self.en},
        }

    def detail(self) -> Any:
        """Return the JSON ``detail`` of the HTTP answer: :meth:`as_dict`."""
        return self.as_dict()


class IllegalTransition(TransitionError, Conflict):
    """The action is not possible from the current state (HTTP 409)."""

    code = "illegal_transition"


class ConditionsNotMet(IllegalTransition):
    """The action is possible from here, but some of its preconditions are not met (HTTP 409)."""

    code = "conditions_not_met"


class NotAllowed(TransitionError, Forbidden):
    """The action is possible from the current state, but not for this role (HTTP 403)."""

    code = "not_allowed"


def list_labels(values: Iterable[str], labels: Mapping[Any, Label]) -> Label:
    """Join the labels of ``values`` into one zh-CN and one English list."""
    items = [labels.get(v, Label(str(v), str(v))) for v in values]
    return Label("、".join(i.zh for i in items), ", ".join(i.en for i in items))


def allowed_sentence(role: str, allowed: Sequence[str], labels: Mapping[Any, Label]) -> Label:
    """Say, in both languages, what ``role`` may do instead (or that it may do nothing here)."""
    who = ACTOR_LABELS.get(role, Label(role, role))
    if not allowed:
        return catalog_sentence("transitions.allowed.none", who=who)
    return catalog_sentence("transitions.allowed.some", who=who, actions=list_labels(allowed, labels))
