"""SLA targets of repair tickets and the business calendar they are measured in (deadlines in UTC).

>>> from datetime import datetime
>>> from zoneinfo import ZoneInfo
>>> cal = BusinessCalendar()
>>> friday = datetime(2026, 3, 13, 17, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
>>> cal.add(friday, 120).astimezone(cal.tz).isoformat()
'2026-03-16T10:00:00+08:00'
>>> cal.between(friday, datetime(2026, 3, 16, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
120
>>> clock = SlaClock(started_at=friday).pause(friday.replace(hour=17, minute=30), cal)
>>> clock = clock.resume(friday.replace(day=16, hour=9, minute=15), cal)
>>> clock.paused_minutes
45
>>> clock.deadline(120, cal).astimezone(cal.tz).isoformat()
'2026-03-16T10:45:00+08:00'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

CALENDAR_FILE = Path(__file__).parent.parent / "kb" / "business_calendar.yaml"
MAX_CLOSED_DAYS = 400
"""Consecutive closed days after which `BusinessCalendar.add` gives up: no real calendar closes this long."""


def _check_minutes(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int (minutes), not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must not be negative")


def _check_aware(name: str, value: datetime) -> None:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")


class Priority(StrEnum):
    """How urgently a repair ticket must be handled."""

    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


@dataclass(frozen=True)
class SlaTarget:
    """The business minutes a ticket may take, from opening, to be assigned and to be repaired."""

    respond_minutes: int
    """Business minutes from opening to first assignment."""
    resolve_minutes: int
    """Business minutes from opening to repaired."""

    def __post_init__(self) -> None:
        _check_minutes("respond_minutes", self.respond_minutes)
        _check_minutes("resolve_minutes", self.resolve_minutes)


DEFAULT_TARGETS: Mapping[Priority, SlaTarget] = MappingProxyType({
    Priority.URGENT: SlaTarget(respond_minutes=60, resolve_minutes=540),
    Priority.HIGH: SlaTarget(respond_minutes=240, resolve_minutes=1080),
    Priority.NORMAL: SlaTarget(respond_minutes=540, resolve_minutes=2700),
    Priority.LOW: SlaTarget(respond_minutes=1080, resolve_minutes=5400),
})
"""Targets by priority, in whole business days of the default 09:00–18:00 (540 minutes) where not shorter.

