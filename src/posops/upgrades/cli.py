"""`posops upgrades …`: packages, the compatibility matrix, minimum versions, campaigns and one run of the gate.

Commands that change something act as a named user (``--as``), so a campaign one user built
is approved by another, as on the console; reading commands look as the operator unless
``--as`` says otherwise. ``--json`` prints what the API would return.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from posops.core.auth import OPERATOR, Principal
from posops.core.cli import acting_as, fail, migrated_database, use_case_errors
from posops.core.config import get_settings
from posops.core.db import Database
from posops.core.documents import Upload
from posops.core.forms import validated
from posops.upgrades import service
from posops.upgrades.schemas import (
    CampaignIn,
    CampaignOut,
    CampaignStatus,
    CompatibilityIn,
    HaltIn,
    MinimumIn,
    PackageIn,
    PackageKind,
    PackageOut,
)

upgrades_app = typer.Typer(help="软件升级 / Software upgrades: packages, compatibility, campaigns, the health gate.",
                           no_args_is_help=True)
packages_app = typer.Typer(help="升级包 / Packages: register and list.", no_args_is_help=True)
compat_app = typer.Typer(help="兼容矩阵 / The compatibility matrix (model × firmware × app).", no_args_is_help=True)
minimums_app = typer.Typer(help="最低版本 / Minimum versions the acquirer requires.", no_args_is_help=True)
campaigns_app = typer.Typer(help="升级任务 / Campaigns: preview, create, approve, pause, resume, cancel, roll back.",
                            no_args_is_help=True)
gate_app = typer.Typer(help="健康闸门 / The health gate.", no_args_is_help=True)
upgrades_app.add_typer(packages_app, name="packages")
upgrades_app.add_typer(compat_app, name="compat")
upgrades_app.add_typer(minimums_app, name="minimums")
upgrades_app.add_typer(campaigns_app, name="campaigns")
upgrades_app.add_typer(gate_app, name="gate")
console = Console()

CONTENT_TYPES = {".apk": "application/vnd.android.package-archive", ".zip": "application/zip"}
"""The upload type of a package file by its extension; anything else is a firmware image (octet-stream)."""

ActAs = Annotated[str, typer.Option("--as", help="以该用户身份操作(其角色决定权限) / the user to act as "
                                                 "(their role decides what is allowed)")]
LookAs = Annotated[str, typer.Option("--as", help="以该用户身份查看 / the user to look as (default: the operator)")]
AsJson = Annotated[bool, typer.Option("--json", help="输出 JSON / print JSON")]
CampaignId = Annotated[int, typer.Argument(min=1, help="升级任务编号 / the campaign's id")]
Reason = Annotated[str, typer.Option(help="原因(记入审计日志) / why, for the audit log")]


def _viewer(db: Database, as_user: str) -> Principal:
    return acting_as(db, as_user) if as_user else OPERATOR


def _print_json(value: BaseModel | list[Any] | dict[str, Any]) -> None:
    if isinstance(value, BaseModel):
        text = value.model_dump_json(indent=2)
    else:
        text = json.dumps([v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value]
                          if isinstance(value, list) else value, ensure_ascii=False, indent=2)
    sys.stdout.write(text + "\n")


def _local(moment: datetime | None) -> str:
    """A stored instant in the console's time zone (POSOPS_TIMEZONE), or '—'."""
    if moment is None:
        return "—"
    return moment.astimezone(ZoneInfo(get_settings().timezone)).strftime("%Y-%m-%d %H:%M")


# packages ------------------------------------------------------------------------------------------


