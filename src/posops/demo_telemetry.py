"""The demo fleet's telemetry: 30 days of heartbeats stored as ingestion stores them, and the outages in them.

A terminal reports every few minutes; the demo keeps of that what the history charts need: one
heartbeat per bucket of the terminal page's 24-hour chart (every 24 minutes), one per 6 hours
back to 7 days (the API's longest span), one a day back to 30 days (the retention), and every
10 minutes for a group's terminals while its outage is watched. The slots are stored with
:func:`posops.telemetry.service.store_received`, each heartbeat at the time it was received, so
history rows, snapshots and sign-ins are those ingestion writes; before each outage scan the
slots so far are committed, so the scan sees the snapshots as they were then. The last slot is
the load's ``now``.

Two carrier outages make the incidents, found by the telemetry feature's own scan
(:func:`posops.telemetry.service.scan_incidents`) run at each 10-minute slot around them: one
last week that lasted 100 minutes, closed once calm, and one that began 45 minutes ago and is
still on. Besides: batteries that drain in opening hours and charge at night, one aged battery
nearly empty now, one card reader failing more every day, a terminal that cannot sign in, a few
terminals silent for hours or days and a few never heard from.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from rich.console import Console
from rich.progress import Progress
from sqlalchemy import select

from posops.core.db import Database
from posops.demo_cast import BATTERYLESS_MODELS, Cast
from posops.telemetry.service import Message, TerminalDirectory, scan_incidents, store_received
from posops.terminals.lifecycle import TerminalStatus
from posops.terminals.models import Merchant, Terminal

CHINA_TIME = timezone(timedelta(hours=8))
"""The terminals' clocks (as in the fleet simulator)."""
HISTORY = timedelta(days=30)
GRIDS = ((timedelta(minutes=24), timedelta(hours=24)), (timedelta(hours=6), timedelta(days=7)),
         (timedelta(hours=24), HISTORY))
"""(spacing, back to): the slots every terminal reports at, counted back from the load."""
DENSE = timedelta(minutes=10)
"""Spacing of heartbeats and scans while an outage is watched: a scan counts the heartbeats of the last 10 minutes."""
CLOSED_OUTAGE = (timedelta(days=6), timedelta(minutes=100))
"""Last week's outage: how long ago (it starts at 10:30 China time that day) and how long it lasted."""
OPEN_OUTAGE = timedelta(minutes=45)
"""How long the current outage has lasted at the last slot."""
WATCH = (timedelta(minutes=30), timedelta(minutes=30))
"""Dense slots and scans before an outage begins (baselines) and after it ends (calm, then closed)."""
OUTAGE_SHARE = 0.8
"""Share of a group's terminals that cannot reach the host during its outage."""
MIN_GROUP = 10
"""A group smaller than this gets no outage: the scan opens an incident only when 10 terminals report."""
SILENT_FOR = (timedelta(hours=3), timedelta(hours=26), timedelta(days=4))
SLOTS_PER_STATEMENT = 24
"""Slots stored with one statement per table (each terminal's snapshot once): fewer writes, bounded memory."""
DECLINES = ("51", "55", "05", "54", "61", "14")


@dataclass
class Device:
    """One reporting terminal: what it says of itself and the counters it carries from one heartbeat to the next."""

    terminal_id: int
    sn: str
    model: str
    group: tuple[str, str]
    network: str
    signal: int | None
    drain: float
    """Battery percent per hour on battery in opening hours."""
    reads_per_hour: float
    error_rate: float
    skew: timedelta
    """How far the terminal's clock runs behind the slot's receipt."""
    ip: str
    software: str
    """The software section as JSON (it never changes)."""
    silent_after: datetime | None = None
    reads: int = 0
    errors: int = 0
    last: datetime | None = None


@dataclass(frozen=True)
class Outage:
    """One group's carrier outage: who cannot reach the host, from when until when."""

    group: tuple[str, str]
    start: datetime
    end: datetime | None
    """None while it is still on."""
    failing: frozenset[int] = field(default_factory=frozenset)

    def on(self, at: datetime) -> bool:
        """Whether the outage is going on at ``at``."""
        return self.start <= at and (self.end is None or at < self.end)


