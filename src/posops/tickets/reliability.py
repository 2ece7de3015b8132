"""Reliability of POS terminals from their repair history: failures, MTTR, MTBF and annualised failure rate.

Definitions (after Odoo Maintenance where it has one), for a group of terminals over the window
``[window_start, window_end)``:

- a *failure* is a corrective repair (``Repair.corrective``) requested inside the window while the
  terminal was in service; preventive/maintenance repairs are never failures and count nowhere;
- *operating hours* of a terminal are wall-clock hours from its in-service date (or the window start,
  if later) to its decommissioning (or the window end, if earlier); time spent in repair is not
  subtracted. A group's operating hours are the sum over its terminals;
- *MTTR* is the mean, over the failures already finished (``repaired_at`` set, even after the window
  end), of the hours from the repair request to the repair being done; ``None`` if none is finished;
- *MTBF* is operating hours divided by failures; ``None`` when no failure was seen (never infinity);
- the *annualised failure rate* is failures per 100 terminal-years of operating time, a terminal-year
  being 8,760 operating hours (365 days), so fleets and models of different sizes compare.

Hours are rounded to 1 decimal place, the rate to 2. Terminals not in service at any time in the
window are left out, and so is a group with no such terminal.

>>> from datetime import UTC
>>> fleet = [ServicePeriod(1, "A920", "east", datetime(2022, 6, 1, tzinfo=UTC)),
...          ServicePeriod(2, "A920", "west", datetime(2022, 6, 1, tzinfo=UTC))]
>>> repairs = [Repair(1, datetime(2023, 3, 1, 9, tzinfo=UTC), datetime(2023, 3, 1, 13, tzinfo=UTC)),
...            Repair(1, datetime(2023, 7, 1, 9, tzinfo=UTC), datetime(2023, 7, 2, 9, tzinfo=UTC)),
...            Repair(2, datetime(2023, 9, 1, 9, tzinfo=UTC), None)]
>>> [row] = reliability(fleet, repairs, group_by=GroupBy.MODEL,
...                     window_start=datetime(2023, 1, 1, tzinfo=UTC), window_end=datetime(2024, 1, 1, tzinfo=UTC))
>>> row.group, row.terminals, row.failures, row.repaired, row.operating_hours
('A920', 2, 3, 2, 17520.0)
>>> row.mttr_hours, row.mtbf_hours, row.failures_per_100_terminal_years
(14.0, 5840.0, 150.0)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise

HOURS_PER_TERMINAL_YEAR = 365 * 24
DEFINITIONS: dict[str, str] = {
    "failure": "a corrective repair requested in the window while the terminal was in service",
    "mttr_hours": "mean hours from the repair request to the repair done, over finished corrective repairs",
    "mtbf_hours": "operating hours in the window divided by failures (none when no failure was seen)",
    "failures_per_100_terminal_years": "failures per 100 terminal-years (8,760 operating hours each)",
}
"""The definitions above in one line each, for the API's answer."""
_HOUR = timedelta(hours=1)


def _check_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, not naive {value.isoformat()}")


@dataclass(frozen=True)
class Repair:
    """One repair of a terminal, finished or not."""

    terminal_id: int
    requested_at: datetime
    """When the repair was requested (timezone-aware)."""
    repaired_at: datetime | None
    """When the repair was done (timezone-aware); ``None`` while it is not finished."""
    corrective: bool = True
    """``False`` for preventive/maintenance work, which is not a failure and counts nowhere."""

    def __post_init__(self) -> None:
        _check_aware("requested_at", self.requested_at)
        if self.repaired_at is not None:
            _check_aware("repaired_at", self.repaired_at)
            if self.repaired_at < self.requested_at:
                raise ValueError(f"repair of terminal {self.terminal_id} is done before it was requested")


@dataclass(frozen=True)
class ServicePeriod:
    """One terminal in the fleet, from when it entered service until it was decommissioned."""

    terminal_id: int
    model: str
    region: str
    in_service_from: datetime
    """When the terminal entered service (timezone-aware)."""
    in_service_to: datetime | None = None
    """When it was decommissioned (timezone-aware); ``None`` while still in service."""

    def __post_init__(self) -> None:
        _check_aware("in_service_from", self.in_service_from)
        if self.in_service_to is not None:
            _check_aware("in_service_to", self.in_service_to)
            if self.in_service_to < self.in_service_from:
                raise ValueError(f"terminal {self.terminal_id} is decommissioned before it entered service")

    def observed(self, window_start: datetime, window_end: datetime) -> tuple[datetime, datetime] | None:
        """Return the part ``[start, end)`` of the window this terminal was in service, or ``None`` if none."""
        start = max(self.in_service_from, window_start)
        end = window_end if self.in_service_to is None else min(self.in_service_to, window_end)
        return (start, end) if start < end else None


