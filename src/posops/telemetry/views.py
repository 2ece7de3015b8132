"""Console pages of fleet telemetry: the incidents list and an incident's timeline (a merchant sees its own)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from posops.core.config import get_settings
from posops.core.db import utcnow
from posops.core.deps import DbDep
from posops.core.export import Column, csv_response, first_rows
from posops.core.i18n import translate
from posops.core.inputs import Id, Word
from posops.core.web import PageUser, TerminalSection, display_zone, page_lang, render, template_vocabulary, templates
from posops.telemetry import charts, service
from posops.telemetry.analytics import DEFAULT_INCIDENT_POLICY, Dimension, IncidentPolicy, IncidentStatus
from posops.telemetry.evidence import DEFAULT_POLICY
from posops.telemetry.schemas import IncidentDetail, IncidentRef, Point

router = APIRouter(include_in_schema=False)
template_vocabulary(IncidentStatus)


INCIDENTS_LISTED = 100
"""How many incidents the list shows (open first, then the newest): the page and its CSV alike."""


def _listed_incidents(db: DbDep, user: PageUser, status: str) -> tuple[str | None, list[IncidentRef]]:
    chosen = status if status in {*IncidentStatus} else None
    return chosen, service.list_incidents(db, user, status=chosen, limit=INCIDENTS_LISTED)


@router.get("/incidents", response_class=HTMLResponse)
def incidents_page(request: Request, db: DbDep, user: PageUser, status: Word = "") -> HTMLResponse:
    """Open and recent incidents: which group, since when, how many terminals failing."""
    chosen, incidents = _listed_incidents(db, user, status)
    return render(request, "telemetry/incidents.html", {"incidents": incidents, "status": chosen or ""})


@router.get("/incidents.csv")
def incidents_export(request: Request, db: DbDep, user: PageUser, status: Word = "") -> Response:
    """The incidents the list shows, as CSV (see posops.core.export)."""
    _, incidents = _listed_incidents(db, user, status)
    lang = page_lang(request)
    return csv_response(first_rows(incidents), [
        Column("export.number", lambda i: i.id),
        Column("telemetry.incident.group", lambda i: translate(f"telemetry.dimension.{i.dimension}", lang)),
        Column("export.group_first", lambda i: i.group_first),
        Column("export.group_second", lambda i: i.group_second),
        Column("telemetry.incident.status", lambda i: translate(f"telemetry.status.{i.status}", lang)),
        Column("telemetry.incident.opened_at", lambda i: i.opened_at),
        Column("telemetry.incident.closed_at", lambda i: i.closed_at),
        Column("export.failing", lambda i: i.failing),
        Column("export.terminals_in_group", lambda i: i.terminals),
        Column("export.share", lambda i: f"{i.share:.0%}"),
        Column("telemetry.incident.affected", lambda i: i.affected),
    ], lang=lang, name="incidents")


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident_page(request: Request, incident_id: Id, db: DbDep, user: PageUser) -> HTMLResponse:
    """One incident: its timeline chart and the terminals it affected."""
    incident = service.get_incident(db, user, incident_id)
    # A campaign's incident is one judgement of its gate, not a series of scans: its charts are the campaign's.
    chart = "" if incident.dimension == Dimension.CAMPAIGN else timeline_chart(incident, page_lang(request))
    return render(request, "telemetry/incident.html", {"incident": incident, "chart": chart})


def timeline_chart(incident: IncidentDetail, lang: str, policy: IncidentPolicy = DEFAULT_INCIDENT_POLICY) -> str:
    """The failing share at each scan, against the baseline and the opening and closing thresholds."""
    until = incident.closed_at or utcnow()
    first = incident.samples[0].at if incident.samples else incident.opened_at
    since = min(first, incident.opened_at) - timedelta(minutes=2)
    if until - since < timedelta(minutes=10):
        until = since + timedelta(minutes=10)
    baseline = max(incident.baseline, policy.baseline_floor)
    opens = max(policy.open_share, policy.open_ratio * baseline)
    calm = max(policy.close_share, policy.close_ratio * baseline)
    references = [charts.Reference(opens, translate("telemetry.chart.opens_at", lang, share=f"{opens:.0%}"), "bad"),
                  charts.Reference(calm, translate("telemetry.chart.closes_at", lang, share=f"{calm:.0%}"), "warn"),
                  charts.Reference(incident.baseline, translate("telemetry.chart.baseline", lang,
                                                                share=f"{incident.baseline:.0%}"), "muted")]
    return charts.line_chart([(s.at, s.share) for s in incident.samples], since=since, until=until, y_min=0,
                             y_max=1, unit="%", scale=100, label=translate("telemetry.chart.failing_share", lang),
                             references=references, gap=timedelta(minutes=5), zone=display_zone())


def terminal_charts(section: service.TelemetrySection, lang: str) -> dict[str, str]:
    """The terminal page's battery, signal and read-error charts as inline SVG, labelled in ``lang``."""
    history = section.history
    span = history.until - history.since
    # Points further apart than this are not joined: the terminal was offline in between.
    quiet = 2 * timedelta(seconds=get_settings().telemetry_offline_after_s)
    gap = max(span / 60 * 3, quiet)

    def series(points: list[Point]) -> list[tuple[datetime, float]]:
        return [(p.at, p.value) for p in points]

    signal = DEFAULT_POLICY.signal.get(section.network_type or "")
    signal_refs = [charts.Reference(signal.weak_below, translate("telemetry.chart.weak_below", lang,
                                                                 dbm=signal.weak_below), "warn")] if signal else []
    low = DEFAULT_POLICY.battery_low_pct
    common: dict[str, Any] = {"since": history.since, "until": history.until, "zone": display_zone(),
              "empty_text": translate("telemetry.chart.empty", lang)}
    return {
        "battery": charts.line_chart(series(history.battery_pct), y_min=0, y_max=100, unit="%",
                                     label=translate("telemetry.chart.battery", lang), gap=gap,
                                     references=[charts.Reference(low, translate("telemetry.chart.low_below", lang,
                                                                                  pct=low), "warn")], **common),
        "signal": charts.line_chart(series(history.signal_dbm), y_min=-130, y_max=-40,
                                    label=translate("telemetry.chart.signal", lang), gap=gap,
                                    references=signal_refs, **common),
        "read_errors": charts.line_chart(series(history.read_error_rate), y_min=0,
                                         y_max=max([0.1, *(p.value for p in history.read_error_rate)]),
                                         unit="%", scale=100, label=translate("telemetry.chart.read_errors", lang),
                                         gap=max(span / 24 * 3, quiet), **common),
    }


templates.env.globals["telemetry_charts"] = terminal_charts


TERMINAL_SECTION = TerminalSection(
    "telemetry/terminal_section.html",
    lambda db, user, terminal_id: {"telemetry": service.terminal_section(db, user, terminal_id)})
"""The terminal page's telemetry card: state, evidence, incidents and charts."""
