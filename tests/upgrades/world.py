"""A small fleet for the upgrade tests: one shop of PAX A920s, packages, and heartbeats at chosen times."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from posops.core.auth import Principal
from posops.core.db import Database
from posops.core.documents import Upload
from posops.telemetry import service as telemetry
from posops.telemetry.service import Message, Sender
from posops.terminals.models import Merchant, Terminal
from posops.upgrades import service as upgrades
from posops.upgrades.schemas import CampaignIn, PackageIn, PackageKind, ReportIn, ReportsIn, TargetFilter, WaveIn
from posops.upgrades.steps import Step

MODEL = "PAX A920"
NIGHT = (datetime.now(UTC) + timedelta(days=1)).replace(hour=18, minute=0, second=0, microsecond=0)
"""Tomorrow 02:00 in Shanghai (after the campaigns' real start): inside the default window, the shop closed."""


@dataclass
class World:
    """The shop's terminals (serial → id), the merchant and the acting desk users."""

    db: Database
    merchant_id: int
    terminals: dict[str, int]
    maker: Principal
    checker: Principal

    def sender(self, sn: str) -> Sender:
        """A terminal speaking for itself with its own token."""
        return Sender(terminal_id=self.terminals[sn], serial_number=sn)


def build_world(db: Database, maker: Principal, checker: Principal, *, count: int = 40,
                app_version: str = "3.2.1") -> World:
    """Register one merchant (opening 08:00–22:00 Shanghai) and ``count`` terminals on ``app_version``."""
    with db.transaction() as session:
        merchant = Merchant(name="升级测试商户", legal_id="91310000UPGR00001X", region="上海")
        session.add(merchant)
        session.flush()
        terminals = {}
        for i in range(count):
            terminal = Terminal(serial_number=f"UPG{i:05d}", model=MODEL, vendor="PAX", tid=f"7{i:07d}",
                                mid="898310000000777", merchant_id=merchant.id, region="上海",
                                firmware_version="PayDroid 8.1", app_version=app_version, status="active",
                                network_type="wifi" if i % 2 else "4g", tags=["pilot"] if i < 10 else [])
            session.add(terminal)
            session.flush()
            terminals[terminal.serial_number] = terminal.id
        return World(db, merchant.id, terminals, maker, checker)


def add_package(world: World, var_dir: Path, version: str, *, content: bytes | None = None) -> int:
    """Register an app package of ``version`` for the model, its file some bytes with their true SHA-256."""
    content = content or f"posops test package {version}".encode()
    data = PackageIn(kind=PackageKind.APP, model=MODEL, version=version,
                     sha256=hashlib.sha256(content).hexdigest(), size_bytes=len(content))
    upload = Upload(f"app-{version}.bin", "application/octet-stream", content)
    return upgrades.register_package(world.db, world.maker, data, upload, var_dir=var_dir).id


def campaign(world: World, package_id: int, *, waves: tuple[int, ...] = (10, 100), soak_minutes: int = 60,
             **fields: object) -> CampaignIn:
    """A campaign of the package over the whole shop, with short soaks."""
    plan = [WaveIn(percent=p, soak_minutes=soak_minutes) for p in waves]
    return CampaignIn(name=f"campaign of {package_id}", package_id=package_id,
                      filter=TargetFilter(merchant_ids=[world.merchant_id]), waves=plan, **fields)  # type: ignore[arg-type]


def started(world: World, package_id: int, **fields: object) -> int:
    """Create and approve (by the second person) a campaign; return its id."""
    created = upgrades.create_campaign(world.db, world.maker, campaign(world, package_id, **fields))
    upgrades.approve_campaign(world.db, world.checker, created.id, now=NIGHT)
    return created.id


def install(world: World, sn: str, campaign_id: int, at: datetime) -> None:
    """The terminal walks every step to installed."""
    steps = (Step.DOWNLOADING, Step.DOWNLOADED, Step.INSTALLING, Step.INSTALLED)
    reports = [ReportIn(report_id=f"{sn}-{campaign_id}-{s.value}", campaign_id=campaign_id, step=s, at=at)
               for s in steps]
    upgrades.record_reports(world.db, world.sender(sn), ReportsIn(reports=reports), now=at)


def heartbeat(sn: str, at: datetime, *, version: str, signed_in: bool = True, seq: int = 0) -> Message:
    """A heartbeat of the terminal at ``at`` running ``version``, its last sign-in good or failed."""
    payload = {"v": 1, "sn": sn, "seq": int(at.timestamp()) * 10 + seq, "ts": at.isoformat(),
               "software": {"app": version, "firmware": "PayDroid 8.1"}, "last_rc": "00",
               "last_signin": {"at": at.isoformat(), "ok": signed_in},
               "network": {"type": "wifi", "host_reachable": True}}
    return Message.parse("http", json.dumps(payload).encode())


def beat(world: World, at: datetime, versions: dict[str, str], failing: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    """Every terminal sends one heartbeat at ``at``; those in ``failing`` report a failed sign-in."""
    messages = [heartbeat(sn, at, version=versions.get(sn, "3.2.1"), signed_in=sn not in failing)
                for sn in world.terminals]
    telemetry.record_batch(world.db, messages, now=at)


def close_every_shop_now(db: Database) -> None:
    """Give every shop opening hours that leave the present hour outside them (installs are never during them)."""
    hour = datetime.now(ZoneInfo("Asia/Shanghai")).hour
    with db.transaction() as session:
        for merchant in session.scalars(select(Merchant)):
            merchant.time_zone = "Asia/Shanghai"
            merchant.opens_at, merchant.closes_at = f"{(hour + 2) % 24:02d}:00", f"{(hour + 4) % 24:02d}:00"


def hours(n: float) -> timedelta:
    """A span of ``n`` hours."""
    return timedelta(hours=n)
