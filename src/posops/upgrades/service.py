"""Use cases of software upgrades: packages, the compatibility matrix, campaigns, the terminal's side, the gate.

The rules live in the pure modules (``waves`` splits targets and keeps installs out of opening
hours, ``steps`` moves a terminal's install on each report, ``gate`` judges a wave against its
control cohort); this module joins them with storage. Each use case is one transaction with
its audit entries. A campaign is locked (``FOR UPDATE``) before it moves, so an approval and a
cancellation at once leave one of them and a 409 for the other.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from posops.core import audit
from posops.core import documents as storage
from posops.core.audit import AuditEntity
from posops.core.auth import Principal, Role, require_role
from posops.core.db import Database, conflict_on_duplicate, insert_for, utcnow
from posops.core.documents import DocumentOut, Upload, UploadRules
from posops.core.errors import Conflict, Forbidden, Invalid, NotFound
from posops.core.labels import Label, catalog_sentence
from posops.core.maker_checker import Maker, require_second_person, same_person
from posops.core.paging import Page, check_page, paginate
from posops.core.versions import is_version, version_key
from posops.iso8583.models import TerminalTrafficRecord
from posops.telemetry import service as telemetry
from posops.telemetry.models import HeartbeatRecord, TelemetrySnapshot
from posops.telemetry.service import Sender
from posops.terminals import notices
from posops.terminals import service as terminals
from posops.terminals.lifecycle import TerminalStatus
from posops.terminals.models import Merchant, Terminal
from posops.upgrades import gate
from posops.upgrades.gate import Cohort, GateDecision, GatePolicy, Signal, Verdict, WaveObservation
from posops.upgrades.health import ALIVE_BEFORE, CohortTally, read_heartbeat, read_traffic
from posops.upgrades.models import Campaign, Compatibility, MinimumVersion, Package, Report, Target, WaveCheck
from posops.upgrades.schemas import (
    LIVE_STATUSES,
    CampaignIn,
    CampaignLine,
    CampaignOut,
    CampaignStatus,
    CompatibilityIn,
    CompatibilityOut,
    HaltIn,
    MinimumIn,
    MinimumOut,
    NextOut,
    PackageIn,
    PackageKind,
    PackageOut,
    PreviewOut,
    ReportResult,
    ReportsIn,
    ReportsOut,
    SignalOut,
    TargetFilter,
    WaveOut,
    WavePreview,
)
from posops.upgrades.steps import FINAL, FailureCode, Step, TargetState, after_report
from posops.upgrades.waves import MaintenanceWindow, OpeningHours, assign_waves, may_install, next_opening

DESK = (Role.AGENT, Role.ADMIN)
READERS = (Role.AGENT, Role.ADMIN, Role.RISK, Role.TECHNICIAN)
OWNER = AuditEntity.UPGRADE_CAMPAIGN
GATE = Principal(user_id=None, username="upgrade-gate", role=Role.SYSTEM)
PACKAGE_RULES = UploadRules(
    extensions={"application/vnd.android.package-archive": (".apk",), "application/zip": (".zip",),
                "application/octet-stream": (".bin", ".img", ".pkg", ".zip", ".apk")},
    max_bytes=20 * 1024 * 1024)
"""App (APK, ZIP) and firmware images (BIN, IMG, PKG) up to the upload limit."""
SAMPLE_SERIALS = 5
CONTROL_LIMIT = 2000
"""Control terminals judged per check: enough for the test, bounded for a fleet of millions."""


# packages --------------------------------------------------------------------------------------


def _package_out(package: Package) -> PackageOut:
    return PackageOut(id=package.id, kind=PackageKind(package.kind), model=package.model, version=package.version,
                      sha256=package.sha256, size_bytes=package.size_bytes, notes_zh=package.notes_zh,
                      notes_en=package.notes_en, has_file=package.document_id is not None,
                      created_by=package.created_by, created_at=package.created_at)


def register_package(db: Database, principal: Principal, data: PackageIn, upload: Upload, *,
                     var_dir: Path) -> PackageOut:
    """Register a package with its file; the file must hash to the published SHA-256 and be the stated size."""
    require_role(principal, *DESK)
    if not is_version(data.version):
        raise Invalid("version", key="upgrades.error.not_a_version", version=data.version)
    filename = storage.display_name(upload.filename)
    problem = storage.check_upload(filename, upload.content_type, len(upload.content), upload.content[:16],
                                   rules=PACKAGE_RULES)
    if problem is not None:
        raise Invalid("file", Label(problem.zh, problem.en))
    saved = storage.save(var_dir, "packages", upload.content, Path(filename).suffix)
    if saved.sha256 != data.sha256.lower():
        (var_dir / saved.path).unlink(missing_ok=True)
        raise Invalid("sha256", key="upgrades.error.checksum_mismatch", got=saved.sha256)
    if saved.size != data.size_bytes:
        (var_dir / saved.path).unlink(missing_ok=True)
        raise Invalid("size_bytes", key="upgrades.error.size_mismatch", got=saved.size)
    with storage.kept_only_if_committed(var_dir, saved), db.transaction() as session:
        package = Package(kind=data.kind, model=data.model, version=data.version, sha256=saved.sha256,
                          size_bytes=saved.size, notes_zh=data.notes_zh, notes_en=data.notes_en,
                          created_by=principal.username)
        session.add(package)
        with conflict_on_duplicate(key="upgrades.error.package_exists", version=data.version, model=data.model):
            session.flush()
        document = storage.record(session, principal, AuditEntity.UPGRADE_PACKAGE, package.id, data.kind,
                                  filename, upload.content_type, saved)
        package.document_id = document.id
        audit.record(session, principal, AuditEntity.UPGRADE_PACKAGE, package.id, "register",
                     after={"kind": package.kind, "model": package.model, "version": package.version,
                            "sha256": package.sha256, "size_bytes": package.size_bytes})
        session.flush()
        return _package_out(package)


def list_packages(db: Database, principal: Principal, *, model: str | None = None,
                  kind: PackageKind | None = None) -> list[PackageOut]:
    """Packages, newest version first within each model."""
    require_role(principal, *READERS)
    with db.transaction() as session:
        query = select(Package)
        if model:
            query = query.where(Package.model == model)
        if kind:
            query = query.where(Package.kind == kind)
        rows = list(session.scalars(query))
    rows.sort(key=lambda p: (p.model, p.kind, _version_order(p.version)), reverse=True)
    return [_package_out(p) for p in rows]


def _version_order(version: str) -> Any:
    return version_key(version) if is_version(version) else ()


def get_package(db: Database, principal: Principal, package_id: int) -> PackageOut:
    """One package."""
    require_role(principal, *READERS)
    with db.transaction() as session:
        return _package_out(_load_package(session, package_id))


def _load_package(session: Session, package_id: int) -> Package:
    package = session.get(Package, package_id)
    if package is None:
        raise NotFound(key="upgrades.error.package_not_found")
    return package


def package_file(db: Database, package_id: int, *, principal: Principal | None = None,
                 sender: Sender | None = None) -> tuple[str, DocumentOut]:
    """The stored file of a package: for the desk, or for a terminal a campaign offers it to."""
    with db.transaction() as session:
        package = _load_package(session, package_id)
        if sender is not None and sender.terminal_id is not None:
            offered = session.scalar(
                select(Target.campaign_id).join(Campaign, Campaign.id == Target.campaign_id)
                .where(Target.terminal_id == sender.terminal_id, Campaign.package_id == package_id,
                       Target.state.not_in([TargetState.PENDING, TargetState.CANCELLED])))
            if offered is None:
                raise NotFound(key="upgrades.error.package_not_found")
        else:
            require_role(principal or GATE, *DESK)
        if package.document_id is None:
            raise NotFound(key="upgrades.error.no_file")
        document = storage.owned(session, AuditEntity.UPGRADE_PACKAGE, package.id, package.document_id)
        return document.path, DocumentOut.model_validate(document)


# compatibility and minimums ----------------------------------------------------------------------


def set_compatibility(db: Database, principal: Principal, data: CompatibilityIn) -> CompatibilityOut:
    """Say whether an app version runs on a model with a firmware (one cell of the matrix), audited."""
    require_role(principal, *DESK)
    with db.transaction() as session:
        cell = session.get(Compatibility, (data.model, data.firmware, data.app), with_for_update=True)
        before = None if cell is None else {"compatible": cell.compatible, "note": cell.note}
        if cell is None:
            cell = Compatibility(model=data.model, firmware=data.firmware, app=data.app)
            session.add(cell)
        cell.compatible, cell.note = data.compatible, data.note
        audit.record(session, principal, AuditEntity.COMPATIBILITY, f"{data.model}/{data.firmware}/{data.app}",
                     "set", before=before, after={"compatible": data.compatible, "note": data.note})
        session.flush()
        return CompatibilityOut.model_validate(cell, from_attributes=True)


def compatibility_matrix(db: Database, principal: Principal, *, model: str | None = None) -> list[CompatibilityOut]:
    """The compatibility matrix, model by model."""
    require_role(principal, *READERS)
    with db.transaction() as session:
        query = select(Compatibility).order_by(Compatibility.model, Compatibility.firmware, Compatibility.app)
        if model:
            query = query.where(Compatibility.model == model)
        return [CompatibilityOut.model_validate(c, from_attributes=True) for c in session.scalars(query)]


def set_minimum(db: Database, principal: Principal, data: MinimumIn) -> MinimumOut:
    """Record the lowest version the acquirer accepts on a model, audited."""
    require_role(principal, *DESK)
    with db.transaction() as session:
        row = session.get(MinimumVersion, (data.model, data.kind.value), with_for_update=True)
        before = None if row is None else {"version": row.version, "acquirer": row.acquirer}
        if row is None:
            row = MinimumVersion(model=data.model, kind=data.kind.value)
            session.add(row)
        row.version, row.acquirer, row.updated_at = data.version, data.acquirer, utcnow()
        audit.record(session, principal, AuditEntity.COMPATIBILITY, f"{data.model}/{data.kind.value}/minimum",
                     "set_minimum", before=before, after={"version": data.version, "acquirer": data.acquirer})
        session.flush()
        return MinimumOut.model_validate(row, from_attributes=True)


def list_minimums(db: Database, principal: Principal) -> list[MinimumOut]:
    """The acquirer's minimum versions."""
    require_role(principal, *READERS)
    with db.transaction() as session:
        rows = session.scalars(select(MinimumVersion).order_by(MinimumVersion.model, MinimumVersion.kind))
        return [MinimumOut.model_validate(r, from_attributes=True) for r in rows]


