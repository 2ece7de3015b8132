"""The demo's software upgrades: three packages of one model and two campaigns the health gate judged, night by night.

As people would, through the upgrades service: the admin registers the version the fleet runs, a
good next version and a bad one (small files with their true SHA-256), fills in a few cells of
the compatibility matrix and the acquirer's minimum; the agent previews and builds each campaign
and ``checker`` approves it the evening before its night. The nights are then simulated at the
times they happened: every 15 minutes the model's terminals send a heartbeat built by the fleet
simulator (:func:`posops.telemetry.virtual_fleet.next_heartbeat`), stored as ingestion stores it at
its receipt time, the gate runs every half hour (:func:`posops.upgrades.service.run_gate` at that time), and
when a wave opens the terminals ask what to install (as a push on their upgrade topic tells
them to) and report their steps.

The good campaign (10 %, 50 %, 100 %, half an hour's soak each) ran on the nights before the
last one and completed. The bad one ran last night: its version breaks sign-in on the
terminals that take it, the gate halted it in its canary, opened an incident and told the
merchants, and it offers the rollback. Its canary is sized from the preview to hold at least a
handful of terminals; so few tell only a stark regression from noise, so in the demo the bad
version breaks every terminal it reaches (``posops sim fleet --bad-version`` breaks 15 %, a
regression that takes a canary of a few dozen terminals to show).

The heartbeats of those nights leave out what the 30 days of telemetry already tell of each
terminal (battery, card reader, printer, signal, last response code), so its charts keep one
story; they carry what the gate reads: sign-in, restarts, the link to the host.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select

from posops.core.auth import Principal, Role
from posops.core.db import Database
from posops.core.documents import Upload
from posops.core.models import User
from posops.demo_cast import Cast, People
from posops.telemetry import service as telemetry
from posops.telemetry.catalogue import MODEL_CATALOGUE
from posops.telemetry.heartbeat import Heartbeat
from posops.telemetry.service import Message, Sender, TerminalDirectory
from posops.telemetry.virtual_fleet import (
    Faults,
    Offer,
    TerminalProfile,
    TerminalState,
    initial_state,
    install_steps,
    next_heartbeat,
    upgrade_report,
    upgraded,
)
from posops.terminals.lifecycle import TerminalStatus
from posops.terminals.models import Merchant, Terminal
from posops.upgrades import service as upgrades
from posops.upgrades.models import Target
from posops.upgrades.schemas import (
    CampaignIn,
    CompatibilityIn,
    MinimumIn,
    PackageIn,
    PackageKind,
    ReportIn,
    ReportsIn,
    TargetFilter,
    WaveIn,
)
from posops.upgrades.steps import Step, TargetState

CHINA_TIME = timezone(timedelta(hours=8))
"""The demo merchants' clocks (their time zone is Asia/Shanghai)."""
TICK = timedelta(minutes=15)
"""Heartbeats of a simulated night, a quarter of an hour apart (the gate counts 30 minutes' silence as lost)."""
NIGHT_STARTS = time(1, 0)
"""The campaigns' maintenance window opens (01:00–05:00, the default), and each starts then."""
GATE_EVERY = timedelta(minutes=30)
"""How often the simulated night runs the gate (the worker runs it every five minutes; the verdicts are the same)."""
NIGHT_ENDS = time(9, 30)
"""A simulated night runs on past the shops' first sign-in of the day (08:00): the gate waits to see it."""
APPROVED_BEFORE = timedelta(hours=7)
"""The checker approves a campaign at 18:00 the evening before its night."""
GOOD_NIGHTS_BEFORE = 4
"""How many nights before the bad campaign's the good one started (a wave a night: it takes three)."""
GOOD_WAVES = (10, 50, 100)
GOOD_SOAK_MINUTES = 30
BAD_SOAK_MINUTES = 60
MIN_CANARY = 6
"""The bad campaign's canary holds at least this many terminals (its share is raised in a small fleet)."""
BAD_SHARE = 1.0
"""Share of the terminals taking the bad version whose sign-in it breaks (the simulator's default is 15 %)."""
STEP_SPACING = timedelta(minutes=1)
"""Between two steps a terminal reports (downloading, downloaded, installing, installed)."""
ACQUIRER = "中国银联"
KEPT_FIELDS = ("v", "sn", "seq", "ts", "software", "last_signin")


