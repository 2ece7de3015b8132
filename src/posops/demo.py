"""Builds the demo (`posops demo load`): a fleet that lives — merchants, terminals, a user per role, and what they did.

The fleet itself is made here; each later part of the load has its own module beside this one
(``demo_lifecycle``, ``demo_telemetry``, ``demo_traffic``, ``demo_diagnosis``, ``demo_onboarding``,
``demo_repairs``, ``demo_upgrades``, ``demo_fees``), and ``demo_cast`` decides which terminal plays which part.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress
from sqlalchemy import select
from sqlalchemy.orm import Session

from posops.core import audit
from posops.core.audit import AuditEntity
from posops.core.auth import Principal, Role, hash_password
from posops.core.cli import console, migrated_database, use_case_errors
from posops.core.config import get_settings
from posops.core.db import Database, utcnow
from posops.core.errors import Conflict, Invalid
from posops.core.models import AuditEvent, User
from posops.demo_cast import Cast, People, choose_cast, demo_people
from posops.demo_diagnosis import load_diagnoses
from posops.demo_fees import load_fees
from posops.demo_lifecycle import load_lifecycle
from posops.demo_onboarding import load_applications
from posops.demo_repairs import load_repairs
from posops.demo_summary import DemoSummary, count_demo
from posops.demo_telemetry import load_telemetry
from posops.demo_traffic import load_traffic
from posops.demo_upgrades import load_upgrades
from posops.telemetry.catalogue import CARRIERS, MODEL_CATALOGUE
from posops.terminals.lifecycle import TerminalStatus
from posops.terminals.models import FeePlan, Merchant, Terminal

SYSTEM = Principal(user_id=None, username="demo-loader", role=Role.ADMIN)

DEMO_PASSWORDS = {
    "admin": "posops-admin-demo",
    "agent": "posops-agent-demo",
    "checker": "posops-checker-demo",
    "risk": "posops-risk-demo",
    "tech": "posops-tech-demo",
    "merchant": "posops-merchant-demo",
}
DEMO_ROLES = {"admin": Role.ADMIN, "agent": Role.AGENT, "checker": Role.AGENT, "risk": Role.RISK,
              "tech": Role.TECHNICIAN, "merchant": Role.MERCHANT}

MERCHANTS = [
    ("上海静安好邻居便利店", "91310106MA1FL2X71K", "王丽", "13800138001", "上海"),
    ("北京朝阳餐饮管理有限公司", "91110105MA01C3YW2P", "李强", "13900139002", "北京"),
    ("广州天河百货商行", "91440106MA5CK8TQ4N", "陈静", "13700137003", "广州"),
    ("深圳南山数码科技店", "91440305MA5FQ3RX6D", "张伟", "13600136004", "深圳"),
    ("杭州西湖茶叶有限公司", "91330106MA2H0P7E8Q", "刘洋", "13500135005", "杭州"),
    ("成都锦江火锅店", "92510104MA6C4B1M3T", "赵敏", "13400134006", "成都"),
]

demo_app = typer.Typer(help="The demo fleet.", no_args_is_help=True)
CARRIER_SHARES = (5, 3, 2)
"""How the fleet's SIM cards split between the carriers (in the order of ``CARRIERS``)."""
MIN_TERMINALS = 30
"""The smallest fleet that has a terminal for every part of the demo."""


def load_demo(db: Database, *, terminals: int = 300, seed: int = 8583, progress: Console | None = None,
              var_dir: Path | None = None) -> DemoSummary:
    """Load the demo once (a second run only resets the demo users' passwords) and say what it holds.

    The fleet, its users and a year of repairs are one transaction; then the rest is made through
    the features' services, one use case at a time, as people and terminals would: suspensions and
    reactivation requests, 30 days of telemetry and the incidents it shows, imported traffic,
    diagnoses, onboarding applications, two software upgrade campaigns (one completed, one halted) and the
    fees: the example rate cards, every merchant's contract, a statement with an overcharge, the checks.
    Uploads go to ``var_dir`` (POSOPS_VAR_DIR by default).
    """
    if terminals < MIN_TERMINALS:
        raise Invalid("terminals", key="error.demo.too_few_terminals", count=MIN_TERMINALS)
    rng = random.Random(seed)
    created = False
    with db.transaction() as session:
        merchants = list(session.scalars(select(Merchant).where(
            Merchant.legal_id.in_([m[1] for m in MERCHANTS])).order_by(Merchant.id)))
        if merchants and session.scalar(select(AuditEvent.id).where(*_LOADED).limit(1)) is None:
            raise Conflict(key="error.demo.half_loaded")
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
            created = True
        _ensure_users(session, merchants[0].id)
        load_repairs(session, merchants, rng, DEMO_PASSWORDS["tech"])
        cast = choose_cast(session, merchants, seed) if created else None
        people = demo_people(session)
    if cast is not None:
        _bring_to_life(db, merchants, cast, people, seed, var_dir or get_settings().var_dir, progress)
    with db.transaction() as session:
        summary = count_demo(session, merchants)
    return replace(summary, showcase=_showcase(db, cast)) if cast is not None else summary


