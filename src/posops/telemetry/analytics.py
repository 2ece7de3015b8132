"""Fleet analytics: which terminals are failing, and when a group of them is an incident.

Two kinds of group matter (:class:`Dimension`): terminals of one carrier in one region (a
regional network outage) and terminals of one model on one app version (a bad release).
A scan compares each group's share of failing terminals in the recent window with the
group's own baseline and opens, keeps or closes one :class:`Incident` per group.

Everything here is pure. The same :func:`scan` runs on counts computed in Python
(:func:`group_stats`, for tests and small fleets) or by the database (``service``):
over the table holding each terminal's latest heartbeat, the counts of one dimension are one
query::

    SELECT t.region, t.carrier, count(*) AS terminals, sum(CASE WHEN s.failing THEN 1 ELSE 0 END) AS failing
      FROM telemetry_snapshots s JOIN terminals t ON t.id = s.terminal_id
     WHERE s.last_seen_at > :now - :window AND s.last_seen_at <= :now
     GROUP BY t.region, t.carrier

and the failing serial numbers are fetched only for :func:`candidate_groups`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from posops.core.response_codes import normalise_response_code
from posops.telemetry.heartbeat import Heartbeat
from posops.telemetry.screen_text import screen_notice_outcome

# Response codes that say the terminal cannot work with the host, as opposed to a cardholder's
# decline (51 余额不足, 55 密码错, 54 过期卡 …), which says nothing about the terminal.
FAILURE_RESPONSE_CODES = frozenset({
    "timeout", "68",               # no answer: network or host
    "91", "92", "96", "98",        # issuer or network centre down
    "03", "97",                    # merchant or terminal not registered at the host
    "A0", "99", "89",              # MAC, PIN block or security failure: keys out of sync
    "22", "30", "77", "78",        # terminal state, message format, batch or parameters wrong
})
_FAILURE_NOTICES = frozenset({"signin_failed", "upgrade_failed"})


def failure_reasons(heartbeat: Heartbeat) -> tuple[str, ...]:
    """Why this heartbeat counts as a failing terminal (empty when it does not).

    Failing means the terminal cannot take payments for a reason outside the cardholder:
    the host is unreachable, the last sign-in failed, the last response code is a terminal or
    host failure, or the screen reports a failed sign-in or upgrade. Suspensions, risk limits
    and tamper locks are decisions about one merchant, not fleet faults, and do not count.
    """
    reasons: list[str] = []
    if heartbeat.network is not None and not heartbeat.network.host_reachable:
        reasons.append("host_unreachable")
    if heartbeat.last_signin is not None and heartbeat.last_signin.ok is False:
        reasons.append("signin_failed")
    if heartbeat.last_rc is not None:
        code = normalise_response_code(heartbeat.last_rc)
        if code in FAILURE_RESPONSE_CODES:
            reasons.append(f"rc:{code}")
    notice = screen_notice_outcome(heartbeat.screen_notice) if heartbeat.screen_notice else None
    if notice in _FAILURE_NOTICES:
        reasons.append(f"screen:{notice}")
    return tuple(reasons)


def is_failing(heartbeat: Heartbeat) -> bool:
    """True when :func:`failure_reasons` finds any reason."""
    return bool(failure_reasons(heartbeat))


class IncidentStatus(StrEnum):
    """Whether an incident is still going on."""

    OPEN = "open"
    CLOSED = "closed"


class Dimension(StrEnum):
    """How terminals are grouped for incident detection."""

    AREA = "area"
    """(region, carrier): regional carrier or network outages (area_outage)."""
    COHORT = "cohort"
    """(model, app version): a release that breaks one model (version_cohort)."""
    CAMPAIGN = "campaign"
    """(campaign id, version): an upgrade campaign its health gate halted; opened by upgrades, not by the scan."""


SCANNED_DIMENSIONS = (Dimension.AREA, Dimension.COHORT)
"""The groups the outage scan counts; a campaign's incident is opened and closed by upgrades alone."""