@dataclass(frozen=True)
class UpgradesSummary:
    """What the upgrades part of the load made."""

    model: str
    packages: int
    completed: tuple[int, ...]
    halted: tuple[int, ...]
    heartbeats: int


@dataclass
class _Terminal:
    """One terminal of the campaigns' model that reports: what the simulator knows of it and its state."""

    terminal_id: int
    profile: TerminalProfile
    state: TerminalState | None = None

    @property
    def sender(self) -> Sender:
        """The terminal speaking for itself (its own token)."""
        return Sender(terminal_id=self.terminal_id, serial_number=self.profile.sn)


def load_upgrades(db: Database, merchants: list[Merchant], cast: Cast, people: People, seed: int, var_dir: Path,
                  now: datetime) -> UpgradesSummary | None:
    """Register the packages and run the two campaigns' nights before ``now``; None when no model has terminals."""
    rng = random.Random(f"{seed}:upgrades")
    chosen = _model(db, merchants, cast)
    if chosen is None:
        return None
    model, fleet = chosen
    admin = _admin(db)
    current, good, bad = _versions(model)
    packages = {version: _register(db, admin, model, version, notes, var_dir)
                for version, notes in ((current, _NOTES["current"]), (good, _NOTES["good"]), (bad, _NOTES["bad"]))}
    _matrix(db, admin, model, good, bad)
    shops = TargetFilter(merchant_ids=[m.id for m in merchants])
    bad_night = _last_night(now)
    good_night = bad_night - timedelta(days=GOOD_NIGHTS_BEFORE)
    stored = 0
    completed: list[int] = []
    halted: list[int] = []

    good_id = _campaign(db, people, CampaignIn(
        name=f"{model} {good} 全量升级", package_id=packages[good], filter=shops,
        waves=[WaveIn(percent=p, soak_minutes=GOOD_SOAK_MINUTES) for p in GOOD_WAVES], starts_at=good_night),
        good_night)
    for nights in range(GOOD_NIGHTS_BEFORE):
        stored += _night(db, good_id, fleet, good_night + timedelta(days=nights), Faults(), rng, completed, halted,
                         until=now)
        if good_id in completed:
            break

    preview = upgrades.preview_campaign(db, people.agent, CampaignIn(name=f"{model} {bad}", package_id=packages[bad],
                                                                     filter=shops))
    bad_id = _campaign(db, people, CampaignIn(
        name=f"{model} {bad} 分批升级", package_id=packages[bad], filter=shops,
        waves=[WaveIn(percent=p, soak_minutes=BAD_SOAK_MINUTES) for p in bad_waves(preview.targets)],
        starts_at=bad_night), bad_night)
    stored += _night(db, bad_id, fleet, bad_night, Faults(bad_version=bad, bad_version_share=BAD_SHARE), rng,
                     completed, halted, until=now)
    return UpgradesSummary(model=model, packages=len(packages), completed=tuple(completed), halted=tuple(halted),
                           heartbeats=stored)


_NOTES = {
    "current": ("当前在网版本。", "The version the fleet runs."),
    "good": ("优化签到与冲正流程，修复小票打印偶发乱码。", "Faster sign-in and reversals; fixes garbled receipts now "
                                                     "and then."),
    "bad": ("更新密钥下载与签到报文。", "New key download and sign-in messages."),
}