@packages_app.command("add")
def packages_add(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help="升级包文件(APK、ZIP 或固件镜像) / the package file (APK, ZIP, image)")],
    model: Annotated[str, typer.Option(help="终端型号 / terminal model, e.g. 'PAX A920'")],
    version: Annotated[str, typer.Option(help="版本号 / the version it installs")],
    as_user: ActAs,
    kind: Annotated[PackageKind, typer.Option(help="应用或固件 / app or firmware")] = PackageKind.APP,
    sha256: Annotated[str | None, typer.Option(
        help="发布的 SHA-256;给出则校验文件,不给则计算并显示 / the published SHA-256: checked against the file; "
             "without it, computed and printed")] = None,
    notes_zh: Annotated[str, typer.Option(help="中文发布说明 / release notes in Chinese")] = "",
    notes_en: Annotated[str, typer.Option(help="英文发布说明 / release notes in English")] = "",
    as_json: AsJson = False,
) -> None:
    """登记升级包 / Register a package: its file is hashed, checked against --sha256 when given, and stored."""
    limit = service.PACKAGE_RULES.max_bytes
    with file.open("rb") as handle:
        content = handle.read(limit + 1)
    if len(content) > limit:
        raise fail(f"{file.name} is larger than the package limit of {limit // (1024 * 1024)} MiB")
    computed = hashlib.sha256(content).hexdigest()
    db = migrated_database()
    with use_case_errors():
        principal = acting_as(db, as_user)
        data = validated(PackageIn, {"kind": kind, "model": model, "version": version,
                                     "sha256": sha256 if sha256 is not None else computed,
                                     "size_bytes": len(content), "notes_zh": notes_zh, "notes_en": notes_en})
        upload = Upload(file.name, CONTENT_TYPES.get(file.suffix.lower(), "application/octet-stream"), content)
        package = service.register_package(db, principal, data, upload, var_dir=get_settings().var_dir)
    if as_json:
        _print_json(package)
        return
    checked = "verified against the given SHA-256" if sha256 is not None else "computed"
    console.print(f"registered package #{package.id}: {package.model} {package.kind} {package.version}, "
                  f"{package.size_bytes} bytes", highlight=False)
    console.print(f"sha256 {package.sha256} ({checked})", highlight=False)


def _packages_table(packages: list[PackageOut]) -> Table:
    table = Table("#", "model", "kind", "version", "bytes", "sha256", "registered")
    for p in packages:
        table.add_row(str(p.id), p.model, p.kind, p.version, str(p.size_bytes), p.sha256[:12] + "…",
                      f"{_local(p.created_at)} {p.created_by}")
    return table


@packages_app.command("list")
def packages_list(model: Annotated[str | None, typer.Option(help="只看该型号 / only this model")] = None,
                  kind: Annotated[PackageKind | None,
                                  typer.Option(help="只看应用或固件 / only app or firmware")] = None,
                  as_user: LookAs = "", as_json: AsJson = False) -> None:
    """列出升级包 / List packages, newest version first within each model."""
    db = migrated_database()
    with use_case_errors():
        packages = service.list_packages(db, _viewer(db, as_user), model=model, kind=kind)
    if as_json:
        _print_json(packages)
        return
    console.print(_packages_table(packages))
    console.print(f"{len(packages)} package(s)")


# compatibility and minimums ------------------------------------------------------------------------


@compat_app.command("set")
def compat_set(model: Annotated[str, typer.Argument(help="终端型号 / terminal model")],
               firmware: Annotated[str, typer.Argument(help="固件版本 / firmware version")],
               app: Annotated[str, typer.Argument(help="应用版本 / app version")],
               compatible: Annotated[bool, typer.Option("--yes/--no", help="兼容与否 / whether it runs")],
               as_user: ActAs,
               note: Annotated[str, typer.Option(help="备注 / a note")] = "") -> None:
    """设置兼容矩阵的一格 / Say whether an app version runs on a model with a firmware."""
    db = migrated_database()
    with use_case_errors():
        principal = acting_as(db, as_user)
        cell = service.set_compatibility(db, principal, validated(CompatibilityIn, {
            "model": model, "firmware": firmware, "app": app, "compatible": compatible, "note": note}))
    verdict = "runs" if cell.compatible else "does not run"
    console.print(f"app {cell.app} {verdict} on {cell.model} with firmware {cell.firmware}", highlight=False)


