"""Console pages of software upgrades: packages and compatibility, the campaign builder, the campaign pages.

The desk (agent, admin) changes things; risk and technicians may read; merchants see none of these
pages (403, as on the other desk-only pages). Forms post to ``/upgrades/...`` and answer 303 to the
page they belong to, or show that page again with the refusal in the viewer's language. Times are
shown, and the builder's start and expiry read, in the console's zone (POSOPS_TIMEZONE).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from posops.core.auth import Principal, require_role
from posops.core.db import utcnow
from posops.core.deps import DbDep, PageNumber, SettingsDep
from posops.core.documents import Upload
from posops.core.errors import Invalid, PosopsError, field_label
from posops.core.forms import Refusal, refusal, validated
from posops.core.i18n import catalog, translate
from posops.core.inputs import FormText, Id, Word
from posops.core.maker_checker import Maker, second_person_refusal
from posops.core.versions import is_version, version_key
from posops.core.web import (
    CONSOLE_PER_PAGE,
    PageUser,
    check_csrf,
    display_zone,
    page_lang,
    render,
    template_vocabulary,
)
from posops.telemetry import charts
from posops.upgrades import service as upgrades
from posops.upgrades.gate import Verdict
from posops.upgrades.schemas import (
    MAX_WAVES,
    CampaignIn,
    CampaignOut,
    CampaignStatus,
    CompatibilityIn,
    CompatibilityOut,
    HaltIn,
    MinimumIn,
    PackageIn,
    PackageKind,
    PackageOut,
    PreviewOut,
    WaveOut,
)
from posops.upgrades.steps import TargetState

router = APIRouter(include_in_schema=False)
template_vocabulary(CampaignStatus, PackageKind)
Field = Annotated[FormText, Form()]
WaveColumn = Annotated[list[Word] | None, Form(max_length=MAX_WAVES)]
"""One column of the builder's wave rows (a percent or a soak per row), at most one value per possible wave."""

WAVE_ROWS = 6
"""Rows of the builder's wave table: the four default waves and two blank ones."""
SHA_SHOWN = 12
"""Leading hex digits of a SHA-256 shown in a table (the whole of it in the cell's title)."""
STATUS_CLASS: Mapping[CampaignStatus, str] = {
    CampaignStatus.AWAITING_APPROVAL: "ug-warn", CampaignStatus.APPROVED: "ug-info",
    CampaignStatus.RUNNING: "ug-info", CampaignStatus.PAUSED: "ug-warn", CampaignStatus.HALTED: "ug-bad",
    CampaignStatus.COMPLETED: "ug-ok", CampaignStatus.CANCELLED: "ug-muted", CampaignStatus.EXPIRED: "ug-muted"}
"""The colour of each status' badge (classes of upgrades-pages.css)."""
VERDICT_CLASS: Mapping[Verdict, str] = {Verdict.WAIT: "ug-info", Verdict.ADVANCE: "ug-ok", Verdict.HALT: "ug-bad"}
STATE_ORDER = (TargetState.INSTALLED, TargetState.FAILED, TargetState.INSTALLING, TargetState.DOWNLOADED,
               TargetState.DOWNLOADING, TargetState.OFFERED, TargetState.PENDING, TargetState.CANCELLED)
"""The order a wave's target states are counted in on the campaign page."""
_SPLIT = re.compile(r"[\s,，、;；]+")
_FIELD = "upgrades.page.field."


# refusals -------------------------------------------------------------------------------------


def _field_text(name: str, lang: str) -> str | None:
    parts = [p for p in name.split(".") if not p.isdigit()]
    last = parts[-1] if parts else name
    if last == "body":
        return None
    key = _FIELD + last
    return translate(key, lang) if key in catalog() else field_label(last).text(lang)


def form_refusal(exc: PosopsError, lang: str) -> Refusal:
    """Say in the page's language why an upgrades form was refused, each bad field by the form's own label."""
    if not isinstance(exc, Invalid):
        return refusal(exc, lang)
    said = []
    for problem in exc.problems:
        reason = problem.reason.text(lang).rstrip("。.")
        name = _field_text(problem.field, lang)
        said.append(reason if name is None else (f"{name}: {reason}" if lang == "en" else f"{name}：{reason}"))
    return Refusal(("; " if lang == "en" else "；").join(dict.fromkeys(said)), [], exc.status)


