"""Builds the demo fleet (merchants in several cities, 300 terminals of five models, a user per role): `posops demo`."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

import typer
from rich.console import Console
from rich.progress import Progress
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from posops.core import audit
from posops.core.audit import AuditEntity
from posops.core.auth import Principal, Role, hash_password
from posops.core.cli import console, migrated_database, use_case_errors
from posops.core.db import Database
from posops.core.models import User
from posops.demo_repairs import load_repairs
from posops.telemetry.catalogue import CARRIERS, MODEL_CATALOGUE
from posops.terminals.lifecycle import SuspensionReason, TerminalStatus
from posops.terminals.models import FeePlan, Merchant, Terminal
from posops.tickets.models import Loaner

SYSTEM = Principal(user_id=None, username="demo-loader", role=Role.ADMIN)

DEMO_PASSWORDS = {
    "admin": "posops-admin-demo",
    "agent": "posops-agent-demo",
    "risk": "posops-risk-demo",
    "tech": "posops-tech-demo",
    "merchant": "posops-merchant-demo",
}
DEMO_ROLES = {"admin": Role.ADMIN, "agent": Role.AGENT, "risk": Role.RISK, "tech": Role.TECHNICIAN,
              "merchant": Role.MERCHANT}

MERCHANTS = [
    ("上海静安好邻居便利店", "91310106MA1FL2X71K", "王丽", "13800138001", "上海"),
    ("北京朝阳餐饮管理有限公司", "91110105MA01C3YW2P", "李强", "13900139002", "北京"),
    ("广州天河百货商行", "91440106MA5CK8TQ4N", "陈静", "13700137003", "广州"),
    ("深圳南山数码科技店", "91440305MA5FQ3RX6D", "张伟", "13600136004", "深圳"),
    ("杭州西湖茶叶有限公司", "91330106MA2H0P7E8Q", "刘洋", "13500135005", "杭州"),
    ("成都锦江火锅店", "92510104MA6C4B1M3T", "赵敏", "13400134006", "成都"),
]

demo_app = typer.Typer(help="The demo fleet.", no_args_is_help=True)
SUSPENSION_REASONS = (SuspensionReason.ARREARS, SuspensionReason.ARREARS, SuspensionReason.RISK_LIMIT,
                      SuspensionReason.DORMANT, SuspensionReason.DEVICE_FAULT, SuspensionReason.SECURITY)


@dataclass(frozen=True)
class DemoSummary:
    """What the demo load left in the database."""

    merchants: int
    terminals: int
    suspended: int
    repairs: int


def load_demo(db: Database, *, terminals: int = 300, seed: int = 8583, progress: Console | None = None) -> DemoSummary:
    """Load the demo fleet once (a second run only resets the demo users' passwords)."""
    rng = random.Random(seed)
    with db.transaction() as session:
        merchants = list(session.scalars(select(Merchant).where(
            Merchant.legal_id.in_([m[1] for m in MERCHANTS])).order_by(Merchant.id)))
        if not merchants:
            merchants = [Merchant(name=n, legal_id=lid, contact_name=c, contact_phone=p, region=r)
                         for n, lid, c, p, r in MERCHANTS]
            session.add_all(merchants)
            session.flush()
            # 月服务费 ¥39 + 流量费 ¥10, 万分之五 per day late after 15 days, penalty capped at ¥200
            session.add_all([FeePlan(merchant_id=m.id, monthly_fee_fen=3900, monthly_data_fee_fen=1000,
                                     daily_penalty_bp=5, grace_days=15, penalty_cap_fen=20000,
                                     contract_ref=f"POS-2024-{m.id:04d}") for m in merchants])
            _add_terminals(session, merchants, terminals, rng, progress)
            audit.record(session, SYSTEM, AuditEntity.FLEET, "demo", "demo_load",
                         after={"merchants": len(merchants), "terminals": terminals})
        _ensure_users(session, merchants[0].id)
        repairs = load_repairs(session, merchants, rng, DEMO_PASSWORDS["tech"])
        spares = select(Loaner.terminal_id)
        count = session.scalar(select(func.count(Terminal.id)).where(
            Terminal.merchant_id.in_([m.id for m in merchants]), Terminal.id.not_in(spares))) or 0
        suspended = session.scalar(select(func.count(Terminal.id)).where(
            Terminal.merchant_id.in_([m.id for m in merchants]), Terminal.status == TerminalStatus.SUSPENDED)) or 0
        return DemoSummary(len(merchants), count, suspended, repairs.tickets)


def _add_terminals(session: Session, merchants: list[Merchant], count: int, rng: random.Random,
                   progress: Console | None) -> None:
    today = date.today()
    with Progress(console=progress, disable=progress is None, transient=True) as bar:
        task = bar.add_task("terminals", total=count)
        for index in range(count):
            merchant = merchants[index % len(merchants)] if index < len(merchants) * 3 else rng.choice(merchants)
            model = rng.choice(list(MODEL_CATALOGUE))
            vendor, networks, firmwares, apps = MODEL_CATALOGUE[model]
            bought = today - timedelta(days=rng.randint(30, 4 * 365))
            status, reason = TerminalStatus.ACTIVE, None
            roll = rng.random()
            if roll < 0.06:
                status, reason = TerminalStatus.SUSPENDED, rng.choice(SUSPENSION_REASONS)
            elif roll < 0.08:
                status = TerminalStatus.ONBOARDING
            session.add(Terminal(
                serial_number=f"{vendor[:2].upper()}{model.split()[-1]}{index + 1:06d}",
                model=model, vendor=vendor, tid=f"{10000001 + index:08d}",
                mid=f"898{merchant.id:04d}{5411 + merchant.id:04d}{index % 10000:04d}"[:15],
                merchant_id=merchant.id, firmware_version=rng.choice(firmwares),
                app_version=rng.choices(apps, weights=range(1, len(apps) + 1))[0],
                network_type=rng.choice(networks), carrier=rng.choice(CARRIERS), region=merchant.region,
                purchase_date=bought, warranty_end=bought + timedelta(days=3 * 365),
                status=status, status_reason=reason))
            bar.advance(task)
    session.flush()


def _ensure_users(session: Session, merchant_id: int) -> None:
    for username, password in DEMO_PASSWORDS.items():
        role = DEMO_ROLES[username]
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            user = User(username=username, role=role.value, display_name=username,
                        merchant_id=merchant_id if role is Role.MERCHANT else None, password_hash="")
            session.add(user)
        user.password_hash = hash_password(password)
        user.active = True
    session.flush()


@demo_app.command("load")
def demo_load(terminals: int = typer.Option(300, min=1, help="how many terminals"),
              seed: int = typer.Option(8583, help="random seed: the same seed gives the same fleet")) -> None:
    """Load a realistic demo fleet and one user per role, printing their logins."""
    db = migrated_database()
    with use_case_errors():
        summary = load_demo(db, terminals=terminals, seed=seed, progress=console)
    console.print(f"[green]demo fleet:[/] {summary.merchants} merchants, {summary.terminals} terminals "
                  f"({summary.suspended} suspended), {summary.repairs} repair tickets")
    console.print("logins (http://127.0.0.1:8000/login):")
    for username, password in DEMO_PASSWORDS.items():
        console.print(f"  {username:<12} {password}")
