"""Whether posops hears from a terminal: online, offline, or never reported (pure).

The instant that separates online from offline is :func:`posops.telemetry.service.online_since`,
the one definition every page uses; this module only names the three answers.

>>> from datetime import UTC, datetime
>>> since = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
>>> presence_of(datetime(2026, 3, 1, 10, 5, tzinfo=UTC), since), presence_of(None, since)
(<Presence.ONLINE: 'online'>, <Presence.NEVER: 'never'>)
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum


class Presence(StrEnum):
    """How a terminal stands with telemetry."""

    ONLINE = "online"
    """Its latest heartbeat arrived at or after the online threshold."""
    OFFLINE = "offline"
    """It has reported, but not since the threshold."""
    NEVER = "never"
    """No heartbeat has ever been stored for it."""


def presence_of(last_seen_at: datetime | None, online_since: datetime) -> Presence:
    """The presence of a terminal last heard from at ``last_seen_at`` (None: never), given the online threshold."""
    if last_seen_at is None:
        return Presence.NEVER
    return Presence.ONLINE if last_seen_at >= online_since else Presence.OFFLINE