# targets and the preview ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    terminal_id: int
    serial_number: str
    firmware: str
    app: str
    status: str
    tags: tuple[str, ...]


def _candidates(session: Session, package: Package, wanted: TargetFilter) -> list[_Candidate]:
    query = (select(Terminal.id, Terminal.serial_number, Terminal.firmware_version,
             Terminal.app_version, Terminal.status, Terminal.tags, Terminal.region)
             .where(Terminal.model == package.model).order_by(Terminal.id))
    if wanted.regions:
        query = query.where(Terminal.region.in_(wanted.regions))
    if wanted.merchant_ids:
        query = query.where(Terminal.merchant_id.in_(wanted.merchant_ids))
    column = Terminal.firmware_version if package.kind == PackageKind.FIRMWARE else Terminal.app_version
    if wanted.current_versions:
        query = query.where(column.in_(wanted.current_versions))
    found = []
    for row in session.execute(query):
        tags = tuple(row.tags or ())
        if wanted.tags and not set(wanted.tags) <= set(tags):
            continue
        found.append(_Candidate(row.id, row.serial_number, row.firmware_version, row.app_version, row.status, tags))
    return found


def _compatible_cells(session: Session, model: str) -> dict[tuple[str, str], bool]:
    return {(c.firmware, c.app): c.compatible
            for c in session.scalars(select(Compatibility).where(Compatibility.model == model))}


def _split(session: Session, package: Package, wanted: TargetFilter) -> tuple[list[_Candidate], Counter[str], int]:
    """The targets of a campaign, the terminals left out by reason, and how many the filter matched."""
    matched = _candidates(session, package, wanted)
    cells = _compatible_cells(session, package.model)
    targets, excluded = [], Counter[str]()
    for candidate in matched:
        current = candidate.firmware if package.kind == PackageKind.FIRMWARE else candidate.app
        if candidate.status not in (TerminalStatus.ACTIVE, TerminalStatus.SUSPENDED):
            excluded["not_active"] += 1
        elif current == package.version:
            excluded["already_on_version"] += 1
        elif _incompatible(package, candidate, cells):
            excluded["incompatible"] += 1
        else:
            targets.append(candidate)
    return targets, excluded, len(matched)