@dataclass(frozen=True)
class TelemetrySummary:
    """What the telemetry part of the load stored and found."""

    heartbeats: int
    incidents_opened: int
    incidents_closed: int
    in_outage: tuple[int, ...]
    """Terminals failing in the outage that is still on (the traffic of one of them shows it)."""


def load_telemetry(db: Database, merchants: list[Merchant], cast: Cast, seed: int, now: datetime,
                   progress: Console | None = None) -> TelemetrySummary:
    """Store 30 days of heartbeats up to ``now`` and run the outage scans around the two outages."""
    rng = random.Random(f"{seed}:telemetry")
    devices = _devices(db, merchants, cast, rng, now)
    outages = _outages(devices, cast, rng, now)
    slots = _slots(outages, now)
    directory = TerminalDirectory()
    stored = opened = closed = 0
    pending: list[tuple[datetime, bool]] = []
    with Progress(console=progress, disable=progress is None or not progress.is_terminal, transient=True) as bar:
        task = bar.add_task("telemetry", total=len(slots))
        for at, everyone in slots:
            pending.append((at, everyone))
            if not any(o.start - WATCH[0] <= at <= (o.end or now) + WATCH[1] for o in outages) and at != now:
                continue  # no scan at this slot: keep filling the transaction
            with db.transaction() as session:
                for first in range(0, len(pending), SLOTS_PER_STATEMENT):
                    arrivals = [(when, list(_heartbeats(devices, outages, cast, when, all_report, rng, now)))
                                for when, all_report in pending[first:first + SLOTS_PER_STATEMENT]]
                    result = store_received(session, arrivals, directory)
                    if result.rejected:
                        raise ValueError(f"the demo made an invalid heartbeat: {result.rejected[0].reason}")
                    stored += result.stored
            bar.advance(task, len(pending))
            pending = []
            scan = scan_incidents(db, at)
            opened, closed = opened + len(scan.opened), closed + len(scan.closed)
    live = [o for o in outages if o.end is None]
    return TelemetrySummary(heartbeats=stored, incidents_opened=opened, incidents_closed=closed,
                            in_outage=tuple(sorted(live[0].failing)) if live else ())


def _devices(db: Database, merchants: list[Merchant], cast: Cast, rng: random.Random,
             now: datetime) -> dict[int, Device]:
    """The fleet's terminals in service that report, with their traits (never-seen and onboarding ones left out)."""
    with db.transaction() as session:
        rows = session.execute(
            select(Terminal.id, Terminal.serial_number, Terminal.model, Terminal.region, Terminal.carrier,
                   Terminal.network_type, Terminal.app_version, Terminal.firmware_version)
            .where(Terminal.merchant_id.in_([m.id for m in merchants]),
                   Terminal.status.in_((TerminalStatus.ACTIVE, TerminalStatus.SUSPENDED)),
                   Terminal.id.not_in(cast.never_seen))
            .order_by(Terminal.id)).all()
    devices = {}
    for row in rows:
        network = row.network_type if row.network_type in ("4g", "wifi", "ethernet") else "4g"
        signal = rng.randint(-112, -78) if network == "4g" else rng.randint(-80, -50) if network == "wifi" else None
        devices[row.id] = Device(
            terminal_id=row.id, sn=row.serial_number, model=row.model, group=(row.region, row.carrier),
            network=network, signal=signal, drain=rng.uniform(3.0, 6.0), reads_per_hour=rng.uniform(6, 30),
            error_rate=rng.uniform(0.002, 0.012), skew=timedelta(seconds=rng.randint(1, 40)),
            ip=f"10.{row.id // 250 % 250}.{row.id % 250}.{rng.randint(20, 220)}",
            software=json.dumps({"app": row.app_version or "1.0.0", "firmware": row.firmware_version or "unknown"},
                                ensure_ascii=False, separators=(",", ":")))
    for terminal_id, quiet in zip(cast.offline, SILENT_FOR, strict=False):
        devices[terminal_id].silent_after = now - quiet
    return devices