@compat_app.command("list")
def compat_list(model: Annotated[str | None, typer.Option(help="只看该型号 / only this model")] = None,
                as_user: LookAs = "", as_json: AsJson = False) -> None:
    """查看兼容矩阵 / Show the compatibility matrix."""
    db = migrated_database()
    with use_case_errors():
        cells = service.compatibility_matrix(db, _viewer(db, as_user), model=model)
    if as_json:
        _print_json(cells)
        return
    table = Table("model", "firmware", "app", "compatible", "note")
    for c in cells:
        table.add_row(c.model, c.firmware, c.app, "yes" if c.compatible else "NO", c.note)
    console.print(table)
    console.print(f"{len(cells)} cell(s); a cell not listed is not known to be incompatible")


@minimums_app.command("set")
def minimums_set(model: Annotated[str, typer.Argument(help="终端型号 / terminal model")],
                 version: Annotated[str, typer.Argument(help="最低版本 / the lowest version accepted")],
                 as_user: ActAs,
                 kind: Annotated[PackageKind, typer.Option(help="应用或固件 / app or firmware")] = PackageKind.APP,
                 acquirer: Annotated[str, typer.Option(help="要求该版本的收单机构 / the acquirer requiring it")] = ""
                 ) -> None:
    """设置最低版本 / Record the lowest version the acquirer accepts on a model."""
    db = migrated_database()
    with use_case_errors():
        principal = acting_as(db, as_user)
        row = service.set_minimum(db, principal, validated(MinimumIn, {
            "model": model, "kind": kind, "version": version, "acquirer": acquirer}))
    by = f" (required by {row.acquirer})" if row.acquirer else ""
    console.print(f"minimum {row.kind} version on {row.model}: {row.version}{by}", highlight=False)


@minimums_app.command("list")
def minimums_list(as_user: LookAs = "", as_json: AsJson = False) -> None:
    """查看最低版本 / Show the minimum versions."""
    db = migrated_database()
    with use_case_errors():
        rows = service.list_minimums(db, _viewer(db, as_user))
    if as_json:
        _print_json(rows)
        return
    table = Table("model", "kind", "minimum", "acquirer", "updated")
    for r in rows:
        table.add_row(r.model, r.kind, r.version, r.acquirer or "—", _local(r.updated_at))
    console.print(table)


# campaigns ---------------------------------------------------------------------------------------------

PackageId = Annotated[int, typer.Option("--package", min=1, help="升级包编号 / the package's id")]
Name = Annotated[str, typer.Option(help="任务名称 / the campaign's name")]
Regions = Annotated[list[str] | None, typer.Option("--region", help="只升级该地区 / only this region; repeat")]
Merchants = Annotated[list[int] | None, typer.Option("--merchant",
                                                    help="只升级该商户(编号) / only this merchant id; repeat")]
Versions = Annotated[list[str] | None, typer.Option("--current-version",
                                             help="只升级当前为该版本的终端 / only terminals now on this version; "
                                                  "repeat")]
Tags = Annotated[list[str] | None, typer.Option("--tag",
                                                help="只升级带该标签的终端 / only terminals with this tag; repeat")]
Waves = Annotated[str, typer.Option(help="各批次累计比例 / cumulative share of each wave, e.g. 1,10,50,100")]
Soak = Annotated[int, typer.Option(min=0, help="每批次最短观察分钟数 / minimum soak of each wave, minutes")]
Window = Annotated[str, typer.Option(help="商户当地时间的维护时段,none 为不限 / the maintenance window in each "
                                          "merchant's time, HH:MM-HH:MM, or none")]
WifiOnly = Annotated[bool, typer.Option("--wifi-only", help="仅在 Wi-Fi 下载 / download on Wi-Fi only")]
Force = Annotated[bool, typer.Option("--force", help="强制安装 / install without asking the cashier")]
Moment = Annotated[str | None, typer.Option(help="ISO 8601 时间,无时区则按 POSOPS_TIMEZONE / ISO 8601; without an "
                                                 "offset, in POSOPS_TIMEZONE")]


def _moment(text: str | None, option: str) -> datetime | None:
    if text is None or not text.strip():
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise fail(f"{option} must be an ISO 8601 date and time, e.g. 2026-03-01T01:00+08:00") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=ZoneInfo(get_settings().timezone))


