"""Telemetry commands: `posops telemetry …` (scan, prune, tokens, dead letters) and `posops sim fleet`."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from posops.core import scheduler
from posops.core.auth import OPERATOR
from posops.core.cli import migrated_database, use_case_errors
from posops.core.config import get_settings
from posops.core.db import Database, utcnow
from posops.core.migrate import NotMigrated, ensure_migrated
from posops.telemetry import service
from posops.telemetry.catalogue import CARRIERS
from posops.telemetry.jobs import scan_summary
from posops.telemetry.mqtt import TOPIC_ROOT, HeartbeatPublisher, parse_mqtt_url
from posops.telemetry.simulator import (
    BAD_VERSION_SHARE,
    Faults,
    Installer,
    TerminalProfile,
    broken_install_on,
    generate_fleet,
    load_fleet,
    profile_for_serial,
    run_simulation,
    write_fleet_csv,
)
from posops.terminals import service as terminals

telemetry_app = typer.Typer(help="Fleet telemetry: outage scan, pruning, terminal tokens, dead letters.",
                            no_args_is_help=True)
console = Console()


@telemetry_app.command("scan")
def scan() -> None:
    """运行一次故障扫描 / Run one outage scan now and print what it opened and closed (JSON)."""

    db = migrated_database()
    now = utcnow()
    result = service.scan_incidents(db, now)
    scheduler.record_manual_run(db, service.SCAN_JOB, "cli", now, scan_summary(result))
    sys.stdout.write(result.model_dump_json() + "\n")


@telemetry_app.command("prune")
def prune(days: int | None = typer.Option(None, min=1, help="keep this many days (default: "
                                                               "POSOPS_TELEMETRY_RETENTION_DAYS)")) -> None:
    """删除过期心跳 / Delete heartbeats and dead letters older than the retention period."""

    db = migrated_database()
    with use_case_errors():
        removed = service.prune_history(db, utcnow(), retention_days=days)
    console.print(f"removed {removed} rows")


@telemetry_app.command("token")
def token(ref: str = typer.Argument(..., help="serial number, TID or id of the terminal"),
          revoke: bool = typer.Option(False, "--revoke", help="revoke the terminal's tokens instead")) -> None:
    """为终端签发心跳令牌 / Issue the bearer token a terminal posts its own heartbeats with (shown once)."""

    db = migrated_database()
    with use_case_errors():
        terminal_id = terminals.terminal_id_for(db, OPERATOR, ref)
        if revoke:
            console.print(f"revoked {service.revoke_terminal_tokens(db, OPERATOR, terminal_id)} token(s)")
            return
        issued = service.issue_terminal_token(db, OPERATOR, terminal_id)
    console.print(f"token of terminal {issued.serial_number} (shown once, earlier ones revoked):", style="bold")
    sys.stdout.write(issued.token + "\n")


@telemetry_app.command("dead-letters")
def dead_letters(limit: int = typer.Option(20, min=1, max=500, help="how many of the newest to show")) -> None:
    """查看死信 / Show dead-lettered messages: counts by reason and the newest ones (JSON)."""

    letters = service.dead_letters(migrated_database(), OPERATOR, limit=limit)
    sys.stdout.write(json.dumps(letters.model_dump(mode="json"), ensure_ascii=False, indent=2) + "\n")


def database_fleet(limit: int, *, seed: int = 0) -> list[TerminalProfile]:
    """Up to ``limit`` terminals in service registered in POSOPS_DATABASE_URL (e.g. by ``posops demo load``).

    Empty when that database is unreachable, not migrated or has no terminals. Values the
    registry leaves blank come from :func:`profile_for_serial`.
    """
    url = get_settings().database_url
    try:
        db = Database(url)
        ensure_migrated(db.engine, url)
        rows = service.fleet_profiles(db, limit)
    except (NotMigrated, SQLAlchemyError, OSError):
        return []
    return [replace(profile_for_serial(row["sn"], seed=seed), **row) for row in rows]


def sim_fleet(
    terminals: Annotated[int, typer.Option(help="终端数量 / number of terminals")] = 300,
    mqtt: Annotated[str, typer.Option(help="MQTT 代理地址 / broker URL (mqtt:// or mqtts://)",
                                      envvar="POSOPS_MQTT_URL")] = "mqtt://127.0.0.1:1883",
    rate: Annotated[float, typer.Option(help="每秒心跳数,0 为不限速 / heartbeats per second, 0: unpaced")] = 20.0,
    count: Annotated[int | None, typer.Option(help="发送总数 / stop after this many heartbeats")] = None,
    duration: Annotated[float | None, typer.Option(help="运行秒数 / stop after this many seconds")] = None,
    outage_region: Annotated[str | None, typer.Option(
        help="注入运营商区域故障的地区 / region of a carrier outage")] = None,
    outage_carrier: Annotated[str, typer.Option(help="故障运营商 / carrier of the outage")] = CARRIERS[0],
    bad_app: Annotated[str | None, typer.Option(
        help="有缺陷的应用版本 VERSION 或 MODEL@VERSION / a bad app release")] = None,
    bad_app_share: Annotated[float, typer.Option(help="升级到缺陷版本的比例 / share that took it")] = 0.3,
    bad_version: Annotated[str | None, typer.Option(
        help=f"安装正常但令 {BAD_VERSION_SHARE:.0%} 终端签到失败的应用版本 / an app version that installs fine "
             f"but makes {BAD_VERSION_SHARE:.0%} of the terminals running it fail sign-in")] = None,
    broken_install: Annotated[str | None, typer.Option(
        help="在一个型号上安装失败的版本 VERSION 或 MODEL@VERSION / a version whose install fails "
             "(install_failed) on one model: the fleet's first catalogue model, or MODEL")] = None,
    upgrades: Annotated[bool, typer.Option(
        "--upgrades/--no-upgrades", help="接收升级推送并上报步骤 / take the upgrades posops pushes and report "
                                         "each step")] = True,
    serials_from: Annotated[Path | None, typer.Option(
        help="终端清单(每行一个序列号或CSV) / serials, one per line, or a terminals CSV",
        exists=True, dir_okay=False)] = None,
    from_db: Annotated[bool, typer.Option(
        "--from-db/--generate", help="使用数据库中登记的终端(若有) / the terminals registered in the database, "
                                     "when there are any; --generate makes up SIM… serials")] = True,
    fleet_out: Annotated[Path | None, typer.Option(help="导出模拟终端CSV / write the simulated fleet as CSV")] = None,
    seed: Annotated[int, typer.Option(help="随机种子 / random seed")] = 8583,
    topic_root: Annotated[str, typer.Option(help="主题前缀 / topic root", hidden=True)] = TOPIC_ROOT,
) -> None:
    """模拟终端群发送心跳 / Simulate a fleet of terminals publishing heartbeats over MQTT.

    The fleet is, in this order: the file given with --serials-from; the terminals registered in
    the database (POSOPS_DATABASE_URL, e.g. the demo fleet); made-up SIM… serials.
    """
    if serials_from:
        profiles, source = load_fleet(serials_from, seed=seed), str(serials_from)
    else:
        profiles, source = (database_fleet(terminals, seed=seed) if from_db else []), "database"
        if not profiles:
            profiles, source = generate_fleet(terminals, seed=seed), "generated"
    if fleet_out:
        write_fleet_csv(profiles, fleet_out)
    faults = Faults(outage_region=outage_region, outage_carrier=outage_carrier, bad_app=bad_app,
                    bad_app_share=bad_app_share, bad_version=bad_version,
                    broken_install=broken_install_on(broken_install, profiles) if broken_install else None)
    installer = Installer(faults)
    started = time.monotonic()
    with HeartbeatPublisher(parse_mqtt_url(mqtt), root=topic_root) as publisher:
        if upgrades:
            publisher.listen_for_offers()

        def report(sn: str, body: dict[str, object]) -> None:
            publisher.publish_report(sn, json.dumps({"reports": [body]}, ensure_ascii=False).encode())

        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends an open-ended run
            run_simulation(profiles, publisher.publish, rate=rate, faults=faults, count=count,
                           duration=duration, seed=seed, offers=publisher.offers if upgrades else None,
                           report=report if upgrades else None, installer=installer)
        publisher.flush(10)
    seconds = time.monotonic() - started
    heartbeats = publisher.published - publisher.reports
    typer.echo(json.dumps({"terminals": len(profiles), "source": source, "published": publisher.published,
                           "acknowledged": publisher.acknowledged, "heartbeats": heartbeats,
                           "reports": publisher.reports,
                           "installed": installer.installed, "install_failures": installer.failed,
                           "seconds": round(seconds, 2), "rate": round(heartbeats / seconds, 1) if seconds else 0.0}))