@dataclass(frozen=True, order=True)
class GroupKey:
    """One group: region and carrier for AREA, model and app version for COHORT."""

    dimension: Dimension
    first: str
    second: str


@dataclass(frozen=True)
class StatusSample:
    """One terminal's status at one time, with the registry attributes it is grouped by."""

    sn: str
    region: str
    carrier: str
    model: str
    app_version: str
    failing: bool
    at: datetime

    def group(self, dimension: Dimension) -> GroupKey:
        """The group this sample belongs to in ``dimension``."""
        if dimension is Dimension.AREA:
            return GroupKey(dimension, self.region, self.carrier)
        return GroupKey(dimension, self.model, self.app_version)


@dataclass(frozen=True)
class GroupStat:
    """Terminals reporting in the window and how many of them are failing."""

    terminals: int
    failing: int
    failing_terminals: frozenset[str] = frozenset()
    """Serial numbers of the failing terminals, when known (may be left empty by SQL feeds)."""

    @property
    def share(self) -> float:
        """Failing share of the group, 0 when it is empty."""
        return self.failing / self.terminals if self.terminals else 0.0


def group_stats(samples: Iterable[StatusSample], dimension: Dimension, *, now: datetime,
                window: timedelta) -> dict[GroupKey, GroupStat]:
    """Per group, each terminal's latest sample in ``(now - window, now]``, counted."""
    since = now - window
    latest: dict[str, StatusSample] = {}
    for sample in samples:
        if since < sample.at <= now and (sample.sn not in latest or sample.at > latest[sample.sn].at):
            latest[sample.sn] = sample
    members: dict[GroupKey, list[StatusSample]] = {}
    for sample in latest.values():
        members.setdefault(sample.group(dimension), []).append(sample)
    return {key: GroupStat(terminals=len(group), failing=sum(s.failing for s in group),
                           failing_terminals=frozenset(s.sn for s in group if s.failing))
            for key, group in members.items()}


@dataclass(frozen=True)
class Baseline:
    """A group's usual failing share (exponentially weighted over time) and when it was updated."""

    share: float
    at: datetime


@dataclass(frozen=True)
class IncidentPolicy:
    """Thresholds of incident detection; closing is easier than opening (hysteresis)."""

    window: timedelta = timedelta(minutes=10)
    min_terminals: int = 10
    """Smaller groups never open an incident: 1 of 2 terminals failing is not an outage."""
    min_failing: int = 5
    open_share: float = 0.30
    """Open only when at least this share of the group is failing …"""
    open_ratio: float = 3.0
    """… and the share is at least this many times the group's baseline."""
    close_share: float = 0.15
    close_ratio: float = 1.5
    """Calm when the share is at most max(close_share, close_ratio × baseline at opening)."""
    calm_for: timedelta = timedelta(minutes=10)
    """Close after staying calm this long, so a flapping group keeps one incident."""
    baseline_half_life: timedelta = timedelta(hours=12)
    baseline_floor: float = 0.02
    """Baselines below this count as this, so a spotless group does not open on noise."""

    def __post_init__(self) -> None:
        if not (0 <= self.close_share < self.open_share <= 1 and 1 <= self.close_ratio < self.open_ratio):
            raise ValueError("close thresholds must lie below open thresholds")

    def opens(self, stat: GroupStat, baseline: float) -> bool:
        """Whether this window's counts open an incident for a group with this baseline."""
        return (stat.terminals >= self.min_terminals and stat.failing >= self.min_failing
                and stat.share >= self.open_share
                and stat.share >= self.open_ratio * max(baseline, self.baseline_floor))

    def calm(self, stat: GroupStat, baseline: float) -> bool:
        """Whether an open incident's group is back near its baseline this window."""
        return stat.share <= max(self.close_share, self.close_ratio * max(baseline, self.baseline_floor))


DEFAULT_INCIDENT_POLICY = IncidentPolicy()