def _waves(text: str, soak_minutes: int) -> list[dict[str, int]]:
    try:
        percents = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise fail(f"--waves must be whole percentages separated by commas, e.g. 1,10,50,100 (got {text!r})") \
            from None
    return [{"percent": p, "soak_minutes": soak_minutes} for p in percents]


def _window(text: str) -> tuple[str | None, str | None]:
    if text.strip().lower() in ("", "none", "-"):
        return None, None
    start, sep, end = text.strip().partition("-")
    if not sep:
        raise fail(f"--window must be HH:MM-HH:MM (e.g. 01:00-05:00) or none (got {text!r})")
    return start.strip(), end.strip()


def _campaign_in(package_id: int, name: str, *, regions: list[str] | None, merchants: list[int] | None,
                 versions: list[str] | None, tags: list[str] | None, waves: str, soak_minutes: int, window: str,
                 wifi_only: bool, force: bool, starts_at: str | None, expires_at: str | None) -> CampaignIn:
    """The campaign the options of ``preview`` and ``create`` describe (refused with exit 2 when they do not add up)."""
    start, end = _window(window)
    return validated(CampaignIn, {
        "name": name, "package_id": package_id,
        "filter": {"regions": regions or [], "merchant_ids": merchants or [], "current_versions": versions or [],
                   "tags": tags or []},
        "waves": _waves(waves, soak_minutes), "window_start": start, "window_end": end, "wifi_only": wifi_only,
        "force": force, "starts_at": _moment(starts_at, "--starts-at"),
        "expires_at": _moment(expires_at, "--expires-at")})


@campaigns_app.command("preview")
def campaigns_preview(package_id: PackageId, name: Name, as_user: ActAs,
                      region: Regions = None, merchant: Merchants = None, current_version: Versions = None,
                      tag: Tags = None,
                      waves: Waves = "1,10,50,100", soak_minutes: Soak = 240, window: Window = "01:00-05:00",
                      wifi_only: WifiOnly = False, force: Force = False, starts_at: Moment = None,
                      expires_at: Moment = None, as_json: AsJson = False) -> None:
    """预览升级任务 / Preview a campaign: its targets wave by wave and the terminals left out (changes nothing)."""
    db = migrated_database()
    with use_case_errors():
        principal = acting_as(db, as_user)
        data = _campaign_in(package_id, name, regions=region, merchants=merchant, versions=current_version, tags=tag,
                            waves=waves, soak_minutes=soak_minutes, window=window, wifi_only=wifi_only, force=force,
                            starts_at=starts_at, expires_at=expires_at)
        preview = service.preview_campaign(db, principal, data)
    if as_json:
        _print_json(preview)
        return
    package = preview.package
    console.print(f"{package.model} {package.kind} {package.version}: {preview.matched} terminal(s) match, "
                  f"{preview.targets} to upgrade", highlight=False)
    if preview.excluded:
        console.print("left out: " + ", ".join(f"{n} {reason.replace('_', ' ')}"
                                               for reason, n in sorted(preview.excluded.items())), highlight=False)
    table = Table("wave", "reaches", "soak", "terminals", "sample")
    for wave in preview.waves:
        table.add_row(str(wave.index + 1), f"{wave.percent} %", f"{wave.soak_minutes} min", str(wave.terminals),
                      ", ".join(wave.sample))
    console.print(table)


@campaigns_app.command("create")
def campaigns_create(package_id: PackageId, name: Name, as_user: ActAs,
                     region: Regions = None, merchant: Merchants = None, current_version: Versions = None,
                     tag: Tags = None,
                     waves: Waves = "1,10,50,100", soak_minutes: Soak = 240, window: Window = "01:00-05:00",
                     wifi_only: WifiOnly = False, force: Force = False, starts_at: Moment = None,
                     expires_at: Moment = None, as_json: AsJson = False) -> None:
    """创建升级任务 / Build a campaign (the same options as preview); it waits for a second person's approval."""
    db = migrated_database()
    with use_case_errors():
        principal = acting_as(db, as_user)
        data = _campaign_in(package_id, name, regions=region, merchants=merchant, versions=current_version, tags=tag,
                            waves=waves, soak_minutes=soak_minutes, window=window, wifi_only=wifi_only, force=force,
                            starts_at=starts_at, expires_at=expires_at)
        campaign = service.create_campaign(db, principal, data)
    if as_json:
        _print_json(campaign)
        return
    console.print(f"campaign #{campaign.id} {campaign.name!r}: {campaign.targets} terminal(s) in "
                  f"{len(campaign.waves)} wave(s), {campaign.status.value.replace('_', ' ')}", highlight=False)
    console.print(f"another desk user approves it: posops upgrades campaigns approve {campaign.id} --as USER",
                  highlight=False)