def _incompatible(package: Package, candidate: _Candidate, cells: dict[tuple[str, str], bool]) -> bool:
    """Whether the matrix says the package does not run on the terminal (an unknown cell is not a no)."""
    if package.kind == PackageKind.APP:
        return cells.get((candidate.firmware, package.version)) is False
    return cells.get((package.version, candidate.app)) is False


def _waves_of(data: CampaignIn | Campaign) -> list[tuple[int, int]]:
    if isinstance(data, CampaignIn):
        return [(w.percent, w.soak_minutes) for w in data.waves]
    return [(int(w["percent"]), int(w["soak_minutes"])) for w in data.waves]


def preview_campaign(db: Database, principal: Principal, data: CampaignIn) -> PreviewOut:
    """What a campaign would do: its targets wave by wave (the same split it then runs), and who is left out."""
    require_role(principal, *DESK)
    with db.transaction() as session:
        package = _load_package(session, data.package_id)
        targets, excluded, matched = _split(session, package, data.filter)
        waves = _plan(campaign_key(package.id, data.name), package.model, targets, _waves_of(data))
        return PreviewOut(package=_package_out(package), matched=matched, targets=len(targets),
                          excluded=dict(excluded), waves=waves)


def _plan(key: str, model: str, targets: Sequence[_Candidate], waves: Sequence[tuple[int, int]]) -> list[WavePreview]:
    by_serial = {t.serial_number: t for t in targets}
    assigned = assign_waves(key, list(by_serial), [p for p, _ in waves])
    members: dict[int, list[str]] = defaultdict(list)
    for sn, index in assigned.items():
        members[index].append(sn)
    return [WavePreview(index=i, percent=p, soak_minutes=s, terminals=len(members[i]),
                        by_model={model: len(members[i])} if members[i] else {},
                        sample=sorted(members[i])[:SAMPLE_SERIALS])
            for i, (p, s) in enumerate(waves)]


def campaign_key(package_id: int, name: str) -> str:
    """The key a campaign's wave split hashes with, so that its preview shows the waves it then runs."""
    return f"{package_id}:{name}"


# campaigns ---------------------------------------------------------------------------------------


def create_campaign(db: Database, principal: Principal, data: CampaignIn) -> CampaignOut:
    """Build a campaign: its targets are fixed now, wave by wave; it waits for a second person's approval."""
    require_role(principal, *DESK)
    with db.transaction() as session:
        package = _load_package(session, data.package_id)
        targets, excluded, _ = _split(session, package, data.filter)
        if not targets:
            raise Invalid("filter", key="upgrades.error.no_targets")
        campaign = Campaign(name=data.name, package_id=package.id, status=CampaignStatus.AWAITING_APPROVAL,
                            filters=data.filter.model_dump(mode="json"),
                            waves=[{"percent": p, "soak_minutes": s} for p, s in _waves_of(data)],
                            window_start=data.window_start, window_end=data.window_end, wifi_only=data.wifi_only,
                            force=data.force, starts_at=data.starts_at, expires_at=data.expires_at,
                            created_by=principal.username, created_by_user_id=principal.user_id)
        session.add(campaign)
        session.flush()
        _add_targets(session, campaign, package, targets)
        audit.record(session, principal, OWNER, campaign.id, "create",
                     after={"status": campaign.status, "package_id": package.id, "version": package.version,
                            "targets": len(targets), "excluded": dict(excluded), "waves": campaign.waves})
        return _campaign_out(session, principal, campaign)


def _add_targets(session: Session, campaign: Campaign, package: Package, targets: Sequence[_Candidate]) -> None:
    assigned = assign_waves(campaign_key(campaign.package_id, campaign.name), [t.serial_number for t in targets],
                            [p for p, _ in _waves_of(campaign)])
    now = utcnow()
    rows = [{"campaign_id": campaign.id, "terminal_id": t.terminal_id, "wave": assigned[t.serial_number],
             "model": package.model, "state": TargetState.PENDING, "attempts": 0, "updated_at": now,
             "from_version": t.firmware if package.kind == PackageKind.FIRMWARE else t.app} for t in targets]
    if rows:
        session.execute(insert_for(session, Target), rows)


def _lock(session: Session, campaign_id: int) -> Campaign:
    campaign = session.scalar(select(Campaign).where(Campaign.id == campaign_id).with_for_update()
                              .execution_options(populate_existing=True))
    if campaign is None:
        raise NotFound(key="upgrades.error.campaign_not_found")
    return campaign


def _expect(campaign: Campaign, *statuses: CampaignStatus) -> None:
    if campaign.status not in statuses:
        raise Conflict(key="upgrades.error.wrong_status", status=campaign.status)


def approve_campaign(db: Database, principal: Principal, campaign_id: int, now: datetime | None = None
                     ) -> CampaignOut:
    """Approve a campaign (a second person: not its creator); it starts at its start time, or now."""
    require_role(principal, *DESK)
    with db.transaction() as session:
        campaign = _lock(session, campaign_id)
        _expect(campaign, CampaignStatus.AWAITING_APPROVAL)
        require_second_person(principal, [_creator(campaign)], key="upgrades.error.second_person")
        now = now or utcnow()
        campaign.status = CampaignStatus.APPROVED
        campaign.approved_by, campaign.approved_by_user_id, campaign.approved_at = (principal.username,
                                                                                    principal.user_id, now)
        audit.record(session, principal, OWNER, campaign.id, "approve",
                     before={"status": CampaignStatus.AWAITING_APPROVAL}, after={"status": campaign.status})
        if campaign.starts_at is None or campaign.starts_at <= now:
            _start(session, principal, campaign, now)
        return _campaign_out(session, principal, campaign)


def _start(session: Session, actor: Principal, campaign: Campaign, now: datetime) -> None:
    before = campaign.status
    campaign.status, campaign.started_at = CampaignStatus.RUNNING, now
    _open_wave(session, campaign, 0, now)
    audit.record(session, actor, OWNER, campaign.id, "start", before={"status": before},
                 after={"status": campaign.status, "wave": 0})