@dataclass(frozen=True)
class Incident:
    """An open (or just closed) incident of one group."""

    key: GroupKey
    opened_at: datetime
    baseline: float
    """The group's baseline when the incident opened; held fixed while it is open."""
    terminals: int
    failing: int
    peak_share: float
    affected: frozenset[str] = frozenset()
    """Every terminal seen failing while the incident was open."""
    calm_since: datetime | None = None
    closed_at: datetime | None = None

    @property
    def share(self) -> float:
        """Failing share at the last scan."""
        return self.failing / self.terminals if self.terminals else 0.0


@dataclass(frozen=True)
class ScanResult:
    """The state after one scan and what changed."""

    incidents: dict[GroupKey, Incident]
    """Incidents open after the scan, one per group."""
    baselines: dict[GroupKey, Baseline]
    opened: list[Incident] = field(default_factory=list)
    closed: list[Incident] = field(default_factory=list)


def scan(stats: Mapping[GroupKey, GroupStat], *, incidents: Mapping[GroupKey, Incident],
         baselines: Mapping[GroupKey, Baseline], now: datetime,
         policy: IncidentPolicy = DEFAULT_INCIDENT_POLICY) -> ScanResult:
    """Open, update or close incidents from this window's counts, then move the baselines.

    A group without counts (or too few terminals reporting) leaves its incident as it is:
    silence is not recovery. Baselines move only for groups without an open incident, so an
    outage never teaches the detector that failing is normal.
    """
    still_open: dict[GroupKey, Incident] = {}
    opened: list[Incident] = []
    closed: list[Incident] = []
    for key, incident in incidents.items():
        stat = stats.get(key)
        if stat is None or stat.terminals < policy.min_terminals:
            still_open[key] = incident
            continue
        updated = _observe(incident, stat, now, policy)
        if updated.calm_since is not None and now - updated.calm_since >= policy.calm_for:
            closed.append(replace(updated, closed_at=now))
        else:
            still_open[key] = updated
    for key, stat in stats.items():
        if key in incidents:
            continue
        baseline = baselines[key].share if key in baselines else 0.0
        if policy.opens(stat, baseline):
            incident = Incident(key=key, opened_at=now, baseline=baseline, terminals=stat.terminals,
                                failing=stat.failing, peak_share=stat.share, affected=stat.failing_terminals)
            still_open[key] = incident
            opened.append(incident)
    moved = dict(baselines)
    for key, stat in stats.items():
        if key not in still_open and stat.terminals:
            moved[key] = updated_baseline(baselines.get(key), stat.share, now, policy.baseline_half_life)
    return ScanResult(incidents=still_open, baselines=moved, opened=opened, closed=closed)


def candidate_groups(stats: Mapping[GroupKey, GroupStat], incidents: Mapping[GroupKey, Incident],
                     baselines: Mapping[GroupKey, Baseline],
                     policy: IncidentPolicy = DEFAULT_INCIDENT_POLICY) -> set[GroupKey]:
    """Groups whose failing serial numbers the scan will record: open now or about to open."""
    return {key for key, stat in stats.items()
            if key in incidents or policy.opens(stat, baselines[key].share if key in baselines else 0.0)}


def updated_baseline(previous: Baseline | None, share: float, now: datetime,
                     half_life: timedelta) -> Baseline:
    """Move a baseline towards ``share``, weighting by the time since its last update."""
    if previous is None:
        return Baseline(share=share, at=now)
    elapsed = max((now - previous.at).total_seconds(), 0.0)
    weight = 1.0 - 0.5 ** (elapsed / half_life.total_seconds())
    return Baseline(share=previous.share + weight * (share - previous.share), at=now)


def _observe(incident: Incident, stat: GroupStat, now: datetime, policy: IncidentPolicy) -> Incident:
    calm = policy.calm(stat, incident.baseline)
    return replace(
        incident, terminals=stat.terminals, failing=stat.failing,
        peak_share=max(incident.peak_share, stat.share),
        affected=incident.affected | stat.failing_terminals,
        calm_since=(incident.calm_since or now) if calm else None,
    )