@campaigns_app.command("list")
def campaigns_list(status: Annotated[CampaignStatus | None, typer.Option(help="只看该状态 / only this status")] = None,
                   limit: Annotated[int, typer.Option(min=1, max=200, help="显示条数 / how many to show")] = 50,
                   as_user: LookAs = "", as_json: AsJson = False) -> None:
    """列出升级任务 / List campaigns, newest first, with their install counts."""
    db = migrated_database()
    with use_case_errors():
        page = service.list_campaigns(db, _viewer(db, as_user), status=status, per_page=limit)
    if as_json:
        _print_json(page)
        return
    table = Table("#", "name", "status", "model", "version", "wave", "installed", "failed")
    for c in page.items:
        table.add_row(str(c.id), c.name, c.status.value, c.model, c.version, f"{c.current_wave + 1}/{c.waves}",
                      f"{c.installed}/{c.targets}", str(c.failed))
    console.print(table)
    console.print(f"{page.total} campaign(s)")


def _show(campaign: CampaignOut) -> None:
    package = campaign.package
    console.print(f"campaign #{campaign.id} {campaign.name!r}: {campaign.status.value.replace('_', ' ')}",
                  highlight=False)
    window = (f"{campaign.window_start}-{campaign.window_end}" if campaign.window_start
              else "any time the shop is closed")
    options = ", ".join(o for o, on in (("wifi only", campaign.wifi_only), ("forced", campaign.force)) if on)
    console.print(f"package #{package.id}: {package.model} {package.kind} {package.version}; "
                  f"{campaign.targets} target(s); window {window}" + (f"; {options}" if options else ""),
                  highlight=False)
    console.print(f"created by {campaign.created_by}; approved by {campaign.approved_by or '—'} "
                  f"{_local(campaign.approved_at)}; started {_local(campaign.started_at)}; "
                  f"ended {_local(campaign.ended_at)}", highlight=False)
    for wave in campaign.waves:
        states = ", ".join(f"{n} {state}" for state, n in sorted(wave.states.items())) or "none"
        live = campaign.status in (CampaignStatus.RUNNING, CampaignStatus.PAUSED)
        current = " (open)" if live and wave.opened and wave.index == campaign.current_wave else ""
        line = f"wave {wave.index + 1}{current}, {wave.percent} %, soak {wave.soak_minutes} min: {states}"
        if wave.verdict is not None:
            line += f"; gate: {wave.verdict.value} at {_local(wave.checked_at)}"
        health = [s for s in wave.signals if s.signal != "install_failure"]
        worst = max(health, key=lambda s: s.treated_rate - s.control_rate, default=None)
        if worst is not None:
            line += (f"; worst {worst.signal.value} {worst.treated_rate:.1%} upgraded / {worst.control_rate:.1%} "
                     "control" + (" REGRESSED" if worst.regressed else ""))
        console.print(line, highlight=False)
    if campaign.halted_on:
        detail = campaign.halt_detail or {}
        rates = (f": {detail['treated_rate']:.1%} against {detail['control_rate']:.1%} in control"
                 if detail.get("treated_rate") is not None and detail.get("control_rate") is not None else "")
        console.print(f"halted on {campaign.halted_on}{rates}; incident #{campaign.incident_id or '—'}",
                      style="bold red", highlight=False)
    if campaign.rollback_of:
        console.print(f"rolls back campaign #{campaign.rollback_of}", highlight=False)
    if campaign.rollback_campaign_id:
        console.print(f"rolled back by campaign #{campaign.rollback_campaign_id}", highlight=False)
    console.print("may: " + (", ".join(campaign.actions) or "-"))