def _open_wave(session: Session, campaign: Campaign, index: int, now: datetime) -> None:
    campaign.current_wave, campaign.wave_opened_at = index, now
    targets = session.scalars(select(Target).where(Target.campaign_id == campaign.id, Target.wave == index,
                                                   Target.state == TargetState.PENDING))
    for target in targets:
        target.state, target.offered_at, target.updated_at = TargetState.OFFERED, now, now


def pause_campaign(db: Database, principal: Principal, campaign_id: int, body: HaltIn) -> CampaignOut:
    """Pause a running campaign by hand: no new offers until it is resumed."""
    return _move(db, principal, campaign_id, "pause", (CampaignStatus.RUNNING,), CampaignStatus.PAUSED, body.reason)


def resume_campaign(db: Database, principal: Principal, campaign_id: int, body: HaltIn) -> CampaignOut:
    """Resume a paused campaign; its wave's soak starts again."""
    return _move(db, principal, campaign_id, "resume", (CampaignStatus.PAUSED,), CampaignStatus.RUNNING, body.reason)


def cancel_campaign(db: Database, principal: Principal, campaign_id: int, body: HaltIn) -> CampaignOut:
    """Cancel a campaign that has not ended; terminals not yet installed are no longer offered it."""
    return _move(db, principal, campaign_id, "cancel",
                 (CampaignStatus.AWAITING_APPROVAL, *LIVE_STATUSES), CampaignStatus.CANCELLED, body.reason)


def _move(db: Database, principal: Principal, campaign_id: int, action: str, sources: Iterable[CampaignStatus],
          target: CampaignStatus, reason: str) -> CampaignOut:
    require_role(principal, *DESK)
    with db.transaction() as session:
        campaign = _lock(session, campaign_id)
        _expect(campaign, *sources)
        before = campaign.status
        now = utcnow()
        campaign.status = target
        if target is CampaignStatus.RUNNING:
            campaign.wave_opened_at = now
        if target is CampaignStatus.CANCELLED:
            _end(session, campaign, now)
        audit.record(session, principal, OWNER, campaign.id, action, before={"status": before},
                     after={"status": target}, reason=reason)
        return _campaign_out(session, principal, campaign)


def _end(session: Session, campaign: Campaign, now: datetime) -> None:
    campaign.ended_at = now
    for target in session.scalars(select(Target).where(Target.campaign_id == campaign.id,
                                                       Target.state.not_in(list(FINAL)))):
        target.state, target.updated_at = TargetState.CANCELLED, now


def rollback_campaign(db: Database, principal: Principal, campaign_id: int) -> CampaignOut:
    """Start, at once, a one-wave campaign that puts a halted campaign's terminals back on the version they ran."""
    require_role(principal, *DESK)
    with db.transaction() as session:
        halted = _lock(session, campaign_id)
        _expect(halted, CampaignStatus.HALTED)
        if _rollback_of(session, halted.id) is not None:
            raise Conflict(key="upgrades.error.rollback_exists")
        package = _load_package(session, halted.package_id)
        touched = list(session.scalars(select(Target).where(
            Target.campaign_id == halted.id,
            Target.state.in_([TargetState.INSTALLED, TargetState.INSTALLING, TargetState.DOWNLOADED]))))
        if not touched:
            raise Conflict(key="upgrades.error.nothing_to_roll_back")
        version = Counter(t.from_version for t in touched).most_common(1)[0][0]
        previous = session.scalar(select(Package).where(Package.kind == package.kind, Package.model == package.model,
                                                        Package.version == version))
        if previous is None:
            raise Conflict(key="upgrades.error.no_previous_package", version=version, model=package.model)
        now = utcnow()
        rollback = Campaign(name=f"{halted.name} ↩ {version}", package_id=previous.id,
                            status=CampaignStatus.RUNNING, filters={"rollback_of": halted.id},
                            waves=[{"percent": 100, "soak_minutes": 60}], window_start=None, window_end=None,
                            wifi_only=False, force=True, rollback_of=halted.id, created_by=principal.username,
                            created_by_user_id=principal.user_id, approved_by=principal.username,
                            approved_by_user_id=principal.user_id, approved_at=now, started_at=now,
                            wave_opened_at=now)
        session.add(rollback)
        session.flush()
        terminal_rows = session.execute(select(Terminal.id, Terminal.serial_number, Terminal.firmware_version,
                                               Terminal.app_version, Terminal.status, Terminal.tags)
                                        .where(Terminal.id.in_([t.terminal_id for t in touched])))
        candidates = [_Candidate(r.id, r.serial_number, r.firmware_version, r.app_version, r.status,
                                 tuple(r.tags or ())) for r in terminal_rows]
        _add_targets(session, rollback, previous, candidates)
        _open_wave(session, rollback, 0, now)
        audit.record(session, principal, OWNER, rollback.id, "rollback",
                     after={"status": rollback.status, "rollback_of": halted.id, "version": version,
                            "targets": len(candidates)})
        audit.record(session, principal, OWNER, halted.id, "rollback_started",
                     after={"rollback_campaign_id": rollback.id})
        return _campaign_out(session, principal, rollback)


def _rollback_of(session: Session, campaign_id: int) -> int | None:
    return session.scalar(select(Campaign.id).where(Campaign.rollback_of == campaign_id))


# reading -------------------------------------------------------------------------------------------


def list_campaigns(db: Database, principal: Principal, *, status: CampaignStatus | None = None, page: int = 1,
                   per_page: int = 50) -> Page[CampaignLine]:
    """Campaigns, newest first, with their install counts."""
    require_role(principal, *READERS)
    check_page(page, per_page)
    with db.transaction() as session:
        query = select(Campaign).order_by(Campaign.id.desc())
        if status:
            query = query.where(Campaign.status == status)
        rows, total = paginate(session, query, page, per_page)
        counts = _state_counts(session, [c.id for c in rows])
        packages = {p.id: p for p in session.scalars(select(Package).where(
            Package.id.in_({c.package_id for c in rows})))}
        items = [CampaignLine(id=c.id, name=c.name, status=CampaignStatus(c.status), package_id=c.package_id,
                              model=packages[c.package_id].model, version=packages[c.package_id].version,
                              targets=sum(counts[c.id].values()), installed=counts[c.id][TargetState.INSTALLED],
                              failed=counts[c.id][TargetState.FAILED], current_wave=c.current_wave,
                              waves=len(c.waves), created_by=c.created_by, created_at=c.created_at) for c in rows]
        return Page(items=items, total=total, page=page, per_page=per_page)


