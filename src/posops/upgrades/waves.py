"""Waves of a campaign and when a shop may install: who goes in which wave, and the maintenance window.

Waves are cumulative shares of the targets (``1, 10, 50, 100`` percent): the canary is the
first 1 %, the second wave brings the total to 10 %, and so on. Which terminal falls in which
wave is decided by a hash of the campaign and the serial number, so the split is stable (the
preview shows the same waves the campaign then runs) and mixes models, regions and merchants.

A terminal installs only inside its merchant's maintenance window, in the merchant's own time
zone, and never while the shop is open:

>>> window = MaintenanceWindow(start=time(1, 0), end=time(5, 0))
>>> hours = OpeningHours(opens=time(8, 0), closes=time(22, 0))
>>> may_install(datetime(2026, 3, 1, 18, 30, tzinfo=UTC), "Asia/Shanghai", window, hours)
True
>>> may_install(datetime(2026, 3, 1, 2, 30, tzinfo=UTC), "Asia/Shanghai", window, hours)
False
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_WAVES = (1, 10, 50, 100)
DEFAULT_SOAK = timedelta(hours=4)


@dataclass(frozen=True)
class Wave:
    """One wave: the cumulative share of targets it brings the campaign to, and its minimum soak."""

    percent: int
    soak: timedelta = DEFAULT_SOAK


@dataclass(frozen=True)
class MaintenanceWindow:
    """Local hours a terminal may install in; ``end`` before ``start`` spans midnight."""

    start: time
    end: time

    def contains(self, local: time) -> bool:
        """Whether a local time of day falls inside the window."""
        return _within(local, self.start, self.end)


@dataclass(frozen=True)
class OpeningHours:
    """When a shop takes payments (local time); ``closes`` before ``opens`` spans midnight."""

    opens: time
    closes: time

    def contains(self, local: time) -> bool:
        """Whether the shop is open at a local time of day."""
        return _within(local, self.opens, self.closes)



def _within(local: time, start: time, end: time) -> bool:
    if start == end:
        return True
    if start < end:
        return start <= local < end
    return local >= start or local < end


def check_waves(percents: Sequence[int]) -> list[str]:
    """Codes of what is wrong with a wave plan: shares rise strictly, each from 1 to 100, and end at 100."""
    problems = []
    if not percents:
        problems.append("waves_empty")
    if any(p < 1 or p > 100 for p in percents):
        problems.append("waves_out_of_range")
    if any(b <= a for a, b in itertools.pairwise(percents)):
        problems.append("waves_not_rising")
    if percents and percents[-1] != 100:
        problems.append("waves_not_complete")
    return problems


def position(campaign_key: str, serial_number: str) -> float:
    """A terminal's place in a campaign's order, in [0, 1): the same for the same campaign and serial."""
    digest = hashlib.sha256(f"{campaign_key}\x00{serial_number}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def wave_sizes(total: int, percents: Sequence[int]) -> list[int]:
    """How many targets each wave adds; every wave has at least one terminal while any are left."""
    sizes, reached = [], 0
    for percent in percents:
        upto = min(total, max(reached + 1, -(-total * percent // 100)))
        sizes.append(upto - reached)
        reached = upto
    return sizes


def assign_waves(campaign_key: str, serial_numbers: Sequence[str], percents: Sequence[int]) -> dict[str, int]:
    """Each serial number's wave (0 is the canary), by its place in the campaign's order."""
    ordered = sorted(serial_numbers, key=lambda sn: (position(campaign_key, sn), sn))
    waves: dict[str, int] = {}
    start = 0
    for index, size in enumerate(wave_sizes(len(ordered), percents)):
        for sn in ordered[start:start + size]:
            waves[sn] = index
        start += size
    return waves


def may_install(now: datetime, zone: str, window: MaintenanceWindow | None, hours: OpeningHours | None) -> bool:
    """Whether a terminal of a shop in ``zone`` may install at ``now``: inside the window, the shop closed."""
    local = now.astimezone(ZoneInfo(zone)).time()
    if window is not None and not window.contains(local):
        return False
    return hours is None or not hours.contains(local)


def next_opening(now: datetime, zone: str, window: MaintenanceWindow | None, hours: OpeningHours | None,
                 *, step: timedelta = timedelta(minutes=15), horizon: timedelta = timedelta(days=2)) -> datetime | None:
    """The first moment (to ``step``) at or after ``now`` when ``may_install`` holds, or None within ``horizon``."""
    at = now.astimezone(UTC)
    end = at + horizon
    while at <= end:
        if may_install(at, zone, window, hours):
            return at
        at += step
    return None