Urgent (the merchant cannot take payments): assigned within 1 hour, repaired within 1 business day.
High (degraded, e.g. one payment method fails): 4 hours / 2 business days.
Normal: 1 business day / 5 business days. Low (cosmetic, accessories): 2 business days / 10 business days.
"""


def _weekday_hours() -> Mapping[int, tuple[time, time]]:
    return MappingProxyType({day: (time(9, 0), time(18, 0)) for day in range(5)})


@dataclass(frozen=True)
class BusinessCalendar:
    """Opening hours by weekday in one zone, with public holidays closed and make-up days (调休) open."""

    zone: str = "Asia/Shanghai"
    """IANA zone name; hours, holidays and make-up days are local dates and times there."""
    hours: Mapping[int, tuple[time, time]] = field(default_factory=_weekday_hours, hash=False)
    """Opening and closing local time by ``date.weekday()`` (0 = Monday); a weekday left out is closed."""
    holidays: frozenset[date] = frozenset()
    """Local dates closed although their weekday is open."""
    workdays: frozenset[date] = frozenset()
    """Local dates open, with Monday's hours, although their weekday is closed (China's make-up days)."""

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.zone!r}") from exc
        hours = dict(self.hours)
        for day, span in hours.items():
            if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 6:
                raise ValueError(f"hours are keyed by weekday 0 (Monday) .. 6 (Sunday), not {day!r}")
            opens, closes = span
            if opens.tzinfo is not None or closes.tzinfo is not None:
                raise ValueError("opening hours are local wall times: give them without tzinfo")
            if not opens < closes:
                raise ValueError(f"weekday {day} closes ({closes}) before it opens ({opens})")
        object.__setattr__(self, "hours", MappingProxyType(hours))
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "workdays", frozenset(self.workdays))
        both = self.holidays & self.workdays
        if both:
            raise ValueError(f"dates both holiday and make-up workday: {sorted(both)}")
        if self.workdays and 0 not in hours:
            raise ValueError("make-up workdays open with Monday's hours, but Monday has none")
        already_open = sorted(day for day in self.workdays if day.weekday() in hours)
        if already_open:
            raise ValueError(f"make-up workdays must fall on closed weekdays: {already_open}")

    @property
    def tz(self) -> ZoneInfo:
        """The calendar's zone."""
        return ZoneInfo(self.zone)

    def opening_hours(self, day: date) -> tuple[time, time] | None:
        """The local opening and closing time of ``day``, or ``None`` when it is closed."""
        if day in self.holidays:
            return None
        if day in self.workdays:
            return self.hours[0]
        return self.hours.get(day.weekday())

    def _window(self, day: date) -> tuple[datetime, datetime] | None:
        span = self.opening_hours(day)
        if span is None:
            return None
        tz = self.tz
        opens = datetime.combine(day, span[0], tzinfo=tz).astimezone(UTC)
        closes = datetime.combine(day, span[1], tzinfo=tz).astimezone(UTC)
        return opens, closes

    def _local_day(self, at: datetime) -> date:
        return at.astimezone(self.tz).date()

    def is_open(self, at: datetime) -> bool:
        """Whether the desk is open at the instant ``at`` (aware, in any zone); closing time itself is closed."""
        _check_aware("at", at)
        window = self._window(self._local_day(at))
        return window is not None and window[0] <= at < window[1]

    def add(self, start: datetime, minutes: int) -> datetime:
        """The instant, in UTC, ``minutes`` business minutes after ``start``.

        Time outside opening hours does not count: with ``minutes=0`` this is ``start`` when open, else the
        next opening. A span that ends exactly at closing time ends there, not at the next opening.
        """
        _check_aware("start", start)
        _check_minutes("minutes", minutes)
        remaining = timedelta(minutes=minutes)
        cursor = start.astimezone(UTC)
        day = self._local_day(start)
        closed_days = 0
        while True:
            window = self._window(day)
            if window is not None and cursor < window[1]:
                begin = max(cursor, window[0])
                available = window[1] - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
                cursor = window[1]
                closed_days = 0
            else:
                closed_days += 1
                if closed_days > MAX_CLOSED_DAYS:
                    raise ValueError(f"the calendar has no opening hours in the {MAX_CLOSED_DAYS} days after {day}")
            day += timedelta(days=1)

    def between(self, start: datetime, end: datetime) -> int:
        """Whole business minutes (rounded down) in ``[start, end)``; 0 when ``end`` is not after ``start``."""
        _check_aware("start", start)
        _check_aware("end", end)
        if end <= start:
            return 0
        total = timedelta()
        day, last = self._local_day(start), self._local_day(end)
        while day <= last:
            window = self._window(day)
            if window is not None:
                overlap = min(end, window[1]) - max(start, window[0])
                if overlap > timedelta():
                    total += overlap
            day += timedelta(days=1)
        return int(total.total_seconds()) // 60


def _parse_time(text: Any, where: str) -> time:
    if not isinstance(text, str):
        raise ValueError(f"{where}: give times as quoted 'HH:MM' strings, not {text!r}")
    try:
        return time.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{where}: {text!r} is not a time of day 'HH:MM'") from exc


def _as_date(value: Any, where: str) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValueError(f"{where}: expected a date YYYY-MM-DD, not {value!r}")
    return value


def _list(data: Mapping[str, Any], key: str, source: Path) -> list[Any]:
    items = data.get(key) or []
    if not isinstance(items, list):
        raise ValueError(f"{source}: `{key}` must be a list")
    return items


def _holidays(data: Mapping[str, Any], source: Path) -> frozenset[date]:
    days: set[date] = set()
    for entry in _list(data, "holidays", source):
        if not isinstance(entry, dict):
            raise ValueError(f"{source}: each holiday is a mapping with `first` and `last`, not {entry!r}")
        where = f"{source}: holiday {entry.get('name', '?')}"
        first, last = _as_date(entry.get("first"), where), _as_date(entry.get("last"), where)
        if last < first:
            raise ValueError(f"{where} ends ({last}) before it begins ({first})")
        days.update(first + timedelta(days=offset) for offset in range((last - first).days + 1))
    return frozenset(days)


def load_calendar(path: Path | None = None, zone: str | None = None) -> BusinessCalendar:
    """Read a business calendar from YAML (``kb/business_calendar.yaml`` by default); ``zone`` overrides its zone."""
    source = CALENDAR_FILE if path is None else path
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{source}: expected a mapping at the top level")
    raw_hours = data.get("hours")
    if not isinstance(raw_hours, dict):
        raise ValueError(f"{source}: `hours` must map weekday numbers to [opens, closes]")
    hours: dict[int, tuple[time, time]] = {}
    for day, span in raw_hours.items():
        where = f"{source}: hours of weekday {day}"
        if not isinstance(span, list) or len(span) != 2:
            raise ValueError(f"{where} must be a pair [opens, closes]")
        hours[day] = (_parse_time(span[0], where), _parse_time(span[1], where))
    workdays = set()
    for entry in _list(data, "workdays", source):
        workdays.add(_as_date(entry.get("date") if isinstance(entry, dict) else entry, f"{source}: workday"))
    zone = zone or data.get("zone") or BusinessCalendar.zone
    if not isinstance(zone, str):
        raise ValueError(f"{source}: `zone` must be an IANA zone name such as Asia/Shanghai")
    return BusinessCalendar(
        zone=zone,
        hours=hours,
        holidays=_holidays(data, source),
        workdays=frozenset(workdays),
    )


