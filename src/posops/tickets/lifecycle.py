"""Repair ticket lifecycle: the states a ticket can be in and which actor may move it where.

Like :mod:`posops.terminals.lifecycle`, the machine is pure: given the ticket's status, the
actor's role (and whether the actor is the assigned technician) and the state asked for, it
returns the :class:`Move` or raises :class:`IllegalTransition` (HTTP 409, impossible from here)
or :class:`NotAllowed` (HTTP 403, possible but not for this role); both list what the role may
do instead.

>>> decide("in_repair", "technician", "waiting", assignee=True, waiting_for="parts").pauses_sla
True
>>> allowed_targets("repaired", "merchant")
[<TicketStatus.IN_REPAIR: 'in_repair'>, <TicketStatus.ACCEPTED: 'accepted'>]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from posops.core.auth import Role
from posops.core.labels import Label, catalog_labels, catalog_sentence
from posops.core.transitions import ACTOR_LABELS, IllegalTransition, NotAllowed, TransitionError


class TicketStatus(StrEnum):
    """Where a repair stands, from the report to the merchant's acceptance."""

    NEW = "new"
    TRIAGED = "triaged"
    ASSIGNED = "assigned"
    SCHEDULED = "scheduled"
    IN_REPAIR = "in_repair"
    WAITING = "waiting"
    REPAIRED = "repaired"
    ACCEPTED = "accepted"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    NOT_REPAIRABLE = "not_repairable"
    REPLACED = "replaced"


class WaitingFor(StrEnum):
    """What a waiting ticket waits for; the SLA clock is paused meanwhile."""

    PARTS = "parts"
    MERCHANT = "merchant"
    VENDOR = "vendor"


class Channel(StrEnum):
    """How the device reaches repair: a technician's visit, sent to the depot by post, or dropped off."""

    ONSITE = "onsite"
    DEPOT = "depot"
    DROP_OFF = "drop_off"


class Outcome(StrEnum):
    """What a technician's repair came to."""

    REPAIRED = "repaired"
    NOT_REPAIRED = "not_repaired"
    REPLACED = "replaced"


STATUS_LABELS: Mapping[TicketStatus, Label] = catalog_labels("tickets.status.", TicketStatus)
WAITING_LABELS: Mapping[WaitingFor, Label] = catalog_labels("tickets.waiting.", WaitingFor)
MOVE_LABELS: Mapping[TicketStatus, Label] = catalog_labels(
    "tickets.move.", [s for s in TicketStatus if s is not TicketStatus.NEW])
"""The move to each state named as a verb (派单, 开始维修 …), for refusals and buttons."""

OPEN_STATUSES: frozenset[TicketStatus] = frozenset(
    set(TicketStatus) - {TicketStatus.CLOSED, TicketStatus.CANCELLED, TicketStatus.ACCEPTED})
"""A ticket in one of these still needs someone to act (the desk's and technicians' queues)."""

FINISHED_STATUSES: frozenset[TicketStatus] = frozenset(
    {TicketStatus.REPAIRED, TicketStatus.ACCEPTED, TicketStatus.CLOSED, TicketStatus.REPLACED})
"""The repair is done (the resolution SLA stops when the ticket first reaches one of these)."""

_DESK = frozenset({Role.AGENT, Role.ADMIN})
_WORKERS = frozenset({Role.TECHNICIAN, Role.AGENT, Role.ADMIN})
_ACCEPTORS = frozenset({Role.MERCHANT, Role.AGENT, Role.ADMIN})
_CLOSERS = frozenset({Role.AGENT, Role.ADMIN, Role.SYSTEM})
_CANCELLERS = frozenset({Role.MERCHANT, Role.AGENT, Role.ADMIN})

