"""Login throttling: failed sign-ins counted per (username, address), per username and per address, with back-off.

Three counts, all read from ``login_attempts`` so every server process sees the same state:

- a **pair** (one username from one address): after ``login_pair_failures`` failures each further
  attempt waits ``base·2^(k)`` seconds after the last failure (k = failures beyond the limit), capped
  at ``login_backoff_max_s``; a success of that pair starts its count again;
- a **username** from every address (guessing from many addresses): the same back-off from
  ``login_user_failures``; any success of the username starts it again;
- an **address** whatever the usernames (password spraying): ``login_address_failures`` failures
  within ``login_address_window_s`` refuse it until the oldest of them leaves the window. It is set
  far above the pair limit, so one person's typos do not lock an office behind one NAT address.

An admin's unlock (``users.login_cleared_at``) makes the username's earlier failures stop counting;
failures older than ``login_failure_memory_s`` are forgotten. Attempts refused while waiting are not
counted, so waiting out the back-off is always enough.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from posops.core.config import Settings
from posops.core.models import LoginAttempt

MAX_SHIFT = 30
"""Back-off exponents beyond this are capped anyway; bounding them keeps ``2**k`` small."""


class Scope(StrEnum):
    """Which count refused a login."""

    PAIR = "pair"
    USER = "user"
    ADDRESS = "address"


class LoginThrottled(Exception):
    """Too many failed sign-ins: this login is refused until ``retry_at`` without checking its password."""

    def __init__(self, retry_at: datetime, scope: Scope) -> None:
        super().__init__(f"login throttled until {retry_at.isoformat()} ({scope})")
        self.retry_at = retry_at
        self.scope = scope


@dataclass(frozen=True)
class Policy:
    """The limits of login throttling, from the POSOPS_LOGIN_* settings."""

    pair_failures: int
    user_failures: int
    address_failures: int
    address_window: timedelta
    backoff_base: timedelta
    backoff_max: timedelta
    memory: timedelta

    @classmethod
    def of(cls, settings: Settings) -> Policy:
        """The policy the settings describe."""
        return cls(settings.login_pair_failures, settings.login_user_failures, settings.login_address_failures,
                   timedelta(seconds=settings.login_address_window_s),
                   timedelta(seconds=settings.login_backoff_base_s), timedelta(seconds=settings.login_backoff_max_s),
                   timedelta(seconds=settings.login_failure_memory_s))

    def backoff(self, failures: int, limit: int) -> timedelta | None:
        """The wait after ``failures`` counted failures: none below ``limit``, then base·2^(failures−limit), capped.

        >>> hour = timedelta(hours=1)
        >>> policy = Policy(5, 10, 100, hour, timedelta(seconds=60), hour, timedelta(days=1))
        >>> [int(w.total_seconds()) if w else 0 for w in (policy.backoff(n, 5) for n in (4, 5, 6, 7, 12))]
        [0, 60, 120, 240, 3600]
        """
        if failures < limit:
            return None
        return min(self.backoff_base * 2 ** min(failures - limit, MAX_SHIFT), self.backoff_max)


@dataclass(frozen=True)
class Count:
    """Failures counted for one scope and the last of them."""

    failures: int
    last: datetime | None


@dataclass(frozen=True)
class Standing:
    """The counts that apply to one login attempt, and until when it must wait (None: it may try now)."""

    pair: Count
    user: Count
    address_failures: int
    retry_at: datetime | None
    scope: Scope | None


def _failures(session: Session, since: datetime, username: str, address: str | None = None) -> Count:
    query = select(func.count(LoginAttempt.id), func.max(LoginAttempt.at)).where(
        LoginAttempt.username == username, LoginAttempt.succeeded.is_(False), LoginAttempt.at > since)
    if address is not None:
        query = query.where(LoginAttempt.address == address)
    failures, last = session.execute(query).one()
    return Count(failures or 0, last)


def _last_success(session: Session, username: str, address: str | None = None) -> datetime | None:
    query = select(func.max(LoginAttempt.at)).where(LoginAttempt.username == username,
                                                      LoginAttempt.succeeded.is_(True))
    if address is not None:
        query = query.where(LoginAttempt.address == address)
    return session.scalar(query)


def _latest(*moments: datetime | None) -> datetime:
    return max(m for m in moments if m is not None)


def _counts(session: Session, policy: Policy, username: str, address: str | None, limit: int, now: datetime,
            cleared_at: datetime | None) -> tuple[Count, datetime | None]:
    since = _latest(now - policy.memory, cleared_at, _last_success(session, username, address))
    count = _failures(session, since, username, address)
    wait = policy.backoff(count.failures, limit)
    return count, (count.last + wait if wait is not None and count.last is not None else None)


def user_counts(session: Session, policy: Policy, username: str, now: datetime,
                cleared_at: datetime | None) -> tuple[Count, datetime | None]:
    """The username's failures from every address, and until when they make it wait."""
    return _counts(session, policy, username, None, policy.user_failures, now, cleared_at)