# small readings of form text ------------------------------------------------------------------


def _items(text: str) -> list[str]:
    return [item for item in _SPLIT.split(text.strip()) if item]


def _instant(text: str, name: str) -> datetime | None:
    """A ``datetime-local`` field (2026-12-04T01:00) as that wall time in the console's zone; None when empty."""
    cleaned = text.strip()
    if not cleaned:
        return None
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError:
        raise Invalid(name, key="error.invalid.datetime") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=display_zone())


def size_text(size: int) -> str:
    """A file size for people: bytes, KiB or MiB.

    >>> size_text(512), size_text(2048), size_text(5 * 1024 * 1024)
    ('512 B', '2.0 KiB', '5.0 MiB')
    """
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"


def _version_order(version: str) -> Any:
    return (0, version_key(version)) if is_version(version) else (1, version)


def _render(request: Request, user: Principal, template: str, context: dict[str, Any],
            status_code: int = 200) -> HTMLResponse:
    shared = {"status_class": STATUS_CLASS, "verdict_class": VERDICT_CLASS, "size_text": size_text,
              "sha_shown": SHA_SHOWN, "desk": user.role in upgrades.DESK}
    return render(request, template, {**shared, **context}, status_code)


# packages, compatibility and minimums ---------------------------------------------------------


@dataclass(frozen=True)
class Matrix:
    """One model's compatibility matrix: firmware rows, app columns, and the cells set (the rest unknown)."""

    model: str
    firmwares: list[str]
    apps: list[str]
    cells: dict[tuple[str, str], CompatibilityOut]


def compatibility_matrices(cells: Sequence[CompatibilityOut]) -> list[Matrix]:
    """The matrix cells grouped into one firmware × app table per model, versions in order."""
    by_model: dict[str, dict[tuple[str, str], CompatibilityOut]] = defaultdict(dict)
    for cell in cells:
        by_model[cell.model][(cell.firmware, cell.app)] = cell
    return [Matrix(model, sorted({f for f, _ in found}, key=_version_order),
                   sorted({a for _, a in found}, key=_version_order), found)
            for model, found in sorted(by_model.items())]


def _by_model(packages: Sequence[PackageOut]) -> list[tuple[str, list[PackageOut]]]:
    grouped: dict[str, list[PackageOut]] = defaultdict(list)
    for package in packages:
        grouped[package.model].append(package)
    return sorted(grouped.items())


EMPTY_FORMS: Mapping[str, Mapping[str, str]] = {
    "package": {"kind": PackageKind.APP, "model": "", "version": "", "sha256": "", "size_bytes": "", "notes_zh": "",
                "notes_en": ""},
    "cell": {"model": "", "firmware": "", "app": "", "compatible": "1", "note": ""},
    "minimum": {"model": "", "kind": PackageKind.APP, "version": "", "acquirer": ""},
}


def _packages_page(request: Request, db: DbDep, user: Principal, *, added: int | None = None,
                   forms: Mapping[str, Mapping[str, str]] | None = None, refused: Refusal | None = None,
                   refused_in: str = "") -> HTMLResponse:
    packages = upgrades.list_packages(db, user)
    return _render(request, user, "upgrades/packages.html", {
        "by_model": _by_model(packages), "added": next((p for p in packages if p.id == added), None),
        "matrices": compatibility_matrices(upgrades.compatibility_matrix(db, user)),
        "minimums": upgrades.list_minimums(db, user), "forms": {**EMPTY_FORMS, **(forms or {})},
        "models": sorted({p.model for p in packages}), "refusal": refused, "refused_in": refused_in},
        refused.status if refused else 200)


@router.get("/upgrades/packages", response_class=HTMLResponse)
def packages_page(request: Request, db: DbDep, user: PageUser, added: Id | None = None) -> HTMLResponse:
    """Packages by model (version, kind, size, SHA-256, notes), the compatibility matrix and the minimum versions."""
    return _packages_page(request, db, user, added=added)


