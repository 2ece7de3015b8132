"""A virtual fleet: what a simulated terminal is, what goes wrong with it, what it reports and installs.

Everything here is pure: a terminal's profile and state, the time, the injected faults and a
seeded random generator in; one heartbeat and the next state out (:func:`next_heartbeat`).
Each heartbeat advances the terminal's simulated life by ``step`` (a minute by default). The
fleet simulator (:mod:`posops.telemetry.simulator`) paces it onto a broker; the demo stores it
at past times.

Faults can be injected: a carrier outage in one region (the host unreachable, every
transaction timing out), a bad app release (sign-in failures and crashes on the terminals that
took the upgrade), a bad version that installs fine but breaks sign-in on 15 % of the terminals
running it, and a version whose install fails on one model.

Simulated terminals take part in upgrade campaigns: :class:`Installer` turns the offers posops
pushes (:func:`read_offer`) into the steps a terminal reports, one at a time
(``downloading → downloaded → installing → installed``, or ``failed`` with a code), and the
terminal runs the new version afterwards; the clock comes in as arguments.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

from posops.telemetry.catalogue import CARRIERS, MODEL_CATALOGUE, REGIONS
from posops.telemetry.heartbeat import Heartbeat
from posops.upgrades.steps import FailureCode, Step

CHINA_TIME = timezone(timedelta(hours=8))


class ModelSpec(NamedTuple):
    """What a terminal model can have: network types, firmware and app versions (oldest first)."""

    networks: tuple[str, ...]
    firmwares: tuple[str, ...]
    apps: tuple[str, ...]


MODELS: Mapping[str, ModelSpec] = {
    name: ModelSpec(entry.networks, entry.firmwares, entry.apps) for name, entry in MODEL_CATALOGUE.items()}
"""The demo fleet's catalogue, so simulated terminals look like the registered ones."""
COUNTERTOP_MODELS = frozenset({"Verifone X990"})
DECLINE_CODES = ("51", "55", "05", "54", "61", "14")
SIGN_IN_FAILED = "签到失败,请重试"
BAD_VERSION_SHARE = 0.15
"""Share of the terminals running a bad version whose sign-in it breaks."""


@dataclass(frozen=True)
class TerminalProfile:
    """What the registry knows about a simulated terminal."""

    sn: str
    model: str
    region: str
    carrier: str
    network: str
    app_version: str
    firmware: str