def _state_counts(session: Session, campaign_ids: Sequence[int]) -> dict[int, Counter[str]]:
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    if campaign_ids:
        rows = session.execute(select(Target.campaign_id, Target.state, func.count())
                               .where(Target.campaign_id.in_(campaign_ids))
                               .group_by(Target.campaign_id, Target.state))
        for campaign_id, state, count in rows:
            counts[campaign_id][state] = count
    return counts


def get_campaign(db: Database, principal: Principal, campaign_id: int) -> CampaignOut:
    """A campaign with each wave's counts, the gate's checks and the actions the caller may take."""
    require_role(principal, *READERS)
    with db.transaction() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            raise NotFound(key="upgrades.error.campaign_not_found")
        return _campaign_out(session, principal, campaign)


def _creator(campaign: Campaign) -> Maker:
    """Who built the campaign: the one person who may not approve it."""
    return Maker(campaign.created_by, campaign.created_by_user_id, "upgrades.maker.created")


def _actions(session: Session, principal: Principal, campaign: Campaign) -> list[str]:
    if principal.role not in DESK:
        return []
    status = CampaignStatus(campaign.status)
    actions = {CampaignStatus.AWAITING_APPROVAL: ["approve", "cancel"], CampaignStatus.APPROVED: ["cancel"],
               CampaignStatus.RUNNING: ["pause", "cancel"], CampaignStatus.PAUSED: ["resume", "cancel"],
               CampaignStatus.HALTED: ["rollback"]}.get(status, [])
    if "approve" in actions and same_person(principal, _creator(campaign)):
        actions.remove("approve")
    if "rollback" in actions and _rollback_of(session, campaign.id) is not None:
        actions.remove("rollback")
    return actions


def _campaign_out(session: Session, principal: Principal, campaign: Campaign) -> CampaignOut:
    session.flush()
    package = _load_package(session, campaign.package_id)
    per_wave: dict[int, Counter[str]] = defaultdict(Counter)
    for wave, state, count in session.execute(select(Target.wave, Target.state, func.count())
                                              .where(Target.campaign_id == campaign.id)
                                              .group_by(Target.wave, Target.state)):
        per_wave[wave][state] = count
    checks: dict[int, list[WaveCheck]] = defaultdict(list)
    for check in session.scalars(select(WaveCheck).where(WaveCheck.campaign_id == campaign.id)
                                 .order_by(WaveCheck.at)):
        checks[check.wave].append(check)
    waves = []
    for index, (percent, soak) in enumerate(_waves_of(campaign)):
        latest = checks[index][-1] if checks[index] else None
        waves.append(WaveOut(
            index=index, percent=percent, soak_minutes=soak, targeted=sum(per_wave[index].values()),
            states=dict(per_wave[index]), opened=campaign.started_at is not None and index <= campaign.current_wave,
            verdict=Verdict(latest.verdict) if latest else None, checked_at=latest.at if latest else None,
            signals=[SignalOut(**s) for s in latest.signals] if latest else [],
            history=[_point(c) for c in checks[index]]))
    return CampaignOut(
        id=campaign.id, name=campaign.name, status=CampaignStatus(campaign.status), package=_package_out(package),
        filter=campaign.filters, window_start=campaign.window_start, window_end=campaign.window_end,
        wifi_only=campaign.wifi_only, force=campaign.force, starts_at=campaign.starts_at,
        expires_at=campaign.expires_at, current_wave=campaign.current_wave, wave_opened_at=campaign.wave_opened_at,
        targets=sum(sum(c.values()) for c in per_wave.values()), waves=waves, halted_on=campaign.halted_on,
        halt_detail=campaign.halt_detail, incident_id=campaign.incident_id, rollback_of=campaign.rollback_of,
        rollback_campaign_id=_rollback_of(session, campaign.id), created_by=campaign.created_by,
        approved_by=campaign.approved_by, approved_at=campaign.approved_at, started_at=campaign.started_at,
        ended_at=campaign.ended_at, actions=_actions(session, principal, campaign))


def _point(check: WaveCheck) -> dict[str, Any]:
    health = [s for s in check.signals if s["signal"] != Signal.INSTALL_FAILURE]
    worst = max(health, key=lambda s: s["treated_rate"] - s["control_rate"], default=None)
    return {"at": check.at.isoformat(), "installed": check.installed, "failed": check.failed,
            "targeted": check.targeted, "verdict": check.verdict,
            "signal": worst["signal"] if worst else None,
            "treated_rate": worst["treated_rate"] if worst else 0.0,
            "control_rate": worst["control_rate"] if worst else 0.0}


# the terminal's side ------------------------------------------------------------------------------


def _terminal_of(session: Session, sender: Sender) -> Terminal:
    if sender.terminal_id is None:
        raise Forbidden(key="upgrades.error.terminal_token_needed")
    terminal = session.get(Terminal, sender.terminal_id)
    if terminal is None:
        raise NotFound(key="upgrades.error.terminal_token_needed")
    return terminal


def _window(campaign: Campaign) -> MaintenanceWindow | None:
    if campaign.window_start is None or campaign.window_end is None:
        return None
    return MaintenanceWindow(time.fromisoformat(campaign.window_start), time.fromisoformat(campaign.window_end))


def _hours(merchant: Merchant) -> OpeningHours:
    return OpeningHours(time.fromisoformat(merchant.opens_at), time.fromisoformat(merchant.closes_at))


def _on_wifi(session: Session, terminal: Terminal) -> bool:
    payload = session.scalar(select(TelemetrySnapshot.payload).where(TelemetrySnapshot.terminal_id == terminal.id))
    if payload:
        network = (json.loads(payload).get("network") or {}).get("type")
        if network:
            return bool(network in ("wifi", "ethernet"))
    return terminal.network_type in ("wifi", "ethernet")


