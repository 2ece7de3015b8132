"""Who plays which part in the demo: the terminals each later part of the load uses, chosen once from the new fleet.

The demo merchant (the ``merchant`` login) gets the showcase terminals, so the first terminals it
opens are a healthy one and a suspended one with every card of the terminal page filled in. The
choice depends only on the fleet and the seed: the same seed gives the same demo.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from posops.core.auth import Principal, Role
from posops.core.errors import Invalid
from posops.core.models import User
from posops.terminals.lifecycle import SuspensionReason, TerminalStatus
from posops.terminals.models import Merchant, Terminal
from posops.tickets.lifecycle import OPEN_STATUSES
from posops.tickets.models import Loaner, MaintenanceRecord, Ticket

SUSPENDED_SHARE = 0.06
"""Share of the fleet the demo leaves suspended, the showcase and reactivation cases included."""
SUSPENSION_REASONS = (SuspensionReason.ARREARS, SuspensionReason.ARREARS, SuspensionReason.RISK_LIMIT,
                      SuspensionReason.DORMANT, SuspensionReason.DEVICE_FAULT, SuspensionReason.SECURITY)
"""The reasons of the other suspensions, in turn (arrears twice: the commonest in practice)."""
BATTERYLESS_MODELS = frozenset({"Verifone X990"})
"""Countertop models on mains power: their heartbeats have no battery section (as in the fleet simulator)."""


@dataclass(frozen=True)
class Cast:
    """Terminal ids by the part they play."""

    healthy: int
    """The demo merchant's showcase: online, traffic, diagnoses, maintenance records."""
    suspended: int
    """The demo merchant's showcase suspended for arrears, its reactivation request waiting for the rest."""
    reactivated: int
    """The demo merchant's: suspended for arrears, paid in full, reactivated (must sign in again)."""
    rejected: int
    """Another merchant's arrears case whose payment voucher the desk refused."""
    risk_held: int
    """Another merchant's risk-limit suspension, documents uploaded, waiting for the risk team."""
    others: tuple[tuple[int, SuspensionReason], ...]
    """The rest of the suspended fleet and why."""
    failing_reader: int
    """The demo merchant's terminal whose card reader is failing more and more."""
    low_battery: int
    offline: tuple[int, ...]
    """Reported for weeks, silent since a few hours or days."""
    never_seen: tuple[int, ...]
    """Active, but no heartbeat ever arrived (the onboarding terminals are never seen either)."""
    sign_in_failures: int
    declines: int
    home: frozenset[int]
    """Which of these terminals are the demo merchant's (its own login acts for them)."""

    @property
    def arrears(self) -> tuple[int, ...]:
        """The arrears suspensions that have a reactivation request."""
        return self.suspended, self.reactivated, self.rejected


def choose_cast(session: Session, merchants: list[Merchant], seed: int) -> Cast:
    """Pick the parts among the active terminals that are not loaners (read only).

    The demo merchant's terminals are preferred for the showcase parts, other merchants' for the
    rest. A suspension goes only to a terminal without an open ticket: a repair accepted for a
    device-fault suspension that came after its ticket would not lift it.
    """
    rng = random.Random(f"{seed}:cast")
    busy = set(session.scalars(select(Ticket.terminal_id).where(Ticket.status.in_([s.value for s in OPEN_STATUSES]))))
    repaired = set(session.scalars(select(MaintenanceRecord.terminal_id)))
    rows = session.execute(
        select(Terminal.id, Terminal.merchant_id, Terminal.model)
        .where(Terminal.merchant_id.in_([m.id for m in merchants]), Terminal.status == TerminalStatus.ACTIVE,
               Terminal.id.not_in(select(Loaner.terminal_id)))
        .order_by(Terminal.id)).all()
    home = {t.id for t in rows if t.merchant_id == merchants[0].id}
    battery = {t.id for t in rows if t.model not in BATTERYLESS_MODELS}
    ids = [t.id for t in rows]
    homeward = sorted(ids, key=lambda t: t not in home)
    newest_home_first = sorted(reversed(ids), key=lambda t: t not in home)
    taken: set[int] = set()

    def take(candidates: list[int], *, free: bool = False) -> int:
        """The first candidate not cast yet (``free``: without an open ticket either)."""
        for terminal_id in candidates:
            if terminal_id not in taken and not (free and terminal_id in busy):
                taken.add(terminal_id)
                return terminal_id
        raise Invalid("terminals", key="error.demo.too_few_active", count=len(ids))

    healthy = take([t for t in homeward if t in repaired and t in battery] + homeward)
    suspended = take([t for t in newest_home_first if t in repaired] + newest_home_first, free=True)
    reactivated = take(newest_home_first, free=True)
    failing_reader = take(homeward)
    elsewhere = [t for t in ids if t not in home]
    rng.shuffle(elsewhere)
    rest = elsewhere + [t for t in ids if t in home]
    low_battery = take([t for t in rest if t in battery])
    rejected, risk_held = take(rest, free=True), take(rest, free=True)
    sign_in_failures, declines = take(rest), take(rest)
    offline = tuple(take(rest) for _ in range(3))
    never_seen = tuple(take(rest) for _ in range(2))
    spare = [t for t in rest if t not in taken and t not in busy]
    count = min(len(spare), max(0, round(SUSPENDED_SHARE * len(ids)) - 4))
    picked = sorted(rng.sample(spare, count))
    return Cast(healthy=healthy, suspended=suspended, reactivated=reactivated, rejected=rejected,
                risk_held=risk_held,
                others=tuple((t, SUSPENSION_REASONS[i % len(SUSPENSION_REASONS)]) for i, t in enumerate(picked)),
                failing_reader=failing_reader, low_battery=low_battery, offline=offline, never_seen=never_seen,
                sign_in_failures=sign_in_failures, declines=declines, home=frozenset(taken & home))


@dataclass(frozen=True)
class People:
    """The demo users who act in the load, as the services see them."""

    agent: Principal
    checker: Principal
    """A second desk agent (``checker``): approves what ``agent`` prepared, as maker–checker asks."""
    risk: Principal
    merchant: Principal
    """The demo merchant's own login (``merchant``)."""


def demo_people(session: Session) -> People:
    """The principals of the demo's agent, checker, risk and merchant users (read only)."""
    users = {u.username: u for u in session.scalars(select(User).where(User.username.in_(("agent", "checker", "risk",
                                                                                          "merchant"))))}

    def principal(name: str) -> Principal:
        user = users[name]
        return Principal(user_id=user.id, username=user.username, role=Role(user.role), merchant_id=user.merchant_id)

    return People(agent=principal("agent"), checker=principal("checker"), risk=principal("risk"),
                  merchant=principal("merchant"))


def merchant_or_desk(cast: Cast, people: People, terminal_id: int) -> Principal:
    """Who speaks for a terminal's merchant: the demo merchant itself, or the desk on the phone for another."""
    return people.merchant if terminal_id in cast.home else people.agent