async def read_package_upload(file: Annotated[UploadFile | None, File()] = None) -> Upload:
    """The upload form's file (at most one byte over the package limit: the service refuses more); none is empty."""
    if file is None:
        return Upload("", "application/octet-stream", b"")
    content = await file.read(upgrades.PACKAGE_RULES.max_bytes + 1)
    return Upload(file.filename or "", file.content_type or "application/octet-stream", content)


PackageUpload = Annotated[Upload, Depends(read_package_upload)]


def _form_run(request: Request, db: DbDep, user: Principal, csrf_token: str, which: str, form: dict[str, str],
              action: Callable[[], Any], done: Callable[[Any], str]) -> Response:
    """Run a packages-page form: 303 to ``done(result)``, or the page again with the refusal beside the form."""
    check_csrf(request, csrf_token)
    try:
        result = action()
    except PosopsError as exc:
        refused = form_refusal(exc, page_lang(request))
        try:
            return _packages_page(request, db, user, forms={which: form}, refused=refused, refused_in=which)
        except PosopsError:
            raise exc from None  # the caller may not read the page either: the refusal itself, on the error page
    return RedirectResponse(done(result), status_code=303)


@router.post("/upgrades/packages", response_class=HTMLResponse)
def upload_package(request: Request, db: DbDep, user: PageUser, settings: SettingsDep, upload: PackageUpload,
                   csrf_token: Field = "", kind: Field = "", model: Field = "", version: Field = "",
                   sha256: Field = "", size_bytes: Field = "", notes_zh: Field = "", notes_en: Field = "") -> Response:
    """Register a package with its file (desk); a file that does not hash to the SHA-256 given is refused, unstored."""
    form = {"kind": kind, "model": model, "version": version, "sha256": sha256, "size_bytes": size_bytes,
            "notes_zh": notes_zh, "notes_en": notes_en}

    def action() -> PackageOut:
        require_role(user, *upgrades.DESK)
        data = validated(PackageIn, {**form, "size_bytes": size_bytes.strip() or None})
        return upgrades.register_package(db, user, data, upload, var_dir=settings.var_dir)
    return _form_run(request, db, user, csrf_token, "package", form, action,
                     lambda p: f"/upgrades/packages?added={p.id}")


@router.post("/upgrades/compatibility", response_class=HTMLResponse)
def set_cell(request: Request, db: DbDep, user: PageUser, csrf_token: Field = "", model: Field = "",
             firmware: Field = "", app: Field = "", compatible: Field = "1", note: Field = "") -> Response:
    """Set one cell of the compatibility matrix: this app version on this model with this firmware (desk)."""
    form = {"model": model, "firmware": firmware, "app": app, "compatible": compatible, "note": note}

    def action() -> object:
        data = validated(CompatibilityIn, {**form, "compatible": compatible != "0"})
        return upgrades.set_compatibility(db, user, data)
    return _form_run(request, db, user, csrf_token, "cell", form, action,
                     lambda _: "/upgrades/packages#compatibility")


@router.post("/upgrades/minimums", response_class=HTMLResponse)
def set_minimum(request: Request, db: DbDep, user: PageUser, csrf_token: Field = "", model: Field = "",
                kind: Field = "", version: Field = "", acquirer: Field = "") -> Response:
    """Record the lowest version the acquirer accepts on a model (desk)."""
    form = {"model": model, "kind": kind, "version": version, "acquirer": acquirer}
    return _form_run(request, db, user, csrf_token, "minimum", form,
                     lambda: upgrades.set_minimum(db, user, validated(MinimumIn, form)),
                     lambda _: "/upgrades/packages#minimums")


# the campaign builder -------------------------------------------------------------------------