def bad_waves(targets: int) -> list[int]:
    """The bad campaign's waves: a 10 % canary, raised so that it holds at least ``MIN_CANARY`` terminals.

    >>> bad_waves(61), bad_waves(22), bad_waves(5)
    ([10, 50, 100], [28, 50, 100], [100])
    """
    canary = min(100, max(10, -(-100 * MIN_CANARY // max(targets, 1))))
    return [canary, 50, 100] if canary < 50 else [canary, 100] if canary < 100 else [100]


def _model(db: Database, merchants: list[Merchant], cast: Cast) -> tuple[str, list[_Terminal]] | None:
    """The model of the campaigns and its terminals that report: the most terminals, none of them silent if it can."""
    silent = {*cast.offline, *cast.never_seen}
    with db.transaction() as session:
        rows = session.execute(
            select(Terminal.id, Terminal.serial_number, Terminal.model, Terminal.region, Terminal.carrier,
                   Terminal.network_type, Terminal.app_version, Terminal.firmware_version)
            .where(Terminal.merchant_id.in_([m.id for m in merchants]), Terminal.model.in_(list(MODEL_CATALOGUE)),
                   Terminal.status.in_((TerminalStatus.ACTIVE, TerminalStatus.SUSPENDED)))
            .order_by(Terminal.id)).all()
    by_model: dict[str, list[Any]] = {}
    for row in rows:
        by_model.setdefault(row.model, []).append(row)
    if not by_model:
        return None
    model = min(by_model, key=lambda m: (sum(r.id in silent for r in by_model[m]), -len(by_model[m]), m))
    fleet = [_Terminal(r.id, TerminalProfile(
        sn=r.serial_number, model=model, region=r.region, carrier=r.carrier,
        network=r.network_type if r.network_type in ("4g", "wifi", "ethernet") else "4g",
        app_version=r.app_version or MODEL_CATALOGUE[model].apps[-1],
        firmware=r.firmware_version or MODEL_CATALOGUE[model].firmwares[-1]))
        for r in by_model[model] if r.id not in silent]
    return (model, fleet) if fleet else None


def _admin(db: Database) -> Principal:
    with db.transaction() as session:
        user = session.scalars(select(User).where(User.username == "admin")).one()
        return Principal(user_id=user.id, username=user.username, role=Role(user.role))


def _versions(model: str) -> tuple[str, str, str]:
    """The newest app version of the model, the next minor release (good) and its first patch (bad).

    >>> _versions("Newland N910")
    ('5.1.2', '5.2.0', '5.2.1')
    """
    current = MODEL_CATALOGUE[model].apps[-1]
    major, minor, *_ = (int(part) for part in current.split("."))
    return current, f"{major}.{minor + 1}.0", f"{major}.{minor + 1}.1"


def _register(db: Database, admin: Principal, model: str, version: str, notes: tuple[str, str],
              var_dir: Path) -> int:
    content = "".join(f"posops demo package {model} {version} block {i}\n" for i in range(64)).encode()
    data = PackageIn(kind=PackageKind.APP, model=model, version=version, sha256=hashlib.sha256(content).hexdigest(),
                     size_bytes=len(content), notes_zh=notes[0], notes_en=notes[1])
    upload = Upload(f"{model.lower().replace(' ', '-')}-{version}.apk", "application/vnd.android.package-archive",
                    content)
    return upgrades.register_package(db, admin, data, upload, var_dir=var_dir).id


def _matrix(db: Database, admin: Principal, model: str, good: str, bad: str) -> None:
    """Both new versions run on the model's firmwares (as far as anyone knew), another model's cell says no, and
    the acquirer's minimum is the model's oldest version."""
    for firmware in MODEL_CATALOGUE[model].firmwares:
        for app in (good, bad):
            upgrades.set_compatibility(db, admin, CompatibilityIn(model=model, firmware=firmware, app=app,
                                                                  compatible=True))
    other = next(m for m in MODEL_CATALOGUE if m != model)
    oldest, newest = MODEL_CATALOGUE[other].firmwares[0], MODEL_CATALOGUE[other].firmwares[-1]
    _, next_app, _ = _versions(other)
    upgrades.set_compatibility(db, admin, CompatibilityIn(model=other, firmware=oldest, app=next_app, compatible=False,
                                                          note=f"needs {newest}"))
    upgrades.set_minimum(db, admin, MinimumIn(model=model, kind=PackageKind.APP,
                                              version=MODEL_CATALOGUE[model].apps[0], acquirer=ACQUIRER))


def _last_night(now: datetime) -> datetime:
    """01:00 China time of the latest night whose campaign hour is over by ``now``."""
    local = now.astimezone(CHINA_TIME)
    night = datetime.combine(local.date(), NIGHT_STARTS, CHINA_TIME)
    if night + timedelta(hours=2) > local:
        night -= timedelta(days=1)
    return night


def _campaign(db: Database, people: People, data: CampaignIn, night: datetime) -> int:
    """The agent previews and builds the campaign; the checker approves it the evening before its night."""
    upgrades.preview_campaign(db, people.agent, data)
    created = upgrades.create_campaign(db, people.agent, data)
    upgrades.approve_campaign(db, people.checker, created.id, now=night - APPROVED_BEFORE)
    return created.id


def _night(db: Database, campaign_id: int, fleet: list[_Terminal], night: datetime, faults: Faults,
           rng: random.Random, completed: list[int], halted: list[int], *, until: datetime) -> int:
    """One night of the campaign, a tick every 15 minutes from 01:00 until it ends, the morning, or ``until``."""
    directory = TerminalDirectory()
    for terminal in fleet:
        terminal.state = initial_state(terminal.profile, start=night, rng=rng)
    stored = 0
    at, closes = night, min(until, datetime.combine(night.date(), NIGHT_ENDS, CHINA_TIME))
    by_sn = {t.profile.sn: t for t in fleet}
    asking = {sn: at for sn in _pushed(db, campaign_id) if sn in by_sn}  # offers a wave opened after last night
    while at <= closes:
        messages = []
        for terminal in fleet:
            assert terminal.state is not None
            heartbeat, terminal.state = next_heartbeat(terminal.profile, terminal.state, now=at, faults=faults,
                                                       rng=rng, step=TICK)
            messages.append(Message.parse("http", _as_received(heartbeat, terminal.profile, faults)))
        result = telemetry.record_batch(db, messages, now=at, directory=directory)
        if result.rejected:
            raise ValueError(f"the demo made an invalid heartbeat: {result.rejected[0].reason}")
        stored += result.stored
        if not (at - night) % GATE_EVERY:  # between the gate's runs the terminals keep beating and installing
            run = upgrades.run_gate(db, now=at)
            if campaign_id in run.completed:
                completed.append(campaign_id)
            if campaign_id in run.halted:
                halted.append(campaign_id)
            if campaign_id in (*run.completed, *run.halted, *run.expired):
                break
            if campaign_id in (*run.started, *run.advanced):
                asking.update((sn, at) for sn in _pushed(db, campaign_id) if sn in by_sn)  # the silent hear nothing
        for sn, when in sorted(asking.items()):
            if when <= at:
                asking.pop(sn)
                again = _ask(db, by_sn[sn], campaign_id, at, faults)
                if again is not None:
                    asking[sn] = again
        at += TICK
    return stored


def _pushed(db: Database, campaign_id: int) -> list[str]:
    """The terminals posops pushes an offer to when a wave opens: those the campaign now offers its package (read)."""
    with db.transaction() as session:
        return list(session.scalars(select(Terminal.serial_number).join(Target, Target.terminal_id == Terminal.id)
                                    .where(Target.campaign_id == campaign_id, Target.state == TargetState.OFFERED)
                                    .order_by(Terminal.serial_number)))


def _ask(db: Database, terminal: _Terminal, campaign_id: int, at: datetime, faults: Faults) -> datetime | None:
    """The terminal asks what to install and installs it, reporting each step; returns when to ask again, if ever."""
    answer = upgrades.next_for_terminal(db, terminal.sender, now=at)
    if not answer.install:
        return answer.not_before if answer.campaign_id == campaign_id else None
    assert answer.campaign_id is not None and answer.version is not None
    offer = Offer(campaign_id=answer.campaign_id, version=answer.version,
                  kind=answer.kind.value if answer.kind else "app", sha256=answer.sha256,
                  size_bytes=answer.size_bytes, download_path=answer.download_path, force=answer.force)
    steps = install_steps(terminal.profile, offer, faults)
    reports = [ReportIn.model_validate(upgrade_report(terminal.profile.sn, offer, step, code, attempt=1,
                                                      at=at + index * STEP_SPACING))
               for index, (step, code) in enumerate(steps)]
    upgrades.record_reports(db, terminal.sender, ReportsIn(reports=reports), now=at + len(steps) * STEP_SPACING)
    if steps[-1][0] is Step.INSTALLED:
        terminal.profile = upgraded(terminal.profile, offer)
    return None


def _as_received(heartbeat: Heartbeat, profile: TerminalProfile, faults: Faults) -> bytes:
    """The simulator's heartbeat less what the demo's 30 days of telemetry already tell of the terminal."""
    sent = json.loads(heartbeat.to_json())
    payload = {name: sent[name] for name in KEPT_FIELDS if name in sent}
    network = sent.get("network") or {}
    payload["network"] = {"type": network.get("type", profile.network),
                          "host_reachable": network.get("host_reachable", True)}
    if faults.fails_sign_in(profile) and sent.get("screen_notice"):
        payload["screen_notice"] = sent["screen_notice"]
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