@campaigns_app.command("show")
def campaigns_show(campaign_id: CampaignId, as_user: LookAs = "", as_json: AsJson = False) -> None:
    """查看升级任务 / Show a campaign: each wave's installs, failures and health against control."""
    db = migrated_database()
    with use_case_errors():
        campaign = service.get_campaign(db, _viewer(db, as_user), campaign_id)
    if as_json:
        _print_json(campaign)
        return
    _show(campaign)


def _moved(campaign: CampaignOut, verb: str) -> None:
    console.print(f"campaign #{campaign.id} {verb}: {campaign.status.value.replace('_', ' ')}", highlight=False)


@campaigns_app.command("approve")
def campaigns_approve(campaign_id: CampaignId, as_user: ActAs) -> None:
    """审批升级任务 / Approve a campaign (not its creator); it starts at its start time, or now."""
    db = migrated_database()
    with use_case_errors():
        campaign = service.approve_campaign(db, acting_as(db, as_user), campaign_id)
    _moved(campaign, f"approved by {campaign.approved_by}")


def _move_with_reason(move: Callable[[Database, Principal, int, HaltIn], CampaignOut], campaign_id: int,
                      reason: str, as_user: str, done: str) -> None:
    """Pause, resume or cancel a campaign as ``as_user`` with the reason given, and say what became of it."""
    db = migrated_database()
    with use_case_errors():
        campaign = move(db, acting_as(db, as_user), campaign_id, validated(HaltIn, {"reason": reason}))
    _moved(campaign, done)


@campaigns_app.command("pause")
def campaigns_pause(campaign_id: CampaignId, reason: Reason, as_user: ActAs) -> None:
    """暂停升级任务 / Pause a running campaign: no new offers until it is resumed."""
    _move_with_reason(service.pause_campaign, campaign_id, reason, as_user, "paused")


@campaigns_app.command("resume")
def campaigns_resume(campaign_id: CampaignId, reason: Reason, as_user: ActAs) -> None:
    """恢复升级任务 / Resume a paused campaign; its wave's soak starts again."""
    _move_with_reason(service.resume_campaign, campaign_id, reason, as_user, "resumed")


@campaigns_app.command("cancel")
def campaigns_cancel(campaign_id: CampaignId, reason: Reason, as_user: ActAs) -> None:
    """取消升级任务 / Cancel a campaign that has not ended; terminals not yet upgraded are no longer offered it."""
    _move_with_reason(service.cancel_campaign, campaign_id, reason, as_user, "cancelled")


@campaigns_app.command("rollback")
def campaigns_rollback(campaign_id: CampaignId, as_user: ActAs, as_json: AsJson = False) -> None:
    """回退 / Roll a halted campaign's terminals back to the version they ran: a one-wave campaign, started now."""
    db = migrated_database()
    with use_case_errors():
        rollback = service.rollback_campaign(db, acting_as(db, as_user), campaign_id)
    if as_json:
        _print_json(rollback)
        return
    console.print(f"campaign #{rollback.id} rolls {rollback.targets} terminal(s) of campaign #{campaign_id} back to "
                  f"{rollback.package.version}: {rollback.status.value}", highlight=False)


# the gate ------------------------------------------------------------------------------------------------


@gate_app.command("run")
def gate_run(as_json: AsJson = False) -> None:
    """运行一次健康闸门 / Run the health gate once: start due campaigns, judge open waves, advance, halt, expire."""
    db = migrated_database()
    with use_case_errors():
        run = service.run_gate(db)
    done = {"started": run.started, "advanced": run.advanced, "halted": run.halted, "completed": run.completed,
            "expired": run.expired}
    if as_json:
        _print_json(done)
        return
    said = [f"{what} {', '.join(f'#{i}' for i in ids)}" for what, ids in done.items() if ids]
    console.print("gate: " + ("; ".join(said) if said else "nothing to do"), highlight=False)