def _outages(devices: dict[int, Device], cast: Cast, rng: random.Random, now: datetime) -> list[Outage]:
    """Last week's outage and today's, each in a (region, carrier) group big enough for the scan to open an incident.

    The two largest such groups are taken, those without a showcase terminal first (its diagnosis
    and traffic tell their own story); a fleet with one such group has both outages in it. The
    showcase terminals keep reaching the host: 80 % of the others cannot.
    """
    showcase = {cast.healthy, cast.suspended, cast.failing_reader, cast.low_battery, cast.sign_in_failures,
                cast.declines}
    members: dict[tuple[str, str], list[int]] = {}
    for device in devices.values():
        if device.silent_after is None and all(device.group):
            members.setdefault(device.group, []).append(device.terminal_id)
    groups = sorted((g for g, ids in members.items() if len(ids) >= MIN_GROUP),
                    key=lambda g: (bool(showcase & set(members[g])), -len(members[g]), g))[:2]
    if not groups:
        return []
    ago, lasting = CLOSED_OUTAGE
    day = (now - ago).astimezone(CHINA_TIME)
    start = now - round((now - day.replace(hour=10, minute=30, second=0, microsecond=0)) / DENSE) * DENSE
    windows: list[tuple[datetime, datetime | None]] = [(start, start + lasting), (now - OPEN_OUTAGE, None)]
    outages = []
    for group, (begins, ends) in zip([groups[0], groups[-1]], windows, strict=True):
        ordinary = [t for t in members[group] if t not in showcase]
        failing = frozenset(rng.sample(ordinary, min(len(ordinary), round(OUTAGE_SHARE * len(members[group])))))
        outages.append(Outage(group=group, start=begins, end=ends, failing=failing))
    return outages


