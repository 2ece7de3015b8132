"""Fleet heartbeat simulator: a virtual fleet's heartbeats paced onto a publisher, and fleets read from files.

The terminals themselves — profiles, faults, :func:`next_heartbeat`, the installs — are the pure
:mod:`posops.telemetry.virtual_fleet` (its names are importable from here too).
:func:`run_simulation` paces heartbeats onto a publisher and, when asked, lets the terminals
take the upgrades posops pushes and report each step; ``posops sim fleet`` (in
:mod:`posops.telemetry.cli`) drives it. :func:`load_fleet` and :func:`write_fleet_csv` read and
write fleets as files.
"""

from __future__ import annotations

import csv
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from posops.telemetry.heartbeat import Heartbeat
from posops.telemetry.virtual_fleet import (
    BAD_VERSION_SHARE,
    CARRIERS,
    CHINA_TIME,
    COUNTERTOP_MODELS,
    DECLINE_CODES,
    INSTALL_STEPS,
    MODELS,
    REGIONS,
    SIGN_IN_FAILED,
    Faults,
    Installer,
    ModelSpec,
    Offer,
    TerminalProfile,
    TerminalState,
    broken_install_on,
    generate_fleet,
    initial_state,
    install_steps,
    next_heartbeat,
    profile_for_serial,
    read_offer,
    report_id,
    upgrade_report,
    upgraded,
)

__all__ = [
    "BAD_VERSION_SHARE", "CARRIERS", "CHINA_TIME", "COUNTERTOP_MODELS", "DECLINE_CODES", "INSTALL_STEPS", "MODELS",
    "REGIONS", "SIGN_IN_FAILED", "Faults", "Installer", "ModelSpec", "Offer", "TerminalProfile", "TerminalState",
    "broken_install_on", "generate_fleet", "initial_state", "install_steps", "load_fleet", "next_heartbeat",
    "profile_for_serial", "read_offer", "report_id", "run_simulation", "upgrade_report", "upgraded",
    "write_fleet_csv"
]

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


def run_simulation(profiles: Sequence[TerminalProfile], publish: Callable[[Heartbeat], None], *,
                   rate: float, faults: Faults = Faults(), count: int | None = None,
                   duration: float | None = None, seed: int = 0,
                   clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                   now: Callable[[], datetime] = lambda: datetime.now(CHINA_TIME),
                   offers: Callable[[], Iterable[tuple[str, bytes]]] | None = None,
                   report: Callable[[str, dict[str, Any]], None] | None = None,
                   installer: Installer | None = None) -> int:
    """Publish heartbeats round the fleet at ``rate`` per second (0: as fast as possible).

    Stops after ``count`` heartbeats or ``duration`` seconds, whichever comes first (runs until
    interrupted when neither is given); returns how many were published.

    With ``report``, the terminals take part in upgrade campaigns: before each heartbeat the
    offers pushed since (``offers()``: serial number and payload) go to ``installer``, and the
    steps due are handed to ``report`` (serial number, report); an installed version is what the
    terminal's heartbeats say it runs from then on.
    """
    if not profiles:
        return 0
    fleet = list(profiles)
    where = {p.sn: index for index, p in enumerate(fleet)}
    installer = installer or Installer(faults)
    rng = random.Random(seed)
    start_time = now()
    states = [initial_state(p, start=start_time, rng=rng) for p in fleet]
    started = clock()
    sent = 0
    while count is None or sent < count:
        due = started + sent / rate if rate > 0 else clock()
        if duration is not None and due - started >= duration:
            break
        if due > clock():
            sleep(due - clock())
        if report is not None:
            for sn, payload in offers() if offers is not None else ():
                offer = read_offer(payload)
                if offer is not None and sn in where:
                    installer.offer(fleet[where[sn]], offer, clock())
            if installer.busy():
                for sn, body, installed in installer.due(clock(), now()):
                    if installed is not None:
                        fleet[where[sn]] = upgraded(fleet[where[sn]], installed)
                    report(sn, body)
        index = sent % len(fleet)
        heartbeat, states[index] = next_heartbeat(fleet[index], states[index], now=now(), faults=faults, rng=rng)
        publish(heartbeat)
        sent += 1
    return sent