@dataclass
class CampaignForm:
    """The builder's fields as typed, to show again; :meth:`data` reads them into a campaign."""

    name: str = ""
    package_id: str = ""
    regions: str = ""
    merchant_ids: str = ""
    current_versions: str = ""
    tags: str = ""
    waves: list[tuple[str, str]] = field(default_factory=lambda: [(str(p), "240") for p in (1, 10, 50, 100)])
    window_start: str = "01:00"
    window_end: str = "05:00"
    wifi_only: bool = False
    force: bool = False
    starts_at: str = ""
    expires_at: str = ""

    def rows(self) -> list[tuple[str, str]]:
        """The wave rows to show: those typed, then blank ones up to the table's size."""
        return [*self.waves, *[("", "")] * max(0, WAVE_ROWS - len(self.waves))]

    def data(self) -> CampaignIn:
        """The campaign these fields describe, or Invalid naming the fields at fault."""
        waves = [{"percent": p.strip(), "soak_minutes": s.strip() or "240"} for p, s in self.waves if p.strip()]
        values: dict[str, Any] = {
            "name": self.name, "package_id": self.package_id.strip() or None,
            "filter": {"regions": _items(self.regions), "merchant_ids": _items(self.merchant_ids),
                       "current_versions": _items(self.current_versions), "tags": _items(self.tags)},
            "window_start": self.window_start.strip() or None, "window_end": self.window_end.strip() or None,
            "wifi_only": self.wifi_only, "force": self.force,
            "starts_at": _instant(self.starts_at, "starts_at"), "expires_at": _instant(self.expires_at, "expires_at")}
        if waves:
            values["waves"] = waves
        return validated(CampaignIn, values)


def campaign_form(name: Field = "", package_id: Field = "", regions: Field = "", merchant_ids: Field = "",
                  current_versions: Field = "", tags: Field = "", wave_percent: WaveColumn = None,
                  wave_soak: WaveColumn = None, window_start: Field = "", window_end: Field = "",
                  wifi_only: Field = "", mode: Field = "soft", starts_at: Field = "",
                  expires_at: Field = "") -> CampaignForm:
    """Read the builder's form (a wave row is its percent and soak minutes; a row without a percent is unused)."""
    percents, soaks = wave_percent or [], wave_soak or []
    rows = [(p, soaks[i] if i < len(soaks) else "") for i, p in enumerate(percents)]
    return CampaignForm(name=name, package_id=package_id, regions=regions, merchant_ids=merchant_ids,
                        current_versions=current_versions, tags=tags, waves=[r for r in rows if r[0].strip()],
                        window_start=window_start, window_end=window_end, wifi_only=wifi_only == "1",
                        force=mode == "force", starts_at=starts_at, expires_at=expires_at)


CampaignFormDep = Annotated[CampaignForm, Depends(campaign_form)]


def _builder(request: Request, db: DbDep, user: Principal, form: CampaignForm, *, preview: PreviewOut | None = None,
             refused: Refusal | None = None) -> HTMLResponse:
    require_role(user, *upgrades.DESK)
    packages = upgrades.list_packages(db, user)
    return _render(request, user, "upgrades/new.html", {
        "form": form, "packages": _by_model(packages), "preview": preview, "refusal": refused,
        "zone": display_zone().key}, refused.status if refused else 200)


@router.get("/upgrades/campaigns/new", response_class=HTMLResponse)
def new_campaign(request: Request, db: DbDep, user: PageUser, package: Id | None = None) -> HTMLResponse:
    """The campaign builder (desk), for the package named or one to choose."""
    return _builder(request, db, user, CampaignForm(package_id=str(package) if package else ""))


@router.post("/upgrades/campaigns/preview", response_class=HTMLResponse)
def preview_campaign(request: Request, db: DbDep, user: PageUser, form: CampaignFormDep,
                     csrf_token: Field = "") -> HTMLResponse:
    """The builder again with what the campaign would do: its targets wave by wave, and who is left out and why."""
    check_csrf(request, csrf_token)
    try:
        preview = upgrades.preview_campaign(db, user, form.data())
    except PosopsError as exc:
        return _builder(request, db, user, form, refused=form_refusal(exc, page_lang(request)))
    return _builder(request, db, user, form, preview=preview)


@router.post("/upgrades/campaigns", response_class=HTMLResponse)
def create_campaign(request: Request, db: DbDep, user: PageUser, form: CampaignFormDep,
                    csrf_token: Field = "") -> Response:
    """Create the campaign previewed (desk): it waits for a second person's approval; its page follows."""
    check_csrf(request, csrf_token)
    try:
        created = upgrades.create_campaign(db, user, form.data())
    except PosopsError as exc:
        return _builder(request, db, user, form, refused=form_refusal(exc, page_lang(request)))
    return RedirectResponse(f"/upgrades/campaigns/{created.id}", status_code=303)