@dataclass(frozen=True)
class SlaClock:
    """One SLA binding of a ticket: when its clock started, business minutes paused so far, whether paused now."""

    started_at: datetime
    paused_minutes: int = 0
    """Business minutes of the pauses already ended."""
    paused_since: datetime | None = None
    """When the pause running now began (waiting for the merchant or for parts); ``None`` when running."""

    def __post_init__(self) -> None:
        _check_aware("started_at", self.started_at)
        _check_minutes("paused_minutes", self.paused_minutes)
        if self.paused_since is not None:
            _check_aware("paused_since", self.paused_since)
            if self.paused_since < self.started_at:
                raise ValueError("a clock cannot be paused before it started")

    @property
    def paused(self) -> bool:
        """Whether the clock is paused now."""
        return self.paused_since is not None

    def pause(self, at: datetime, calendar: BusinessCalendar) -> SlaClock:
        """Stop the clock at ``at``; a clock already paused stays paused since its first pause."""
        _check_aware("at", at)
        if self.paused_since is not None:
            return self
        return replace(self, paused_since=at)

    def resume(self, at: datetime, calendar: BusinessCalendar) -> SlaClock:
        """Run the clock again from ``at``, banking the business minutes of the pause; no-op when running."""
        _check_aware("at", at)
        if self.paused_since is None:
            return self
        if at < self.paused_since:
            raise ValueError(f"cannot resume at {at.isoformat()}, before the pause at {self.paused_since.isoformat()}")
        banked = self.paused_minutes + calendar.between(self.paused_since, at)
        return replace(self, paused_minutes=banked, paused_since=None)

    def _pause_minutes(self, calendar: BusinessCalendar, now: datetime | None) -> int:
        if self.paused_since is None:
            return self.paused_minutes
        if now is None:
            raise ValueError("a paused clock's deadline moves while it is paused: pass `now`")
        _check_aware("now", now)
        return self.paused_minutes + calendar.between(self.paused_since, now)

    def deadline(self, minutes: int, calendar: BusinessCalendar, now: datetime | None = None) -> datetime:
        """When ``minutes`` business minutes of running time are spent, in UTC; while paused, as of ``now``.

        A running clock's deadline is ``started_at`` plus ``minutes`` and the banked pauses. A paused clock's
        deadline also moves by the pause running up to ``now`` (required then), so it is never already past
        merely because the ticket waits.
        """
        _check_minutes("minutes", minutes)
        return calendar.add(self.started_at, minutes + self._pause_minutes(calendar, now))

    def elapsed(self, calendar: BusinessCalendar, now: datetime) -> int:
        """Business minutes the clock has run up to ``now``, pauses excluded."""
        _check_aware("now", now)
        end = now if self.paused_since is None else min(now, self.paused_since)
        return max(0, calendar.between(self.started_at, end) - self.paused_minutes)


def rebind(clock: SlaClock, new_started_at: datetime | None = None) -> SlaClock:
    """The clock of a ticket's new SLA after a priority change, keeping every pause already taken.

    By default the new binding keeps ``started_at``, the banked pause minutes and a pause running now, so
    the new deadline is ``add(started_at, new_target + paused)``: re-binding must not lose waiting time
    (the bug class where a changed SLA recomputes its due date from the opening and forgets the waiting).
    With ``new_started_at`` the clock restarts there; pauses banked before the restart lie outside the new
    clock and are dropped, but a pause still running carries over from the restart.
    """
    if new_started_at is None:
        return replace(clock)
    _check_aware("new_started_at", new_started_at)
    paused_since = None if clock.paused_since is None else max(clock.paused_since, new_started_at)
    return SlaClock(started_at=new_started_at, paused_minutes=0, paused_since=paused_since)


def breached(
    clock: SlaClock, minutes: int, calendar: BusinessCalendar, now: datetime, done_at: datetime | None = None
) -> bool:
    """Whether the target of ``minutes`` is missed: judged at ``done_at`` once the work is done, else at ``now``.

    Reaching the deadline exactly is on time. A paused clock is judged with its pause counted up to that
    instant, so waiting for the merchant never breaches a target by itself.
    """
    _check_aware("now", now)
    at = now if done_at is None else done_at
    _check_aware("done_at", at)
    return at > clock.deadline(minutes, calendar, now=at)