def pair_counts(session: Session, policy: Policy, username: str, address: str, now: datetime,
                cleared_at: datetime | None) -> tuple[Count, datetime | None]:
    """The failures of one username from one address, and until when they make that pair wait."""
    return _counts(session, policy, username, address, policy.pair_failures, now, cleared_at)


def user_lock(session: Session, policy: Policy, username: str, now: datetime,
              cleared_at: datetime | None) -> tuple[Count, datetime | None]:
    """The username's failures from every address, and the latest wait still running (its own or an address's)."""
    count, until = user_counts(session, policy, username, now, cleared_at)
    waits = [until] if until is not None else []
    addresses = session.scalars(select(LoginAttempt.address).distinct().where(
        LoginAttempt.username == username, LoginAttempt.succeeded.is_(False),
        LoginAttempt.at > _latest(now - policy.memory, cleared_at)))
    for address in addresses:
        _, pair_until = pair_counts(session, policy, username, address, now, cleared_at)
        if pair_until is not None:
            waits.append(pair_until)
    latest = max(waits, default=None)
    return count, latest if latest is not None and latest > now else None


def address_counts(session: Session, policy: Policy, address: str, now: datetime) -> tuple[int, datetime | None]:
    """The address's failures in its window, and, once at the ceiling, when the oldest that keeps it there leaves."""
    recent = (LoginAttempt.address == address, LoginAttempt.succeeded.is_(False),
              LoginAttempt.at > now - policy.address_window)
    failures = session.scalar(select(func.count(LoginAttempt.id)).where(*recent)) or 0
    if failures < policy.address_failures:
        return failures, None
    # the ceiling-th newest failure: once it leaves the window, fewer than the ceiling remain
    oldest_kept = session.scalar(select(LoginAttempt.at).where(*recent).order_by(LoginAttempt.at.desc())
                                 .offset(policy.address_failures - 1).limit(1))
    return failures, oldest_kept + policy.address_window if oldest_kept is not None else None


def standing(session: Session, policy: Policy, username: str, address: str, now: datetime,
             cleared_at: datetime | None) -> Standing:
    """Every count that applies to ``username`` signing in from ``address`` at ``now``, and the longest wait due."""
    pair, pair_until = pair_counts(session, policy, username, address, now, cleared_at)
    user, user_until = user_counts(session, policy, username, now, cleared_at)
    address_failures, address_until = address_counts(session, policy, address, now)
    waits = [(until, scope) for until, scope in ((pair_until, Scope.PAIR), (user_until, Scope.USER),
                                                 (address_until, Scope.ADDRESS)) if until is not None and until > now]
    retry_at, scope = max(waits, key=lambda w: w[0]) if waits else (None, None)
    return Standing(pair, user, address_failures, retry_at, scope)