# campaigns ------------------------------------------------------------------------------------


@router.get("/upgrades/campaigns", response_class=HTMLResponse)
def campaigns_page(request: Request, db: DbDep, user: PageUser, status: Word = "",
                   page: PageNumber = 1) -> HTMLResponse:
    """Campaigns, newest first, with their installs and failures; ``status`` keeps one status."""
    chosen = CampaignStatus(status) if status in {*CampaignStatus} else None
    result = upgrades.list_campaigns(db, user, status=chosen, page=page, per_page=CONSOLE_PER_PAGE)
    return _render(request, user, "upgrades/campaigns.html", {"result": result, "status": chosen or "",
                                                         "statuses": list(CampaignStatus)})


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class WaveView:
    """A wave on the campaign page: the wave, its states in order, and its two charts (None before it opens)."""

    wave: WaveOut
    states: list[tuple[str, int]]
    installs: str | None
    health: str | None
    worst: str | None
    """The health signal furthest above control at the latest check (the health chart's line)."""


def wave_view(campaign: CampaignOut, wave: WaveOut, lang: str, now: datetime) -> WaveView:
    """A wave's counts and charts: installed and failed shares over the gate's checks, and health against control.

    The current wave of a running or paused campaign also shows its counts as of ``now``.
    """
    states = [(s.value, wave.states[s]) for s in STATE_ORDER if wave.states.get(s)]
    checks = [(_aware(datetime.fromisoformat(p["at"])), p) for p in wave.history]
    live = wave.opened and wave.index == campaign.current_wave and campaign.status in (
        CampaignStatus.RUNNING, CampaignStatus.PAUSED)
    if not checks and not live:
        return WaveView(wave, states, None, None, None)
    installed = [(at, p["installed"] / max(p["targeted"], 1)) for at, p in checks]
    failed = [(at, p["failed"] / max(p["targeted"], 1)) for at, p in checks]
    opened = [_aware(campaign.wave_opened_at)] if live and campaign.wave_opened_at else []
    if opened and not checks:  # nothing was installed when the wave opened
        installed.append((opened[0], 0.0))
        failed.append((opened[0], 0.0))
    if live:
        installed.append((now, wave.states.get(TargetState.INSTALLED, 0) / max(wave.targeted, 1)))
        failed.append((now, wave.states.get(TargetState.FAILED, 0) / max(wave.targeted, 1)))
    moments = [at for at, _ in installed] + opened
    since = min(moments) - timedelta(minutes=2)
    until = max(max(moments), since + timedelta(minutes=30))
    zone = display_zone()

    def pct(points: Sequence[tuple[datetime, float]]) -> str:
        return f"{points[-1][1]:.0%}" if points else "—"

    installs = charts.lines_chart(
        [charts.Series(translate("upgrades.page.chart.installed", lang, share=pct(installed)), installed, "ok"),
         charts.Series(translate("upgrades.page.chart.failed", lang, share=pct(failed)), failed, "bad")],
        since=since, until=until, y_min=0, y_max=1, unit="%", scale=100, zone=zone,
        label=translate("upgrades.page.chart.installs_title", lang, wave=wave.index + 1))
    treated = [(at, float(p["treated_rate"])) for at, p in checks]
    control = [(at, float(p["control_rate"])) for at, p in checks]
    top = max([0.05, *(v * 1.25 for _, v in treated + control)])
    health = charts.lines_chart(
        [charts.Series(translate("upgrades.page.chart.treated", lang, share=pct(treated)), treated, "line"),
         charts.Series(translate("upgrades.page.chart.control", lang, share=pct(control)), control, "muted")],
        since=since, until=until, y_min=0, y_max=min(top, 1.0), unit="%", scale=100, zone=zone,
        label=translate("upgrades.page.chart.health_title", lang, wave=wave.index + 1),
        empty_text=translate("upgrades.page.chart.no_check", lang))
    worst = checks[-1][1].get("signal") if checks else None
    return WaveView(wave, states, installs, health, worst)