def next_for_terminal(db: Database, sender: Sender, now: datetime | None = None) -> NextOut:
    """What the calling terminal is to install now; or when it may (maintenance window), or why not."""
    now = now or utcnow()
    with db.transaction() as session:
        terminal = _terminal_of(session, sender)
        row = session.execute(
            select(Target, Campaign).join(Campaign, Campaign.id == Target.campaign_id)
            .where(Target.terminal_id == terminal.id, Campaign.status == CampaignStatus.RUNNING,
                   Target.state.not_in([*FINAL, TargetState.PENDING]))
            .order_by(Campaign.rollback_of.is_(None), Campaign.id.desc())).first()
        if row is None:
            return NextOut(install=False, reason="nothing_to_install")
        _target, campaign = row
        if campaign.expires_at is not None and campaign.expires_at <= now:
            return NextOut(install=False, reason="expired")
        merchant = session.get(Merchant, terminal.merchant_id)
        assert merchant is not None
        window = _window(campaign)
        hours = None if campaign.rollback_of is not None else _hours(merchant)
        if not may_install(now, merchant.time_zone, window, hours):
            return NextOut(install=False, campaign_id=campaign.id, reason="outside_window",
                           not_before=next_opening(now, merchant.time_zone, window, hours))
        if campaign.wifi_only and not _on_wifi(session, terminal):
            return NextOut(install=False, campaign_id=campaign.id, reason="wifi_only")
        package = _load_package(session, campaign.package_id)
        return NextOut(install=True, campaign_id=campaign.id, kind=PackageKind(package.kind),
                       version=package.version, sha256=package.sha256, size_bytes=package.size_bytes,
                       download_path=f"/api/v1/upgrades/packages/{package.id}/file", force=campaign.force,
                       wifi_only=campaign.wifi_only, expires_at=campaign.expires_at)


def record_reports(db: Database, sender: Sender, data: ReportsIn, now: datetime | None = None) -> ReportsOut:
    """Store a terminal's step reports (a resent one changes nothing) and move its installs on."""
    now = now or utcnow()
    with db.transaction() as session:
        terminal = _terminal_of(session, sender)
        results = [_apply(session, terminal, report, now) for report in data.reports]
        return ReportsOut(results=results)


def _apply(session: Session, terminal: Terminal, report: Any, now: datetime) -> ReportResult:
    target = session.scalar(select(Target).where(Target.campaign_id == report.campaign_id,
                                                 Target.terminal_id == terminal.id).with_for_update())
    if target is None:
        raise Invalid("campaign_id", key="upgrades.error.not_a_target", campaign_id=report.campaign_id)
    inserted = session.execute(insert_for(session, Report).on_conflict_do_nothing(
        index_elements=["terminal_id", "report_id"]).returning(Report.id),
        [{"campaign_id": report.campaign_id, "terminal_id": terminal.id, "report_id": report.report_id,
          "step": report.step, "code": report.code, "detail": report.detail, "at": report.at,
          "received_at": now}]).first()
    if inserted is None:
        return ReportResult(report_id=report.report_id, duplicate=True, state=TargetState(target.state), retry=False)
    attempts = target.attempts + (1 if report.step is Step.FAILED else 0)
    outcome = after_report(TargetState(target.state), report.step, report.code, attempts=attempts)
    before = target.state
    target.state, target.attempts, target.updated_at = outcome.state, outcome.attempts, now
    if report.step is Step.FAILED:
        target.last_code = report.code
    if outcome.state is TargetState.INSTALLED and before != TargetState.INSTALLED:
        target.installed_at = now
        campaign = session.get(Campaign, target.campaign_id)
        assert campaign is not None
        package = _load_package(session, campaign.package_id)
        terminals.record_installed_version(session, GATE, terminal.id, package.kind, package.version,
                                           campaign_id=campaign.id)
    return ReportResult(report_id=report.report_id, duplicate=False, state=outcome.state, retry=outcome.retried)


# the gate ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GateRun:
    """What one run of the gate did."""

    started: list[int]
    advanced: list[int]
    halted: list[int]
    completed: list[int]
    expired: list[int]


def run_gate(db: Database, now: datetime | None = None, policy: GatePolicy | None = None) -> GateRun:
    """Start due campaigns, judge each running campaign's open wave, and advance, halt, complete or expire it."""
    now = now or utcnow()
    policy = policy or GatePolicy()
    run = GateRun([], [], [], [], [])
    with db.transaction() as session:
        for campaign in session.scalars(select(Campaign).where(Campaign.status.in_(
                [CampaignStatus.APPROVED, CampaignStatus.RUNNING])).order_by(Campaign.id).with_for_update()):
            if campaign.expires_at is not None and campaign.expires_at <= now:
                before = campaign.status
                campaign.status = CampaignStatus.EXPIRED
                _end(session, campaign, now)
                audit.record(session, GATE, OWNER, campaign.id, "expire", before={"status": before},
                             after={"status": campaign.status})
                run.expired.append(campaign.id)
            elif campaign.status == CampaignStatus.APPROVED:
                if campaign.starts_at is None or campaign.starts_at <= now:
                    _start(session, GATE, campaign, now)
                    run.started.append(campaign.id)
            else:
                _judge(session, campaign, now, policy, run)
    return run


def _judge(session: Session, campaign: Campaign, now: datetime, policy: GatePolicy, run: GateRun) -> None:
    waves = _waves_of(campaign)
    index = campaign.current_wave
    soak = timedelta(minutes=waves[index][1])
    opened = campaign.wave_opened_at or now
    observation = observe_wave(session, campaign, index, now, soaked=now - opened >= soak)
    decision = gate.judge_wave(observation, policy)
    session.add(WaveCheck(campaign_id=campaign.id, wave=index, at=now, targeted=observation.targeted,
                          installed=observation.installed, failed=observation.failed,
                          verdict=decision.verdict.value, signals=_signals(decision)))
    if decision.verdict is Verdict.HALT:
        _halt(session, campaign, observation, decision, now)
        run.halted.append(campaign.id)
    elif decision.verdict is Verdict.ADVANCE:
        if index + 1 < len(waves):
            _open_wave(session, campaign, index + 1, now)
            audit.record(session, GATE, OWNER, campaign.id, "advance", before={"wave": index},
                         after={"wave": index + 1})
            run.advanced.append(campaign.id)
        else:
            campaign.status, campaign.ended_at = CampaignStatus.COMPLETED, now
            audit.record(session, GATE, OWNER, campaign.id, "complete", before={"status": CampaignStatus.RUNNING},
                         after={"status": CampaignStatus.COMPLETED})
            if campaign.rollback_of is not None:
                _rolled_back(session, campaign.rollback_of, now)
            run.completed.append(campaign.id)


