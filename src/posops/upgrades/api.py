"""JSON routes of software upgrades under /api/v1: packages, compatibility, campaigns, and the terminal's side."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse

from posops.core.deps import CurrentPrincipal, DbDep, PageNumber, PerPage, SettingsDep
from posops.core.documents import Upload, download, locate
from posops.core.inputs import Id
from posops.core.paging import Page
from posops.telemetry import service as telemetry
from posops.telemetry.service import Sender
from posops.upgrades import service as upgrades
from posops.upgrades.schemas import (
    CampaignIn,
    CampaignLine,
    CampaignOut,
    CampaignStatus,
    CompatibilityIn,
    CompatibilityOut,
    HaltIn,
    MinimumIn,
    MinimumOut,
    ModelName,
    NextOut,
    PackageIn,
    PackageKind,
    PackageOut,
    PreviewOut,
    ReleaseNotes,
    ReportsIn,
    ReportsOut,
    Sha256,
    Version,
)

router = APIRouter(prefix="/api/v1", tags=["upgrades"])


def terminal_sender(request: Request, db: DbDep, settings: SettingsDep) -> Sender:
    """Who calls: a terminal with its own token (``posterm_…``), or a user (refused where a terminal is needed)."""
    return telemetry.sender_for_bearer(db, settings, request.headers.get("authorization"))


TerminalSender = Annotated[Sender, Depends(terminal_sender)]


async def read_package_file(file: Annotated[UploadFile, File(description="APK, ZIP or firmware image")]) -> Upload:
    """Read the multipart field `file`, at most one byte over the package limit (the service refuses more)."""
    content = await file.read(upgrades.PACKAGE_RULES.max_bytes + 1)
    return Upload(file.filename or "", file.content_type or "application/octet-stream", content)


@router.get("/upgrades/packages")
def list_packages(db: DbDep, principal: CurrentPrincipal, model: ModelName | None = None,
                  kind: PackageKind | None = None) -> list[PackageOut]:
    """Packages by model, newest version first."""
    return upgrades.list_packages(db, principal, model=model, kind=kind)


@router.post("/upgrades/packages", status_code=201)
def register_package(kind: Annotated[PackageKind, Form()], model: Annotated[ModelName, Form()],
                     version: Annotated[Version, Form()], sha256: Annotated[Sha256, Form()],
                     size_bytes: Annotated[int, Form(ge=1, le=2**40)],
                     upload: Annotated[Upload, Depends(read_package_file)], db: DbDep,
                     principal: CurrentPrincipal, settings: SettingsDep,
                     notes_zh: Annotated[ReleaseNotes, Form()] = "",
                     notes_en: Annotated[ReleaseNotes, Form()] = "") -> PackageOut:
    """Register a package (multipart): the file must hash to `sha256` and be `size_bytes` long, or 422."""
    data = PackageIn(kind=kind, model=model, version=version, sha256=sha256, size_bytes=size_bytes,
                     notes_zh=notes_zh, notes_en=notes_en)
    return upgrades.register_package(db, principal, data, upload, var_dir=settings.var_dir)


@router.get("/upgrades/packages/{package_id}")
def read_package(package_id: Id, db: DbDep, principal: CurrentPrincipal) -> PackageOut:
    """One package."""
    return upgrades.get_package(db, principal, package_id)


@router.get("/upgrades/packages/{package_id}/file", response_class=FileResponse)
def download_package(package_id: Id, db: DbDep, sender: TerminalSender, settings: SettingsDep) -> FileResponse:
    """The package file: for the desk, or for a terminal that a campaign offers it to (its own token)."""
    path, document = upgrades.package_file(db, package_id, principal=sender.principal, sender=sender)
    return download(locate(settings.var_dir, path), document)


@router.get("/upgrades/compatibility")
def read_compatibility(db: DbDep, principal: CurrentPrincipal,
                       model: ModelName | None = None) -> list[CompatibilityOut]:
    """The compatibility matrix (model × firmware × app)."""
    return upgrades.compatibility_matrix(db, principal, model=model)


@router.put("/upgrades/compatibility")
def put_compatibility(body: CompatibilityIn, db: DbDep, principal: CurrentPrincipal) -> CompatibilityOut:
    """Set one cell of the compatibility matrix."""
    return upgrades.set_compatibility(db, principal, body)


@router.get("/upgrades/minimums")
def read_minimums(db: DbDep, principal: CurrentPrincipal) -> list[MinimumOut]:
    """The lowest versions the acquirer accepts, per model."""
    return upgrades.list_minimums(db, principal)


@router.put("/upgrades/minimums")
def put_minimum(body: MinimumIn, db: DbDep, principal: CurrentPrincipal) -> MinimumOut:
    """Set the lowest version the acquirer accepts on a model."""
    return upgrades.set_minimum(db, principal, body)


@router.post("/upgrades/campaigns/preview")
def preview_campaign(body: CampaignIn, db: DbDep, principal: CurrentPrincipal) -> PreviewOut:
    """The targets a campaign would have, wave by wave, and the terminals it would leave out and why."""
    return upgrades.preview_campaign(db, principal, body)


@router.post("/upgrades/campaigns", status_code=201)
def create_campaign(body: CampaignIn, db: DbDep, principal: CurrentPrincipal) -> CampaignOut:
    """Build a campaign; it starts once a second person approves it."""
    return upgrades.create_campaign(db, principal, body)


@router.get("/upgrades/campaigns")
def list_campaigns(db: DbDep, principal: CurrentPrincipal, status: CampaignStatus | None = None,
                   page: PageNumber = 1, per_page: PerPage = 50) -> Page[CampaignLine]:
    """Campaigns, newest first."""
    return upgrades.list_campaigns(db, principal, status=status, page=page, per_page=per_page)


@router.get("/upgrades/campaigns/{campaign_id}")
def read_campaign(campaign_id: Id, db: DbDep, principal: CurrentPrincipal) -> CampaignOut:
    """A campaign with each wave's installs, failures and health against control."""
    return upgrades.get_campaign(db, principal, campaign_id)


