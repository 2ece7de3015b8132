"""Fleet heartbeat simulator: terminals that drain batteries, lose signal, run out of paper, and fail.

:func:`next_heartbeat` is pure: one terminal's profile and state, the time, the injected
faults and a seeded random generator in, one heartbeat and the next state out. Each heartbeat
advances the terminal's simulated life by ``step`` (a minute by default), however fast the
simulator publishes. :func:`run_simulation` paces heartbeats onto a publisher; ``posops sim fleet``
(in :mod:`posops.telemetry.cli`) drives it.

Two faults can be injected: a carrier outage in one region (the host unreachable, every
transaction timing out) and a bad app release (sign-in failures and crashes on the terminals
that took the upgrade).
"""

from __future__ import annotations

import csv
import hashlib
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NamedTuple

from posops.telemetry.catalogue import CARRIERS, MODEL_CATALOGUE, REGIONS
from posops.telemetry.heartbeat import Heartbeat

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


_COLUMNS = {"sn": "sn", "serial_number": "sn", "model": "model", "region": "region", "carrier": "carrier",
            "network": "network", "network_type": "network", "app": "app_version", "app_version": "app_version",
            "firmware": "firmware", "firmware_version": "firmware"}


def load_fleet(path: Path, *, seed: int = 0) -> list[TerminalProfile]:
    """Terminals from a file: one serial number per line, or CSV with a header.

    CSV columns (any subset besides the serial): ``sn``/``serial_number``, ``model``, ``region``,
    ``carrier``, ``network``/``network_type``, ``app_version``, ``firmware``/``firmware_version``,
    so an export of the terminals table works as it is. Missing values come from
    :func:`profile_for_serial`.
    """
    lines = [line for line in path.read_text(encoding="utf-8-sig").splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        return []
    header = [name.strip() for name in lines[0].split(",")]
    if "sn" not in header and "serial_number" not in header:
        return [profile_for_serial(line.strip(), seed=seed) for line in lines]
    profiles = []
    for row in csv.DictReader(lines):
        values = {_COLUMNS[k.strip()]: v.strip() for k, v in row.items() if k and k.strip() in _COLUMNS and v}
        profiles.append(replace(profile_for_serial(values["sn"], seed=seed), **values))
    return profiles


def write_fleet_csv(profiles: Iterable[TerminalProfile], path: Path) -> None:
    """Write terminals as CSV in the columns :func:`load_fleet` reads."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["serial_number", "model", "region", "carrier", "network_type", "app_version",
                         "firmware_version"])
        for p in profiles:
            writer.writerow([p.sn, p.model, p.region, p.carrier, p.network, p.app_version, p.firmware])


@dataclass(frozen=True)
class Faults:
    """Faults injected into the fleet."""

    outage_region: str | None = None
    outage_carrier: str = CARRIERS[0]
    bad_app: str | None = None
    """A bad release: ``VERSION`` for every model, or ``MODEL@VERSION`` for one."""
    bad_app_share: float = 0.3
    """Share of the terminals (of the model) that took the bad release."""

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
                         paper="low" if rng.random() < 0.05 else "ok", reads=rng.randint(0, 5000))


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
    if bad_release:
        signin = {"at": local.isoformat(), "ok": False}
        crashed = rng.random() < 0.3
        screen = "程序异常,正在重启" if crashed else "签到失败,请重试"
        last_rc = "30" if crashed else last_rc
    elif tampered:
        screen = "设备被拆,已锁机"
    elif paper == "out":
        screen = "打印机缺纸"
    elif pct < 10 and not charging:
        screen = "电量低,请充电"

    payload: dict[str, Any] = {
        "v": 1, "sn": profile.sn, "seq": state.seq + 1, "ts": local.isoformat(),
        "network": _network(profile, signal, reachable, rng),
        "software": {"app": bad_release or profile.app_version, "firmware": profile.firmware},
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
                          chip_err=payload["reader"]["chip_err"], tap_err=payload["reader"]["tap_err"])
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


def run_simulation(profiles: Sequence[TerminalProfile], publish: Callable[[Heartbeat], None], *,
                   rate: float, faults: Faults = Faults(), count: int | None = None,
                   duration: float | None = None, seed: int = 0,
                   clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                   now: Callable[[], datetime] = lambda: datetime.now(CHINA_TIME)) -> int:
    """Publish heartbeats round the fleet at ``rate`` per second (0: as fast as possible).

    Stops after ``count`` heartbeats or ``duration`` seconds, whichever comes first (runs until
    interrupted when neither is given); returns how many were published.
    """
    if not profiles:
        return 0
    rng = random.Random(seed)
    start_time = now()
    states = [initial_state(p, start=start_time, rng=rng) for p in profiles]
    started = clock()
    sent = 0
    while count is None or sent < count:
        due = started + sent / rate if rate > 0 else clock()
        if duration is not None and due - started >= duration:
            break
        if due > clock():
            sleep(due - clock())
        index = sent % len(profiles)
        heartbeat, states[index] = next_heartbeat(profiles[index], states[index], now=now(), faults=faults,
                                                  rng=rng)
        publish(heartbeat)
        sent += 1
    return sent