def _signals(decision: GateDecision) -> list[dict[str, Any]]:
    return [{"signal": t.signal.value, "treated_rate": round(t.treated_rate, 4),
             "control_rate": round(t.control_rate, 4), "p_value": float(f"{t.p_value:.3g}"),
             "regressed": t.regressed} for t in decision.tests]


def _rolled_back(session: Session, halted_id: int, now: datetime) -> None:
    halted = session.get(Campaign, halted_id)
    if halted is not None and halted.incident_id is not None:
        telemetry.close_upgrade_incident(session, GATE, halted.incident_id, now,
                                         reason=f"rollback of campaign {halted_id} completed")


def _halt(session: Session, campaign: Campaign, observation: WaveObservation, decision: GateDecision,
          now: datetime) -> None:
    package = _load_package(session, campaign.package_id)
    halted_on = decision.halted_on or Signal.INSTALL_FAILURE
    test = next((t for t in decision.tests if t.signal == halted_on), None)
    campaign.status, campaign.halted_on, campaign.ended_at = CampaignStatus.HALTED, halted_on.value, now
    campaign.halt_detail = {"wave": campaign.current_wave, "installed": observation.installed,
                            "failed": observation.failed, "targeted": observation.targeted,
                            "treated_rate": test.treated_rate if test else None,
                            "control_rate": test.control_rate if test else None,
                            "p_value": test.p_value if test else None}
    for target in session.scalars(select(Target).where(Target.campaign_id == campaign.id,
                                                       Target.state.in_([TargetState.PENDING,
                                                                         TargetState.OFFERED]))):
        target.state, target.updated_at = TargetState.CANCELLED, now
    affected = list(session.scalars(select(Target.terminal_id).where(
        Target.campaign_id == campaign.id,
        Target.state.in_([TargetState.INSTALLED, TargetState.INSTALLING, TargetState.DOWNLOADED,
                          TargetState.FAILED]))))
    reason = (f"health gate: {halted_on.value} {test.treated_rate:.1%} against {test.control_rate:.1%} "
              f"in control (p={test.p_value:.2g})" if test else f"health gate: {halted_on.value}")
    campaign.incident_id = telemetry.open_upgrade_incident(
        session, GATE, campaign_id=campaign.id, version=package.version, terminals=observation.targeted,
        failing=len(affected), terminal_ids=affected, share=test.treated_rate if test else 0.0,
        baseline=test.control_rate if test else 0.0, now=now, reason=reason)
    audit.record(session, GATE, OWNER, campaign.id, "halt", before={"status": CampaignStatus.RUNNING},
                 after={"status": campaign.status, "halted_on": halted_on.value, "incident_id": campaign.incident_id},
                 reason=reason)
    notice = _halt_notice(package)
    for terminal in session.scalars(select(Terminal).where(Terminal.id.in_(affected))):
        terminals.notify_merchant(session, terminal, "upgrade_halted", notice)


def _halt_notice(package: Package) -> notices.MerchantNotice:
    title = catalog_sentence("upgrades.notice.halted.title")
    body = catalog_sentence("upgrades.notice.halted.body", version=package.version)
    return notices.MerchantNotice(title.zh, body.zh, title.en, body.en)


def observe_wave(session: Session, campaign: Campaign, index: int, now: datetime, *, soaked: bool) -> WaveObservation:
    """A wave's install counts and its health signals, upgraded terminals against not-yet-upgraded ones.

    Treated: the wave's terminals that installed, each watched from its install on (as the benchmark judges).
    Control: terminals of the same model in service that have not taken the package (the campaign's
    waiting targets and the model's terminals outside it), watched over the same hours; when there are
    none left, the upgraded terminals themselves before their install.
    """
    own = list(session.execute(select(Target.terminal_id, Target.state, Target.installed_at)
                               .where(Target.campaign_id == campaign.id, Target.wave == index)))
    states = Counter(r.state for r in own)
    since = campaign.wave_opened_at or now
    treated = {r.terminal_id: r.installed_at or since for r in own if r.state == TargetState.INSTALLED}
    package = _load_package(session, campaign.package_id)
    column = Terminal.firmware_version if package.kind == PackageKind.FIRMWARE else Terminal.app_version
    touched = select(Target.terminal_id).where(Target.campaign_id == campaign.id,
                                               Target.state.not_in([TargetState.PENDING, TargetState.OFFERED]))
    control_ids = session.scalars(select(Terminal.id).where(
        Terminal.model == package.model, Terminal.status == TerminalStatus.ACTIVE, column != package.version,
        Terminal.id.not_in(touched)).order_by(Terminal.id).limit(CONTROL_LIMIT))
    control = _cohort(session, dict.fromkeys(control_ids, (since, now)))
    if not any(c.terminals for c in control.values()):
        # Every terminal of the model took the package (a last wave): the upgraded ones before their install
        # are the control, over as long a span as they have run the new version.
        control = _cohort(session, {t: (at - (now - at), at) for t, at in treated.items()})
    return WaveObservation(targeted=len(own), installed=states[TargetState.INSTALLED],
                           failed=states[TargetState.FAILED],
                           treated=_cohort(session, {t: (at, now) for t, at in treated.items()}),
                           control=control, soaked=soaked)