class GroupBy(StrEnum):
    """What the reliability figures are grouped by."""

    TERMINAL = "terminal"
    MODEL = "model"
    REGION = "region"


@dataclass(frozen=True)
class Reliability:
    """Reliability figures of one group of terminals over the window (see the module docstring)."""

    group: str
    """The terminal id as str, the model, or the region."""
    terminals: int
    """Terminals of the group in service at some time in the window."""
    failures: int
    """Corrective repairs requested in the window while the terminal was in service."""
    repaired: int
    """Of those failures, how many are finished."""
    operating_hours: float
    mttr_hours: float | None
    """Mean hours from request to repair over the finished failures; ``None`` if none is finished."""
    mtbf_hours: float | None
    """Operating hours per failure; ``None`` when no failure was seen."""
    failures_per_100_terminal_years: float | None
    """Annualised failure rate; ``None`` only without operating time."""


def _group_key(period: ServicePeriod, group_by: GroupBy) -> str:
    if group_by is GroupBy.TERMINAL:
        return str(period.terminal_id)
    return period.model if group_by is GroupBy.MODEL else period.region


def _check_no_overlap(periods: Sequence[ServicePeriod]) -> None:
    by_terminal: dict[int, list[ServicePeriod]] = defaultdict(list)
    for period in periods:
        by_terminal[period.terminal_id].append(period)
    for terminal_id, own in by_terminal.items():
        own.sort(key=lambda p: p.in_service_from)
        for earlier, later in pairwise(own):
            if earlier.in_service_to is None or earlier.in_service_to > later.in_service_from:
                raise ValueError(f"service periods of terminal {terminal_id} overlap")


def reliability(
    periods: Sequence[ServicePeriod],
    repairs: Sequence[Repair],
    *,
    group_by: GroupBy,
    window_start: datetime,
    window_end: datetime,
) -> list[Reliability]:
    """Return the reliability figures of each group over ``[window_start, window_end)``, sorted by group.

    A terminal may have several service periods (e.g. redeployed to another region); each failure
    belongs to the period it was requested in. Terminal groups sort by id, others alphabetically.
    Raises ``ValueError`` on a naive datetime, an empty window, overlapping service periods of one
    terminal, or a repair of a terminal that has no service period.
    """
    _check_aware("window_start", window_start)
    _check_aware("window_end", window_end)
    if window_end <= window_start:
        raise ValueError("window_end must be after window_start")
    _check_no_overlap(periods)
    known = {period.terminal_id for period in periods}
    for repair in repairs:
        if repair.terminal_id not in known:
            raise ValueError(f"repair of unknown terminal {repair.terminal_id}")

    repairs_by_terminal: dict[int, list[Repair]] = defaultdict(list)
    for repair in repairs:
        if repair.corrective:
            repairs_by_terminal[repair.terminal_id].append(repair)

    terminals: dict[str, set[int]] = defaultdict(set)
    operating: dict[str, timedelta] = defaultdict(timedelta)
    failures: dict[str, list[Repair]] = defaultdict(list)
    for period in periods:
        span = period.observed(window_start, window_end)
        if span is None:
            continue
        start, end = span
        key = _group_key(period, group_by)
        terminals[key].add(period.terminal_id)
        operating[key] += end - start
        failures[key].extend(r for r in repairs_by_terminal[period.terminal_id] if start <= r.requested_at < end)

    keys = sorted(terminals, key=int) if group_by is GroupBy.TERMINAL else sorted(terminals)
    return [_figures(key, len(terminals[key]), operating[key] / _HOUR, failures[key]) for key in keys]


def _figures(group: str, terminals: int, hours: float, failures: Sequence[Repair]) -> Reliability:
    repair_hours = [(r.repaired_at - r.requested_at) / _HOUR for r in failures if r.repaired_at is not None]
    mttr = round(sum(repair_hours) / len(repair_hours), 1) if repair_hours else None
    mtbf = round(hours / len(failures), 1) if failures else None
    rate = round(100 * len(failures) * HOURS_PER_TERMINAL_YEAR / hours, 2) if hours > 0 else None
    return Reliability(
        group=group,
        terminals=terminals,
        failures=len(failures),
        repaired=len(repair_hours),
        operating_hours=round(hours, 1),
        mttr_hours=mttr,
        mtbf_hours=mtbf,
        failures_per_100_terminal_years=rate,
    )
