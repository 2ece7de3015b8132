"""What one heartbeat or traffic summary says about a terminal's health after an upgrade, signal by signal.

Each source tells which health signals it *could* show (observed) and which it *does* show
(affected): a terminal that has not signed in since its install says nothing about sign-in
failures, so the gate does not count it among the terminals judged for that signal.

>>> from datetime import UTC
>>> since = datetime(2026, 3, 1, 18, 0, tzinfo=UTC)
>>> reading = read_heartbeat({"last_signin": {"at": "2026-03-02T02:30:00+08:00", "ok": False},
...                           "last_rc": "00", "software": {"restarts": 3}}, since)
>>> [s.value for s in reading.affected], sorted(s.value for s in reading.observed), reading.restarts
(['sign_in_failure'], ['declines', 'restarts', 'sign_in_failure', 'timeouts'], 3)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from posops.upgrades.gate import HEALTH_SIGNALS, Cohort, Signal

HEARTBEAT_SILENCE = timedelta(minutes=30)
"""A terminal silent this long at a check has lost its heartbeat."""
ALIVE_BEFORE = timedelta(hours=1)
"""Only a terminal heard in the hour before its window (or in it) can lose its heartbeat: one off all along did not."""
CRASH_WORDS = ("程序异常", "重启", "crash", "restart")
"""Screen notices that say the app crashed or restarted."""
ACCEPTED_CODES = frozenset({"00"})


@dataclass(frozen=True)
class Reading:
    """The signals one source could show and those it shows, and the app's restart counter if it sent one."""

    observed: frozenset[Signal]
    affected: frozenset[Signal]
    restarts: int | None = None


def _moment(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def read_heartbeat(payload: Mapping[str, Any], since: datetime) -> Reading:
    """Read a heartbeat (as JSON) of a terminal watched from ``since``."""
    observed, affected = {Signal.RESTARTS}, set()
    sign_in = payload.get("last_signin") or {}
    signed_at = _moment(sign_in.get("at"))
    if signed_at is not None and signed_at >= since and sign_in.get("ok") is not None:
        observed.add(Signal.SIGN_IN_FAILURE)
        if sign_in["ok"] is False:
            affected.add(Signal.SIGN_IN_FAILURE)
    code = payload.get("last_rc")
    network = payload.get("network") or {}
    if code is not None or "host_reachable" in network:
        observed.update((Signal.TIMEOUTS, Signal.DECLINES))
        if code == "timeout" or network.get("host_reachable") is False:
            affected.add(Signal.TIMEOUTS)
        elif code and code not in ACCEPTED_CODES:
            affected.add(Signal.DECLINES)
    screen = payload.get("screen_notice") or ""
    if any(word in screen for word in CRASH_WORDS):
        affected.add(Signal.RESTARTS)
    counter = (payload.get("software") or {}).get("restarts")
    return Reading(frozenset(observed), frozenset(affected), counter if isinstance(counter, int) else None)


def read_traffic(summary: Mapping[str, Any]) -> Reading:
    """Read an imported ISO 8583 analysis of a terminal (its sign-ins, failures and timeouts)."""
    observed, affected = {Signal.DECLINES, Signal.TIMEOUTS}, set()
    if summary.get("sign_in_total"):
        observed.add(Signal.SIGN_IN_FAILURE)
    if summary.get("sign_in_failed"):
        observed.add(Signal.SIGN_IN_FAILURE)
        affected.add(Signal.SIGN_IN_FAILURE)
    if summary.get("timeouts"):
        affected.add(Signal.TIMEOUTS)
    if summary.get("failures"):
        affected.add(Signal.DECLINES)
    return Reading(frozenset(observed), frozenset(affected))


@dataclass
class CohortTally:
    """A cohort's terminals, signal by signal: those that could show it and those that did."""

    observed: dict[Signal, set[int]] = field(default_factory=lambda: {s: set() for s in HEALTH_SIGNALS})
    affected: dict[Signal, set[int]] = field(default_factory=lambda: {s: set() for s in HEALTH_SIGNALS})
    counters: dict[int, list[int]] = field(default_factory=dict)
    heard: dict[int, datetime] = field(default_factory=dict)

    def alive(self, terminal_id: int) -> None:
        """The terminal was heard shortly before its window opened."""
        self.observed[Signal.HEARTBEAT_LOSS].add(terminal_id)

    def add(self, terminal_id: int, reading: Reading, at: datetime | None = None) -> None:
        """Count one reading of a terminal (``at``: when a heartbeat was received)."""
        for signal in reading.observed:
            self.observed[signal].add(terminal_id)
        for signal in reading.affected:
            self.affected[signal].add(terminal_id)
        if reading.restarts is not None:
            self.counters.setdefault(terminal_id, []).append(reading.restarts)
        if at is not None:
            self.heard[terminal_id] = max(self.heard.get(terminal_id, at), at)
            self.observed[Signal.HEARTBEAT_LOSS].add(terminal_id)

    def cohorts(self, windows: Mapping[int, tuple[datetime, datetime]]) -> dict[Signal, Cohort]:
        """Each signal's cohort over the terminals' windows (start, end): a restart counter that climbed counts,
        and a terminal silent at the end of a window long enough lost its heartbeat."""
        for terminal_id, values in self.counters.items():
            if max(values) > min(values):
                self.affected[Signal.RESTARTS].add(terminal_id)
        for terminal_id, (start, end) in windows.items():
            if end - start < HEARTBEAT_SILENCE:
                self.observed[Signal.HEARTBEAT_LOSS].discard(terminal_id)
                continue
            if terminal_id not in self.observed[Signal.HEARTBEAT_LOSS]:
                continue
            last = self.heard.get(terminal_id)
            if last is None or end - last >= HEARTBEAT_SILENCE:
                self.affected[Signal.HEARTBEAT_LOSS].add(terminal_id)
        return {s: Cohort(len(self.observed[s]), len(self.affected[s] & self.observed[s])) for s in HEALTH_SIGNALS}