def _slots(outages: list[Outage], now: datetime) -> list[tuple[datetime, bool]]:
    """Every slot up to ``now``, oldest first, and whether the whole fleet reports at it (else: the outage groups)."""
    everyone: set[datetime] = set()
    previous = timedelta(0)
    for spacing, back_to in GRIDS:
        everyone.update(now - k * spacing for k in range(-(-previous // spacing), back_to // spacing + 1))
        previous = back_to
    dense = {o.start + k * DENSE for o in outages
             for k in range(-(WATCH[0] // DENSE), ((o.end or now) - o.start + WATCH[1]) // DENSE + 1)}
    return sorted([(at, True) for at in everyone] + [(at, False) for at in dense - everyone if at <= now])


@dataclass(frozen=True)
class _Slot:
    """What every heartbeat of one slot shares: its receipt time, China time, and the day's sign-in at 8:00."""

    at: datetime
    local: datetime
    sign_in: str
    """The sign-in section (JSON) of a terminal that signed in as usual this morning (or yesterday before 8:00)."""

    @classmethod
    def of(cls, at: datetime) -> _Slot:
        """The slot received at ``at``."""
        local = at.astimezone(CHINA_TIME)
        signed_in = local.replace(hour=8, minute=0, second=0, microsecond=0)
        if signed_in > local:
            signed_in -= timedelta(days=1)
        return cls(at, local, f'{{"at":"{signed_in.isoformat()}","ok":true}}')


def _heartbeats(devices: dict[int, Device], outages: list[Outage], cast: Cast, at: datetime, everyone: bool,
                rng: random.Random, now: datetime) -> Iterator[Message]:
    """The messages that arrive at ``at``: every device's, or only the outage groups' on a dense slot."""
    groups = {o.group for o in outages if o.start - WATCH[0] <= at <= (o.end or now) + WATCH[1]}
    slot = _Slot.of(at)
    for device in devices.values():
        if device.silent_after is not None and at > device.silent_after:
            continue
        if not everyone and device.group not in groups:
            continue
        outage = next((o for o in outages if o.group == device.group and o.on(at)), None)
        cut_off = outage is not None and device.terminal_id in outage.failing
        yield Message.parse("http", _payload(device, slot, rng, now, cut_off=cut_off, cast=cast))


def _payload(device: Device, slot: _Slot, rng: random.Random, now: datetime, *, cut_off: bool,
             cast: Cast) -> bytes:
    """One heartbeat of ``device`` received in ``slot``, as JSON (schema version 1)."""
    at, ts = slot.at, slot.local - device.skew
    stamp = ts.isoformat()
    hours = (at - device.last).total_seconds() / 3600 if device.last is not None else 0.0
    device.last = at
    busy = 0.55 if hours > 2 else 1.0 if 9 <= ts.hour < 21 else 0.1  # the share of the span the shop was open
    new_reads = round(device.reads_per_hour * hours * busy * rng.uniform(0.6, 1.4))
    device.reads += new_reads
    device.errors += int(new_reads * _error_rate(device, cast, at, now) + rng.random())
    sign_in, screen = slot.sign_in, None
    last_rc = "timeout" if cut_off else "00" if rng.random() > 0.05 else rng.choice(DECLINES)
    if device.terminal_id == cast.sign_in_failures and now - at < timedelta(hours=2):
        sign_in, screen, last_rc = f'{{"at":"{stamp}","ok":false}}', "签到失败，请重试", "97"
    if device.terminal_id == cast.failing_reader and now - at < timedelta(minutes=30):
        screen = "读卡失败，请重新刷卡"
    battery = ""
    if device.model not in BATTERYLESS_MODELS:
        pct, charging, adapter = _battery(device, ts, cast, now - at)
        battery = (f',"battery":{{"pct":{pct},"charging":{"true" if charging else "false"},'
                   f'"power_source":"{"adapter" if adapter else "battery"}"}}')
        if device.terminal_id == cast.low_battery and pct < 15:
            screen = "电量低，请充电"
    signal = "null" if device.signal is None else device.signal + rng.randint(-4, 4)
    # JSON written out directly (ten times cheaper than json.dumps here); Message.parse checks every one.
    return (f'{{"v":1,"sn":"{device.sn}","seq":{int(ts.timestamp() * 1000)},"ts":"{stamp}",'
            f'"network":{{"type":"{device.network}","signal_dbm":{signal},"ip":"{device.ip}",'
            f'"host_reachable":{"false" if cut_off else "true"}}},"software":{device.software},'
            f'"reader":{{"swipe_err":{device.errors // 2},"chip_err":{device.errors - device.errors // 2},'
            f'"tap_err":0,"reads":{device.reads}}},"printer":{{"paper":"ok","head_temp_ok":true}},"tamper":false,'
            f'"screen_notice":{json.dumps(screen, ensure_ascii=False)},"last_rc":"{last_rc}",'
            f'"last_signin":{sign_in}{battery}}}').encode()


def _error_rate(device: Device, cast: Cast, at: datetime, now: datetime) -> float:
    """Failed reads per read: the device's own, or for the failing reader rising over its last five days to 40 %."""
    if device.terminal_id != cast.failing_reader:
        return device.error_rate
    days = (now - at) / timedelta(days=1)
    return device.error_rate if days > 5 else device.error_rate + (0.4 - device.error_rate) * (5 - days) / 5


def _battery(device: Device, local: datetime, cast: Cast, before_now: timedelta) -> tuple[int, bool, bool]:
    """(percent, charging, on the adapter): on battery from 9:00 to 21:00, charging overnight.

    The aged battery of the low-battery terminal holds 70 % at most and has been on battery for
    the last five hours, down to a few percent now.
    """
    hour = local.hour + local.minute / 60
    full = 70.0 if device.terminal_id == cast.low_battery else 100.0
    if device.terminal_id == cast.low_battery and before_now < timedelta(hours=5):
        return max(4, round(55 - 10 * (5 - before_now / timedelta(hours=1)))), False, False
    if 9 <= hour < 21:
        return round(min(full, 100 - device.drain * (hour - 9))), False, False
    evening = 100 - device.drain * 12
    pct = min(full, evening + 15 * ((hour - 21) % 24))
    return round(pct), pct < full, True