S = TicketStatus
MOVES: Mapping[tuple[TicketStatus, TicketStatus], frozenset[str]] = {
    (S.NEW, S.TRIAGED): _DESK,
    (S.NEW, S.ASSIGNED): _DESK,
    (S.TRIAGED, S.ASSIGNED): _DESK,
    (S.ASSIGNED, S.SCHEDULED): _WORKERS,
    (S.ASSIGNED, S.IN_REPAIR): _WORKERS,
    (S.SCHEDULED, S.IN_REPAIR): _WORKERS,
    (S.SCHEDULED, S.SCHEDULED): _WORKERS,
    (S.IN_REPAIR, S.WAITING): _WORKERS,
    (S.WAITING, S.IN_REPAIR): _WORKERS,
    (S.IN_REPAIR, S.REPAIRED): _WORKERS,
    (S.IN_REPAIR, S.NOT_REPAIRABLE): _WORKERS,
    (S.NOT_REPAIRABLE, S.REPLACED): _DESK,
    (S.REPAIRED, S.ACCEPTED): _ACCEPTORS,
    (S.REPAIRED, S.IN_REPAIR): _ACCEPTORS | _WORKERS,
    (S.ACCEPTED, S.CLOSED): _CLOSERS,
    (S.REPLACED, S.ACCEPTED): _ACCEPTORS,
    (S.REPLACED, S.CLOSED): _CLOSERS,
    (S.NEW, S.CANCELLED): _CANCELLERS,
    (S.TRIAGED, S.CANCELLED): _DESK,
    (S.ASSIGNED, S.CANCELLED): _DESK,
    (S.SCHEDULED, S.CANCELLED): _DESK,
    (S.WAITING, S.CANCELLED): _DESK,
}
"""Every move a ticket can make and who may make it. Technicians act only on tickets assigned to them;
a merchant only cancels its own report before the desk has looked at it, and accepts or refuses the repair."""

ASSIGNED_ONLY = frozenset({Role.TECHNICIAN})
"""Roles that may move a ticket only when they are its assigned technician."""


@dataclass(frozen=True)
class Move:
    """An allowed move: from and to, and what it does to the SLA clock."""

    from_status: TicketStatus
    to_status: TicketStatus
    waiting_for: WaitingFor | None = None

    @property
    def pauses_sla(self) -> bool:
        """True when the move enters a waiting state (the SLA clock stops)."""
        return self.to_status is TicketStatus.WAITING

    @property
    def resumes_sla(self) -> bool:
        """True when the move leaves a waiting state (the SLA clock runs again)."""
        return self.from_status is TicketStatus.WAITING

    @property
    def responds(self) -> bool:
        """True when the move is the first assignment (the response SLA is met at it)."""
        return self.to_status is TicketStatus.ASSIGNED

    @property
    def finishes(self) -> bool:
        """True when the move ends the repair (the resolution SLA stops)."""
        return self.to_status in FINISHED_STATUSES and self.from_status not in FINISHED_STATUSES


def _may(role: str, move: tuple[TicketStatus, TicketStatus], assignee: bool) -> bool:
    roles = MOVES.get(move)
    if roles is None or role not in roles:
        return False
    return assignee or role not in ASSIGNED_ONLY


def allowed_targets(status: TicketStatus | str, role: str, *, assignee: bool = False) -> list[TicketStatus]:
    """List the states ``role`` may move a ticket in ``status`` to (``assignee``: the actor is its technician)."""
    here, who = TicketStatus(status), str(role)
    return [to for to in TicketStatus if _may(who, (here, to), assignee)]


def _refuse(cls: type[TransitionError], here: TicketStatus, to: TicketStatus, role: str, assignee: bool,
            problem: Label) -> TransitionError:
    return cls.refusing(action=to, status=here, reason=None, role=role, problem=problem,
                        allowed=allowed_targets(here, role, assignee=assignee), labels=MOVE_LABELS)


def decide(status: TicketStatus | str, role: str, to: TicketStatus | str, *, assignee: bool = False,
           waiting_for: WaitingFor | str | None = None) -> Move:
    """Decide whether ``role`` may move a ticket from ``status`` to ``to``; return the :class:`Move`.

    ``waiting_for`` is required when ``to`` is ``waiting``. Raises :class:`IllegalTransition` when no
    such move exists and :class:`NotAllowed` when it exists but not for this actor.
    """
    here, target, who = TicketStatus(status), TicketStatus(to), str(role)
    if (here, target) not in MOVES:
        problem = catalog_sentence("tickets.refusal.no_move", status=STATUS_LABELS[here], to=STATUS_LABELS[target])
        raise _refuse(IllegalTransition, here, target, who, assignee, problem)
    if not _may(who, (here, target), assignee):
        actor = ACTOR_LABELS.get(who, Label(who, who)).starting_sentence()
        key = "tickets.refusal.not_assignee" if who in ASSIGNED_ONLY else "tickets.refusal.role"
        problem = catalog_sentence(key, actor=actor, status=STATUS_LABELS[here], to=STATUS_LABELS[target])
        raise _refuse(NotAllowed, here, target, who, assignee, problem)
    wait: WaitingFor | None = None
    if target is TicketStatus.WAITING:
        if waiting_for is None:
            raise ValueError("a move to waiting needs waiting_for (parts, merchant or vendor)")
        wait = WaitingFor(waiting_for)
    return Move(from_status=here, to_status=target, waiting_for=wait)