def _fraction(*parts: object) -> float:
    """A stable number in [0, 1) from the parts, the same in every process and run."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest) / 2**64


def _pick(options: Sequence[str], *parts: object) -> str:
    return options[int(_fraction(*parts) * len(options))]


def profile_for_serial(sn: str, *, seed: int = 0) -> TerminalProfile:
    """The deterministic profile of terminal ``sn``: same serial and seed, same terminal."""
    model = _pick(list(MODELS), seed, sn, "model")
    spec = MODELS[model]
    apps = spec.apps
    # Newer releases are more common: pick the app by a square-root skew towards the end.
    app = apps[min(int(_fraction(seed, sn, "app") ** 0.5 * len(apps)), len(apps) - 1)]
    return TerminalProfile(sn=sn, model=model, region=_pick(REGIONS, seed, sn, "region"),
                           carrier=_pick(CARRIERS, seed, sn, "carrier"),
                           network=_pick(spec.networks, seed, sn, "network"), app_version=app,
                           firmware=_pick(spec.firmwares, seed, sn, "firmware"))


def generate_fleet(count: int, *, seed: int = 0, prefix: str = "SIM") -> list[TerminalProfile]:
    """``count`` terminals with serial numbers ``{prefix}00000001`` upwards."""
    return [profile_for_serial(f"{prefix}{index:08d}", seed=seed) for index in range(1, count + 1)]


@dataclass(frozen=True)
class Faults:
    """Faults injected into the fleet."""

    outage_region: str | None = None
    outage_carrier: str = CARRIERS[0]
    bad_app: str | None = None
    """A bad release: ``VERSION`` for every model, or ``MODEL@VERSION`` for one."""
    bad_app_share: float = 0.3
    """Share of the terminals (of the model) that took the bad release."""
    bad_version: str | None = None
    """An app version that installs fine but makes ``bad_version_share`` of the terminals running it fail sign-in."""
    bad_version_share: float = BAD_VERSION_SHARE
    broken_install: str | None = None
    """``MODEL@VERSION``: installing that version fails (``install_failed``) on that model; a bare ``VERSION``
    means the first model of the catalogue (:func:`broken_install_on` picks the fleet's own)."""

    def in_outage(self, profile: TerminalProfile) -> bool:
        """Whether the terminal is in the region and on the carrier of the outage."""
        return profile.region == self.outage_region and profile.carrier == self.outage_carrier

    def bad_release(self, profile: TerminalProfile) -> str | None:
        """The bad app version this terminal runs, if it took the upgrade."""
        if not self.bad_app:
            return None
        model, _, version = self.bad_app.rpartition("@")
        if model and model != profile.model:
            return None
        return version if _fraction(profile.sn, "bad-app", version) < self.bad_app_share else None

    def fails_sign_in(self, profile: TerminalProfile) -> bool:
        """Whether the terminal runs the bad version and is one of the share whose sign-in it breaks."""
        version = self.bad_version
        return (version is not None and profile.app_version == version
                and _fraction(profile.sn, "bad-version", version) < self.bad_version_share)

    def install_fails(self, profile: TerminalProfile, version: str) -> bool:
        """Whether installing ``version`` fails on this terminal's model."""
        if not self.broken_install:
            return False
        model, _, broken = self.broken_install.rpartition("@")
        return broken == version and profile.model == (model or next(iter(MODELS)))


def broken_install_on(spec: str, profiles: Iterable[TerminalProfile]) -> str:
    """``MODEL@VERSION`` for ``--broken-install``: a bare version goes to the first catalogue model in the fleet.

    >>> broken_install_on("5.2.0", [TerminalProfile("N1", "Newland N910", "上海", "中国移动", "4g", "5.1.2", "F")])
    'Newland N910@5.2.0'
    """
    if "@" in spec:
        return spec
    present = {p.model for p in profiles}
    model = next((m for m in MODELS if m in present), next(iter(MODELS)))
    return f"{model}@{spec}"


@dataclass(frozen=True)
class TerminalState:
    """What changes from one heartbeat to the next."""

    seq: int
    battery_pct: float
    on_adapter: bool
    paper: str
    reads: int = 0
    swipe_err: int = 0
    chip_err: int = 0
    tap_err: int = 0
    restarts: int = 0
    """Times the payment application has started (the heartbeat's ``software.restarts``)."""


def _quirks(profile: TerminalProfile) -> tuple[bool, float, bool]:
    """Lasting traits of a terminal: aged battery (2 %), dirty reader (3 %), tamper (0.2 %)."""
    aged = profile.model not in COUNTERTOP_MODELS and _fraction(profile.sn, "aged") < 0.02
    read_error_rate = 0.15 if _fraction(profile.sn, "dirty") < 0.03 else 0.005
    return aged, read_error_rate, _fraction(profile.sn, "tamper") < 0.002


def _base_signal(profile: TerminalProfile) -> int | None:
    if profile.network == "4g":
        return -115 + int(_fraction(profile.sn, "signal") * 40)  # RSRP -115 … -76 dBm
    if profile.network == "wifi":
        return -85 + int(_fraction(profile.sn, "signal") * 40)  # RSSI -85 … -46 dBm
    return None


def initial_state(profile: TerminalProfile, *, start: datetime, rng: random.Random) -> TerminalState:
    """A terminal's state when the simulation starts.

    ``seq`` starts at the start time in milliseconds, so a restarted simulator keeps every
    terminal's sequence increasing (the ingestion deduplicates on ``(sn, seq)``).
    """
    countertop = profile.model in COUNTERTOP_MODELS
    return TerminalState(seq=int(start.timestamp() * 1000), battery_pct=100.0 if countertop else rng.uniform(25, 100),
                         on_adapter=countertop or rng.random() < 0.4,
                         paper="low" if rng.random() < 0.05 else "ok", reads=rng.randint(0, 5000),
                         restarts=1 + int(_fraction(profile.sn, "restarts") * 3))


def next_heartbeat(profile: TerminalProfile, state: TerminalState, *, now: datetime, faults: Faults,
                   rng: random.Random, step: timedelta = timedelta(minutes=1)) -> tuple[Heartbeat, TerminalState]:
    """The terminal's next heartbeat at ``now`` and its state afterwards; pure but for ``rng``."""
    minutes = step.total_seconds() / 60
    aged, read_error_rate, tampered = _quirks(profile)
    countertop = profile.model in COUNTERTOP_MODELS

    # Battery: drains on battery, charges on the adapter; merchants plug in when it runs low.
    pct, on_adapter = state.battery_pct, state.on_adapter
    if not countertop:
        if on_adapter and pct >= 100 and rng.random() < 0.05 * minutes:
            on_adapter = False
        elif not on_adapter and pct < 15 and rng.random() < 0.3 * minutes:
            on_adapter = True
    charging = on_adapter and pct < 100 and not aged
    if charging:
        pct = min(100.0, pct + rng.uniform(0.5, 1.5) * minutes)
    elif not countertop and not (on_adapter and pct >= 100):
        pct = max(0.0, pct - rng.uniform(0.05, 0.3) * minutes)

    # Paper: runs low, runs out, gets reloaded.
    paper = state.paper
    roll = rng.random()
    if paper == "ok" and roll < 0.002 * minutes:
        paper = "low"
    elif paper == "low" and roll < 0.02 * minutes:
        paper = "out"
    elif paper == "out" and roll < 0.05 * minutes:
        paper = "ok"

    # Card reads: a few per minute, some failing, more on a dirty reader.
    new_reads = rng.randint(0, max(1, round(3 * minutes)))
    errors = sum(rng.random() < read_error_rate for _ in range(new_reads))
    kinds = rng.choices(("swipe_err", "chip_err", "tap_err"), weights=(5, 3, 2), k=errors)

    base = _base_signal(profile)
    signal = None if base is None else max(-140, min(-30, base + rng.randint(-5, 5)))
    in_outage = faults.in_outage(profile)
    bad_release = faults.bad_release(profile)
    reachable = not in_outage and rng.random() > 0.003
    last_rc = "timeout" if not reachable else _last_response_code(rng)
    local = now.astimezone(CHINA_TIME)
    signed_in_at = local.replace(hour=8, minute=0, second=0, microsecond=0)  # the day's first sign-in
    if signed_in_at > local:
        signed_in_at -= timedelta(days=1)
    signin: dict[str, Any] = {"at": signed_in_at.isoformat(), "ok": True}
    screen = None
    restarts = state.restarts
    if bad_release:
        signin = {"at": local.isoformat(), "ok": False}
        crashed = rng.random() < 0.3
        screen = "程序异常,正在重启" if crashed else SIGN_IN_FAILED
        last_rc = "30" if crashed else last_rc
        restarts += int(crashed)
    elif faults.fails_sign_in(profile):
        signin = {"at": local.isoformat(), "ok": False}
        screen = SIGN_IN_FAILED
        restarts += int(rng.random() < min(1.0, 0.2 * minutes))  # now and then it crashes and starts again
    elif tampered:
        screen = "设备被拆,已锁机"
    elif paper == "out":
        screen = "打印机缺纸"
    elif pct < 10 and not charging:
        screen = "电量低,请充电"

    payload: dict[str, Any] = {
        "v": 1, "sn": profile.sn, "seq": state.seq + 1, "ts": local.isoformat(),
        "network": _network(profile, signal, reachable, rng),
        "software": {"app": bad_release or profile.app_version, "firmware": profile.firmware, "restarts": restarts},
        "reader": {"swipe_err": state.swipe_err + kinds.count("swipe_err"),
                   "chip_err": state.chip_err + kinds.count("chip_err"),
                   "tap_err": state.tap_err + kinds.count("tap_err"), "reads": state.reads + new_reads},
        "printer": {"paper": paper, "head_temp_ok": True},
        "tamper": tampered, "screen_notice": screen, "last_rc": last_rc, "last_signin": signin,
    }
    if not countertop:
        payload["battery"] = {"pct": round(pct), "charging": charging,
                              "power_source": "adapter" if on_adapter else "battery"}
    after = TerminalState(seq=state.seq + 1, battery_pct=pct, on_adapter=on_adapter, paper=paper,
                          reads=payload["reader"]["reads"], swipe_err=payload["reader"]["swipe_err"],
                          chip_err=payload["reader"]["chip_err"], tap_err=payload["reader"]["tap_err"],
                          restarts=restarts)
    return Heartbeat.model_validate(payload, strict=False), after


def _last_response_code(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.06:
        return rng.choice(DECLINE_CODES)  # cardholder declines: not a terminal fault
    if roll < 0.065:
        return "96"  # the occasional host hiccup
    return "00"


def _network(profile: TerminalProfile, signal: int | None, reachable: bool, rng: random.Random) -> dict[str, Any]:
    host = int(_fraction(profile.sn, "ip") * 200) + 20
    if profile.network == "4g":
        ip, gateway = f"10.{host % 250}.{rng.randint(0, 254)}.{host}", None
    else:
        ip, gateway = f"192.168.1.{host}", "192.168.1.1"
    return {"type": profile.network, "signal_dbm": signal, "ip": ip, "gateway": gateway,
            "dns": ["114.114.114.114", "223.5.5.5"], "host_reachable": reachable}


@dataclass(frozen=True)
class Offer:
    """A package posops offers a terminal: the JSON of its answer to "what do I install?" (``NextOut``)."""

    campaign_id: int
    version: str
    kind: str = "app"
    """``app`` or ``firmware``."""
    sha256: str | None = None
    size_bytes: int | None = None
    download_path: str | None = None
    force: bool = False


def read_offer(payload: bytes | str) -> Offer | None:
    """The offer in a pushed message; None when it offers nothing (``install`` false) or is not an offer.

    >>> read_offer(b'{"install": true, "campaign_id": 7, "kind": "app", "version": "5.2.0"}').version
    '5.2.0'
    >>> read_offer(b'{"install": false, "reason": "outside_window"}') is None
    True
    """
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("install") is not True:
        return None
    campaign_id, version, kind = data.get("campaign_id"), data.get("version"), data.get("kind") or "app"
    if not isinstance(campaign_id, int) or not isinstance(version, str) or not version or kind not in ("app",
                                                                                                       "firmware"):
        return None
    size = data.get("size_bytes")
    return Offer(campaign_id=campaign_id, version=version, kind=kind, sha256=data.get("sha256"),
                 size_bytes=size if isinstance(size, int) else None, download_path=data.get("download_path"),
                 force=data.get("force") is True)


INSTALL_STEPS = (Step.DOWNLOADING, Step.DOWNLOADED, Step.INSTALLING, Step.INSTALLED)


def install_steps(profile: TerminalProfile, offer: Offer, faults: Faults) -> list[tuple[Step, FailureCode | None]]:
    """The steps the terminal goes through installing the offer: to ``installed``, or ``failed`` with a code."""
    if offer.kind == "app" and faults.install_fails(profile, offer.version):
        return [(Step.DOWNLOADING, None), (Step.DOWNLOADED, None), (Step.INSTALLING, None),
                (Step.FAILED, FailureCode.INSTALL_FAILED)]
    return [(step, None) for step in INSTALL_STEPS]


_NOT_IN_REPORT_ID = re.compile(r"[^0-9A-Za-z_.:-]")


def report_id(sn: str, campaign_id: int, step: Step, attempt: int) -> str:
    """The terminal's own id of one step: the same step of the same attempt always has the same one.

    >>> report_id("NE910000007", 3, Step.INSTALLED, 1)
    'NE910000007-3-installed-1'
    """
    return f"{_NOT_IN_REPORT_ID.sub('_', sn)[:32]}-{campaign_id}-{step.value}-{attempt}"


def upgrade_report(sn: str, offer: Offer, step: Step, code: FailureCode | None, *, attempt: int,
                   at: datetime) -> dict[str, Any]:
    """One step as the terminal reports it (a ``ReportIn`` of posops's upgrades API)."""
    report: dict[str, Any] = {"report_id": report_id(sn, offer.campaign_id, step, attempt),
                              "campaign_id": offer.campaign_id, "step": step.value,
                              "at": at.astimezone(CHINA_TIME).isoformat()}
    if code is not None:
        report["code"] = code.value
    return report


def upgraded(profile: TerminalProfile, offer: Offer) -> TerminalProfile:
    """The terminal after installing the offer: it runs the new version."""
    if offer.kind == "firmware":
        return replace(profile, firmware=offer.version)
    return replace(profile, app_version=offer.version)


@dataclass
class _Job:
    offer: Offer
    attempt: int
    steps: list[tuple[Step, FailureCode | None]]
    due: float
    again: bool = False
    """The terminal already runs the version: it only says ``installed`` again."""


@dataclass
class Installer:
    """The installs of a simulated fleet: each offer walks its steps, one every ``step_seconds``.

    Times are whatever clock the caller keeps (seconds); each offer of the same campaign to the
    same terminal is a new attempt (posops offers again after a transient failure). An offer of
    the version the terminal already runs is answered with its ``installed`` report again.
    """

    faults: Faults = field(default_factory=Faults)
    step_seconds: float = 2.0
    installed: int = 0
    failed: int = 0
    _jobs: dict[str, _Job] = field(default_factory=dict)
    _attempts: dict[tuple[str, int], int] = field(default_factory=dict)

    def offer(self, profile: TerminalProfile, offer: Offer, at: float) -> None:
        """Take an offer pushed to the terminal at ``at``; ignored while the terminal is busy installing."""
        if profile.sn in self._jobs:
            return
        key = (profile.sn, offer.campaign_id)
        current = profile.firmware if offer.kind == "firmware" else profile.app_version
        if current == offer.version and key in self._attempts:
            self._jobs[profile.sn] = _Job(offer, self._attempts[key], [(Step.INSTALLED, None)], at, again=True)
            return
        self._attempts[key] = attempt = self._attempts.get(key, 0) + 1
        self._jobs[profile.sn] = _Job(offer, attempt, install_steps(profile, offer, self.faults), at)

    def busy(self) -> bool:
        """Whether an install is under way."""
        return bool(self._jobs)

    def due(self, at: float, now: datetime) -> list[tuple[str, dict[str, Any], Offer | None]]:
        """The reports due by ``at``, stamped ``now``: (serial, report, the offer when it is now installed)."""
        reports: list[tuple[str, dict[str, Any], Offer | None]] = []
        for sn, job in list(self._jobs.items()):
            if job.due > at:
                continue
            step, code = job.steps.pop(0)
            if step is Step.INSTALLED and not job.again:
                self.installed += 1
            elif step is Step.FAILED:
                self.failed += 1
            reports.append((sn, upgrade_report(sn, job.offer, step, code, attempt=job.attempt, at=now),
                            job.offer if step is Step.INSTALLED else None))
            job.due = at + self.step_seconds
            if not job.steps:
                del self._jobs[sn]
        return reports