def _approval_refusal(user: Principal, campaign: CampaignOut, lang: str) -> str | None:
    """Why the viewer may not approve the campaign (they created it), said before anyone clicks; None otherwise."""
    if campaign.status != CampaignStatus.AWAITING_APPROVAL or user.role not in upgrades.DESK:
        return None
    said = second_person_refusal(user, [Maker(campaign.created_by, None, "upgrades.maker.created")],
                                 key="upgrades.error.second_person")
    return said.text(lang) if said is not None else None


def _campaign_page(request: Request, db: DbDep, user: Principal, campaign_id: int,
                   refused: Refusal | None = None) -> HTMLResponse:
    campaign = upgrades.get_campaign(db, user, campaign_id)
    lang = page_lang(request)
    now = utcnow()
    return _render(request, user, "upgrades/campaign.html", {
        "campaign": campaign, "waves": [wave_view(campaign, w, lang, now) for w in campaign.waves],
        "actions": set(campaign.actions), "approval_refusal": _approval_refusal(user, campaign, lang),
        "refusal": refused}, refused.status if refused else 200)


@router.get("/upgrades/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_page(request: Request, campaign_id: Id, db: DbDep, user: PageUser) -> HTMLResponse:
    """A campaign: status, package, who built and approved it, each wave's charts and signals, and its buttons."""
    return _campaign_page(request, db, user, campaign_id)


def _act(request: Request, db: DbDep, user: Principal, campaign_id: int, csrf_token: str,
         action: Callable[[], CampaignOut]) -> Response:
    """Run a campaign button: 303 to the campaign it leaves (a rollback: the new one), or its page with the refusal."""
    check_csrf(request, csrf_token)
    try:
        result = action()
    except PosopsError as exc:
        try:
            return _campaign_page(request, db, user, campaign_id, form_refusal(exc, page_lang(request)))
        except PosopsError:
            raise exc from None  # the caller may not see the campaign: the refusal itself, on the error page
    return RedirectResponse(f"/upgrades/campaigns/{result.id}", status_code=303)


@router.post("/upgrades/campaigns/{campaign_id}/approve")
def approve(request: Request, campaign_id: Id, db: DbDep, user: PageUser, csrf_token: Field = "") -> Response:
    """Approve the campaign (desk, not its creator); it starts at its start time, or now."""
    return _act(request, db, user, campaign_id, csrf_token, lambda: upgrades.approve_campaign(db, user, campaign_id))


def _reason(reason: str) -> HaltIn:
    return validated(HaltIn, {"reason": reason})


@router.post("/upgrades/campaigns/{campaign_id}/pause")
def pause(request: Request, campaign_id: Id, db: DbDep, user: PageUser, csrf_token: Field = "",
          reason: Field = "") -> Response:
    """Pause the running campaign, saying why: no new offers until it is resumed."""
    return _act(request, db, user, campaign_id, csrf_token,
                lambda: upgrades.pause_campaign(db, user, campaign_id, _reason(reason)))


@router.post("/upgrades/campaigns/{campaign_id}/resume")
def resume(request: Request, campaign_id: Id, db: DbDep, user: PageUser, csrf_token: Field = "",
           reason: Field = "") -> Response:
    """Resume the paused campaign, saying why; its wave's soak starts again."""
    return _act(request, db, user, campaign_id, csrf_token,
                lambda: upgrades.resume_campaign(db, user, campaign_id, _reason(reason)))


@router.post("/upgrades/campaigns/{campaign_id}/cancel")
def cancel(request: Request, campaign_id: Id, db: DbDep, user: PageUser, csrf_token: Field = "",
           reason: Field = "") -> Response:
    """Cancel the campaign, saying why; terminals not yet installed are no longer offered it."""
    return _act(request, db, user, campaign_id, csrf_token,
                lambda: upgrades.cancel_campaign(db, user, campaign_id, _reason(reason)))


@router.post("/upgrades/campaigns/{campaign_id}/rollback")
def rollback(request: Request, campaign_id: Id, db: DbDep, user: PageUser, csrf_token: Field = "") -> Response:
    """Roll the halted campaign's terminals back to the version they ran: the new rollback campaign's page follows."""
    return _act(request, db, user, campaign_id, csrf_token, lambda: upgrades.rollback_campaign(db, user, campaign_id))
