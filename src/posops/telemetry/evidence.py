"""Turns a terminal's latest heartbeat and what the fleet knows into taxonomy check outcomes.

Telemetry answers some checks without asking anyone (``telemetry: true`` in the taxonomy).
:func:`derive_evidence` returns only the checks the data really supports: a missing section
says nothing, and a heartbeat older than ``EvidencePolicy.stale_after`` says nothing about
states that change by the minute (battery, signal, paper, screen, codes).

>>> from datetime import datetime, timezone
>>> from posops.telemetry.heartbeat import parse_heartbeat
>>> hb = parse_heartbeat(b'{"v": 1, "sn": "PAA920000001", "seq": 9, "ts": "2025-03-01T09:30:00+08:00",'
...                      b' "printer": {"paper": "out", "head_temp_ok": true}, "tamper": false}')
>>> derive_evidence(hb, FleetFacts(now=datetime(2025, 3, 1, 1, 31, tzinfo=timezone.utc), area_incident=False))
{'printer_paper': 'empty_or_reversed', 'tamper_flag': 'clear', 'area_outage': 'no'}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType

from posops.core.response_codes import RESPONSE_CODE_OUTCOMES, response_code_outcome
from posops.core.versions import version_key
from posops.telemetry.heartbeat import Battery, Heartbeat, Network, Software
from posops.telemetry.screen_text import screen_notice_outcome

Evidence = dict[str, str]
"""Check id → observed outcome, the shape the diagnosis engine and the benchmark cases use."""

# The telemetry checks of the taxonomy and their outcomes (ids and outcomes are a contract).
CHECK_OUTCOMES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "screen_notice": ("none", "suspended", "restricted", "tamper", "read_error", "signin_failed",
                      "upgrade_failed", "low_battery", "no_paper"),
    "response_code": RESPONSE_CODE_OUTCOMES,
    "battery_level": ("ok", "low", "not_charging"),
    "net_indicator": ("ok", "weak", "none"),
    "area_outage": ("no", "yes"),
    "sw_version": ("current", "outdated", "incompatible"),
    "version_cohort": ("no", "yes"),
    "tamper_flag": ("clear", "triggered"),
    "printer_paper": ("ok", "empty_or_reversed"),
})


@dataclass(frozen=True)
class FleetFacts:
    """What the catalogue and the rest of the fleet say about one terminal at ``now``.

    ``None`` means unknown, and an unknown fact yields no evidence.
    """

    now: datetime
    latest_app: str | None = None
    """Newest released app version for the terminal's model."""
    compatible_apps: frozenset[str] | None = None
    """App versions the terminal's model supports."""
    min_firmware: str | None = None
    """Lowest firmware the installed app supports on this model."""
    area_incident: bool | None = None
    """Whether the terminal's (region, carrier) has an open outage incident."""
    cohort_incident: bool | None = None
    """Whether the terminal's (model, app version) cohort has an open incident."""


@dataclass(frozen=True)
class SignalThresholds:
    """Signal strength limits of one network type, in dBm (RSRP for 4G, RSSI for Wi-Fi)."""

    weak_below: int
    none_at_or_below: int


@dataclass(frozen=True)
class EvidencePolicy:
    """Thresholds used to read a heartbeat."""

    stale_after: timedelta = timedelta(minutes=15)
    battery_low_pct: int = 20
    battery_full_pct: int = 95
    signal: Mapping[str, SignalThresholds] = field(default_factory=lambda: MappingProxyType({
        "4g": SignalThresholds(weak_below=-105, none_at_or_below=-120),
        "wifi": SignalThresholds(weak_below=-75, none_at_or_below=-90),
    }))


DEFAULT_POLICY = EvidencePolicy()


def derive_evidence(heartbeat: Heartbeat | None, facts: FleetFacts,
                    policy: EvidencePolicy = DEFAULT_POLICY) -> Evidence:
    """Check outcomes supported by the latest heartbeat (may be None) and the fleet facts."""
    evidence: Evidence = {}
    if heartbeat is not None:
        fresh = facts.now - heartbeat.ts <= policy.stale_after
        if fresh:
            if heartbeat.battery is not None:
                evidence["battery_level"] = battery_outcome(heartbeat.battery, policy)
            if heartbeat.network is not None:
                _put(evidence, "net_indicator", net_indicator_outcome(heartbeat.network, policy))
            if heartbeat.printer is not None:
                evidence["printer_paper"] = "empty_or_reversed" if heartbeat.printer.paper == "out" else "ok"
            if "screen_notice" in heartbeat.model_fields_set:
                _put(evidence, "screen_notice", screen_notice_outcome(heartbeat.screen_notice))
            if heartbeat.last_rc is not None:
                _put(evidence, "response_code", last_rc_outcome(heartbeat.last_rc))
        # A tamper switch latches until a technician resets it: "triggered" stays true when the
        # report is old, "clear" does not.
        if heartbeat.tamper is not None and (fresh or heartbeat.tamper):
            evidence["tamper_flag"] = "triggered" if heartbeat.tamper else "clear"
        if heartbeat.software is not None:
            _put(evidence, "sw_version", sw_version_outcome(heartbeat.software, facts))
    if facts.area_incident is not None:
        evidence["area_outage"] = "yes" if facts.area_incident else "no"
    if facts.cohort_incident is not None:
        evidence["version_cohort"] = "yes" if facts.cohort_incident else "no"
    return evidence


def battery_outcome(battery: Battery, policy: EvidencePolicy = DEFAULT_POLICY) -> str:
    """``not_charging`` on the adapter without charging a battery that is not full, else ``low`` or ``ok``."""
    if battery.power_source == "adapter" and not battery.charging and battery.pct < policy.battery_full_pct:
        return "not_charging"
    return "low" if battery.pct <= policy.battery_low_pct else "ok"


def net_indicator_outcome(network: Network, policy: EvidencePolicy = DEFAULT_POLICY) -> str | None:
    """What the terminal's network icon shows: ``ok``, ``weak`` or ``none``; None when unknowable.

    Signal thresholds depend on the network type. A terminal that reaches the host is online
    whatever its modem reports; one with no IP address that cannot reach the host has no link.
    """
    if network.ip is None and not network.host_reachable:
        return "none"
    thresholds = policy.signal.get(network.type)
    if thresholds is None:
        return "ok"  # a wired link with an address or a reachable host is up
    if network.signal_dbm is None:
        # A modem that reports no strength is online if it gets through; otherwise unknown.
        return "ok" if network.host_reachable else None
    if network.signal_dbm <= thresholds.none_at_or_below:
        return "none"
    return "weak" if network.signal_dbm < thresholds.weak_below else "ok"


def sw_version_outcome(software: Software, facts: FleetFacts) -> str | None:
    """``incompatible`` outside the model's support, ``outdated`` behind the latest release, else current.

    A version that does not read as one (see ``core.versions``) says nothing.
    """
    if facts.compatible_apps is not None and software.app not in facts.compatible_apps:
        return "incompatible"
    try:
        if facts.min_firmware is not None and version_key(software.firmware) < version_key(facts.min_firmware):
            return "incompatible"
        if facts.latest_app is None:
            return None
        return "outdated" if version_key(software.app) < version_key(facts.latest_app) else "current"
    except ValueError:
        return None


def last_rc_outcome(code: str) -> str | None:
    """The ``response_code`` outcome of a heartbeat's ``last_rc``: ``none`` or empty means no failure."""
    return "none" if code.strip().casefold() in ("", "none") else response_code_outcome(code)


def _put(evidence: Evidence, check: str, outcome: str | None) -> None:
    if outcome is not None:
        evidence[check] = outcome