def _cohort(session: Session, windows: dict[int, tuple[datetime, datetime]]) -> dict[Signal, Cohort]:
    """Each health signal over a cohort: terminals that could show it in their own window, and those that did."""
    tally = CohortTally()
    if not windows:
        return tally.cohorts({})
    earliest, latest = min(w[0] for w in windows.values()), max(w[1] for w in windows.values())
    ids = list(windows)
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        beats = session.execute(select(HeartbeatRecord.terminal_id, HeartbeatRecord.received_at,
                                       HeartbeatRecord.payload)
                                .where(HeartbeatRecord.terminal_id.in_(chunk),
                                       HeartbeatRecord.received_at >= earliest - ALIVE_BEFORE,
                                       HeartbeatRecord.received_at <= latest))
        for beat in beats:
            start, end = windows[beat.terminal_id]
            if start <= beat.received_at <= end:
                tally.add(beat.terminal_id, read_heartbeat(json.loads(beat.payload), start), beat.received_at)
            elif start - ALIVE_BEFORE <= beat.received_at < start:
                tally.alive(beat.terminal_id)
        traffic = session.execute(select(TerminalTrafficRecord.terminal_id, TerminalTrafficRecord.last_seen,
                                         TerminalTrafficRecord.summary)
                                  .where(TerminalTrafficRecord.terminal_id.in_(chunk),
                                         TerminalTrafficRecord.last_seen >= earliest,
                                         TerminalTrafficRecord.last_seen <= latest))
        for record in traffic:
            start, end = windows[record.terminal_id]
            if start <= record.last_seen <= end:
                tally.add(record.terminal_id, read_traffic(record.summary))
    return tally.cohorts(windows)


# for diagnosis and the fleet ---------------------------------------------------------------------------


@dataclass(frozen=True)
class UpgradeFacts:
    """What the latest campaign to reach a terminal says about it, for its diagnosis."""

    campaign_id: int
    campaign_status: CampaignStatus
    version: str
    from_version: str
    state: TargetState
    last_code: FailureCode | None
    halted_on: str | None
    rollback_campaign_id: int | None


def upgrade_facts(session: Session, terminal_id: int) -> UpgradeFacts | None:
    """The latest campaign that offered a terminal a package, read in the caller's transaction (None: none did)."""
    row = session.execute(
        select(Target, Campaign, Package).join(Campaign, Campaign.id == Target.campaign_id)
        .join(Package, Package.id == Campaign.package_id)
        .where(Target.terminal_id == terminal_id, Target.state != TargetState.PENDING,
               Campaign.rollback_of.is_(None))
        .order_by(Campaign.id.desc())).first()
    if row is None:
        return None
    target, campaign, package = row
    return UpgradeFacts(campaign_id=campaign.id, campaign_status=CampaignStatus(campaign.status),
                        version=package.version, from_version=target.from_version, state=TargetState(target.state),
                        last_code=FailureCode(target.last_code) if target.last_code else None,
                        halted_on=campaign.halted_on, rollback_campaign_id=_rollback_of(session, campaign.id))


# for the worker: offers pushed over MQTT, the terminal behind a topic ----------------------------------


def offers_to_push(db: Database, now: datetime, since: datetime | None = None) -> list[tuple[str, NextOut | None]]:
    """The terminals whose offer may have changed since ``since``, each with its offer at ``now`` (None: clear it).

    A terminal's offer is what :func:`next_for_terminal` answers it at ``now``. It changes when its
    wave opens or a transient failure is offered again, when its install ends, when its campaign
    is paused, resumed, halted, cancelled or expires, and when its shop's maintenance window opens
    or closes. Without ``since``, every terminal with an offer open or an install under way (a first
    push). Read-only: one transaction finds the terminals, then each is asked as it would ask itself.
    """
    with db.transaction() as session:
        live = Target.state.not_in([*FINAL, TargetState.PENDING])
        if since is None:
            ids = set(session.scalars(select(Target.terminal_id).where(live)))
        else:
            # Only targets that were offered: one cancelled before its wave opened has nothing to clear.
            ids = set(session.scalars(select(Target.terminal_id).where(
                Target.updated_at > since, Target.offered_at.is_not(None),
                Target.state.in_([TargetState.OFFERED, *FINAL]))))
            ids |= set(session.scalars(select(Target.terminal_id).join(Campaign, Campaign.id == Target.campaign_id)
                                       .where(Campaign.updated_at > since, live)))
            ids |= _window_turned(session, since, now)
        listed = sorted(ids)
        serials: dict[int, str] = {}
        for chunk in (listed[i:i + 500] for i in range(0, len(listed), 500)):
            serials.update((row.id, row.serial_number) for row in session.execute(
                select(Terminal.id, Terminal.serial_number).where(Terminal.id.in_(chunk))))
    offers: list[tuple[str, NextOut | None]] = []
    for terminal_id, sn in sorted(serials.items()):
        offer = next_for_terminal(db, Sender(terminal_id=terminal_id, serial_number=sn), now)
        offers.append((sn, offer if offer.campaign_id is not None else None))
    return offers


def _window_turned(session: Session, since: datetime, now: datetime) -> set[int]:
    """Terminals offered a running campaign whose shop's window opened or closed between ``since`` and ``now``."""
    campaigns = {c.id: c for c in session.scalars(select(Campaign).where(Campaign.status == CampaignStatus.RUNNING))}
    if not campaigns:
        return set()
    offered = (select(Target.terminal_id).join(Terminal, Terminal.id == Target.terminal_id)
               .join(Merchant, Merchant.id == Terminal.merchant_id)
               .where(Target.campaign_id.in_(campaigns), Target.state == TargetState.OFFERED))
    shops = session.execute(offered.with_only_columns(Target.campaign_id, Merchant.time_zone, Merchant.opens_at,
                                                      Merchant.closes_at).distinct()).all()
    turned: set[int] = set()
    for campaign_id, zone, opens, closes in shops:
        window = _window(campaigns[campaign_id])
        hours = OpeningHours(time.fromisoformat(opens), time.fromisoformat(closes))
        # With and without the opening hours (a rollback ignores them): a needless push changes nothing.
        if any(may_install(since, zone, window, h) != may_install(now, zone, window, h) for h in (hours, None)):
            turned.update(session.scalars(offered.where(Target.campaign_id == campaign_id, Merchant.time_zone == zone,
                                                        Merchant.opens_at == opens, Merchant.closes_at == closes)))
    return turned


def terminal_sender(db: Database, serial_number: str) -> Sender | None:
    """The terminal a serial number names, as the sender of what arrives on its MQTT topics (None: no such one)."""
    with db.transaction() as session:
        terminal_id = session.scalar(select(Terminal.id).where(Terminal.serial_number == serial_number)
                                     .order_by(Terminal.id.desc()).limit(1))
    return None if terminal_id is None else Sender(terminal_id=terminal_id, serial_number=serial_number)