@router.post("/upgrades/campaigns/{campaign_id}/approve")
def approve_campaign(campaign_id: Id, db: DbDep, principal: CurrentPrincipal) -> CampaignOut:
    """Approve a campaign (not its creator: 403); it starts at its start time."""
    return upgrades.approve_campaign(db, principal, campaign_id)


@router.post("/upgrades/campaigns/{campaign_id}/pause")
def pause_campaign(campaign_id: Id, body: HaltIn, db: DbDep, principal: CurrentPrincipal) -> CampaignOut:
    """Pause a running campaign."""
    return upgrades.pause_campaign(db, principal, campaign_id, body)


@router.post("/upgrades/campaigns/{campaign_id}/resume")
def resume_campaign(campaign_id: Id, body: HaltIn, db: DbDep, principal: CurrentPrincipal) -> CampaignOut:
    """Resume a paused campaign."""
    return upgrades.resume_campaign(db, principal, campaign_id, body)


@router.post("/upgrades/campaigns/{campaign_id}/cancel")
def cancel_campaign(campaign_id: Id, body: HaltIn, db: DbDep, principal: CurrentPrincipal) -> CampaignOut:
    """Cancel a campaign that has not ended."""
    return upgrades.cancel_campaign(db, principal, campaign_id, body)


@router.post("/upgrades/campaigns/{campaign_id}/rollback", status_code=201)
def rollback_campaign(campaign_id: Id, db: DbDep, principal: CurrentPrincipal) -> CampaignOut:
    """Roll a halted campaign's terminals back to the version they ran: a one-wave campaign, started at once."""
    return upgrades.rollback_campaign(db, principal, campaign_id)


@router.get("/upgrades/next")
def next_install(db: DbDep, sender: TerminalSender) -> NextOut:
    """What the calling terminal is to install now (its own token), or when it may."""
    return upgrades.next_for_terminal(db, sender)


@router.post("/upgrades/reports")
def post_reports(body: ReportsIn, db: DbDep, sender: TerminalSender) -> ReportsOut:
    """The calling terminal's install steps; a report sent twice (same report_id) changes nothing."""
    return upgrades.record_reports(db, sender, body)