_LOADED = (AuditEvent.entity_type == AuditEntity.FLEET, AuditEvent.entity_id == "demo",
           AuditEvent.action == "demo_load")
"""The audit event the end of a complete load writes."""


def _bring_to_life(db: Database, merchants: list[Merchant], cast: Cast, people: People, seed: int, var_dir: Path,
                   progress: Console | None) -> None:
    """Everything after the fleet, through the services, then the event that says the load is complete."""
    load_lifecycle(db, cast, people, var_dir, utcnow().date())
    telemetry = load_telemetry(db, merchants, cast, seed, utcnow(), progress)
    load_traffic(db, people.agent, cast, telemetry.in_outage, seed, utcnow())
    load_diagnoses(db, cast, people)
    load_applications(db, people, var_dir)
    load_upgrades(db, merchants, cast, people, seed, var_dir, utcnow())
    load_fees(db, merchants, people, seed, utcnow().date())
    with db.transaction() as session:
        audit.record(session, SYSTEM, AuditEntity.FLEET, "demo", "demo_load",
                     after={"merchants": len(merchants), "seed": seed, "heartbeats": telemetry.heartbeats})


def _showcase(db: Database, cast: Cast) -> tuple[str, str]:
    with db.transaction() as session:
        serials = dict(session.execute(select(Terminal.id, Terminal.serial_number)
                                       .where(Terminal.id.in_((cast.healthy, cast.suspended)))).all())
    return serials[cast.healthy], serials[cast.suspended]


def _add_terminals(session: Session, merchants: list[Merchant], count: int, rng: random.Random,
                   progress: Console | None) -> None:
    today = date.today()
    with Progress(console=progress, disable=progress is None or not progress.is_terminal, transient=True) as bar:
        task = bar.add_task("terminals", total=count)
        for index in range(count):
            merchant = merchants[index % len(merchants)] if index < len(merchants) * 3 else rng.choice(merchants)
            model = rng.choice(list(MODEL_CATALOGUE))
            vendor, networks, firmwares, apps = MODEL_CATALOGUE[model]
            bought = today - timedelta(days=rng.randint(30, 4 * 365))
            # Suspensions come later, through the lifecycle service; a few terminals are still being installed.
            status = TerminalStatus.ONBOARDING if 0.06 <= rng.random() < 0.08 else TerminalStatus.ACTIVE
            session.add(Terminal(
                serial_number=f"{vendor[:2].upper()}{model.split()[-1]}{index + 1:06d}",
                model=model, vendor=vendor, tid=f"{10000001 + index:08d}",
                mid=f"898{merchant.id:04d}{5411 + merchant.id:04d}{index % 10000:04d}"[:15],
                merchant_id=merchant.id, firmware_version=rng.choice(firmwares),
                app_version=rng.choices(apps, weights=range(1, len(apps) + 1))[0],
                network_type=rng.choice(networks), carrier=rng.choices(CARRIERS, weights=CARRIER_SHARES)[0],
                region=merchant.region, purchase_date=bought, warranty_end=bought + timedelta(days=3 * 365),
                status=status))
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
def demo_load(terminals: int = typer.Option(300, min=MIN_TERMINALS, help="how many terminals"),
              seed: int = typer.Option(8583, help="random seed: the same seed gives the same fleet")) -> None:
    """Load a living demo fleet and one user per role, printing what it holds and the logins."""
    db = migrated_database()
    with use_case_errors():
        summary = load_demo(db, terminals=terminals, seed=seed, progress=console)
    console.print(f"[green]demo fleet:[/] {summary.paragraph()}", soft_wrap=True)
    console.print("logins (http://127.0.0.1:8000/login):")
    for username, password in DEMO_PASSWORDS.items():
        console.print(f"  {username:<12} {password}")
