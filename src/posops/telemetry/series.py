"""Time series for the charts, from heartbeat history: averages per interval and reader error rates.

>>> from datetime import datetime, timedelta, timezone
>>> t0 = datetime(2025, 3, 1, tzinfo=timezone.utc)
>>> rows = [Reading(t0 + timedelta(minutes=m), reads=100 + 10 * m, read_errors=m) for m in range(0, 60, 10)]
>>> [round(v, 3) for _, v in error_rates(rows, since=t0, until=t0 + timedelta(hours=1), buckets=2)]
[0.1, 0.1]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

TimePoint = tuple[datetime, float]


@dataclass(frozen=True)
class Reading:
    """The charted values of one stored heartbeat."""

    at: datetime
    battery_pct: int | None = None
    signal_dbm: int | None = None
    reads: int | None = None
    read_errors: int | None = None


def plotted_at(ts: datetime, received_at: datetime, trust: timedelta = timedelta(hours=24)) -> datetime:
    """Where a heartbeat goes on a time axis: the terminal's own clock when it is plausible, else receipt time.

    Plausible means not after receipt and at most ``trust`` before it, so a backlog a terminal
    uploads after an outage lands where it was measured, and a terminal with a wrong clock
    still shows up.
    """
    return ts if received_at - trust <= ts <= received_at else received_at


def _bucket(at: datetime, since: datetime, until: datetime, buckets: int) -> int | None:
    if not since <= at < until:
        return None
    return int((at - since) / (until - since) * buckets)


def _start(index: int, since: datetime, until: datetime, buckets: int) -> datetime:
    return since + (until - since) * index / buckets


def bucket_means(readings: Iterable[Reading], value: Callable[[Reading], float | None], *, since: datetime,
                 until: datetime, buckets: int) -> list[TimePoint]:
    """The mean of ``value`` per interval of ``[since, until)`` (``buckets`` intervals), empty ones left out.

    Each point is placed at the middle of its interval.
    """
    sums = [0.0] * buckets
    counts = [0] * buckets
    for reading in readings:
        index = _bucket(reading.at, since, until, buckets)
        observed = value(reading)
        if index is None or observed is None:
            continue
        sums[index] += observed
        counts[index] += 1
    half = (until - since) / buckets / 2
    return [(_start(i, since, until, buckets) + half, sums[i] / counts[i]) for i in range(buckets) if counts[i]]


def error_rates(readings: Sequence[Reading], *, since: datetime, until: datetime, buckets: int) -> list[TimePoint]:
    """Failed reads per read in each interval, from the growth of the counters between heartbeats.

    A counter that went down (the terminal restarted counting) starts afresh: that step is skipped.
    Intervals without reads are left out.
    """
    reads = [0] * buckets
    errors = [0] * buckets
    ordered = sorted((r for r in readings if r.reads is not None and r.read_errors is not None), key=lambda r: r.at)
    for before, after in pairwise(ordered):
        assert before.reads is not None and after.reads is not None
        assert before.read_errors is not None and after.read_errors is not None
        new_reads, new_errors = after.reads - before.reads, after.read_errors - before.read_errors
        index = _bucket(after.at, since, until, buckets)
        if index is None or new_reads < 0 or new_errors < 0:
            continue
        reads[index] += new_reads
        errors[index] += new_errors
    half = (until - since) / buckets / 2
    return [(_start(i, since, until, buckets) + half, min(1.0, errors[i] / reads[i]))
            for i in range(buckets) if reads[i]]
