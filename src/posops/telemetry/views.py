"""Console pages of fleet telemetry: the incidents list and an incident's timeline (a merchant sees its own)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from posops.core.db import utcnow
from posops.core.deps import DbDep
from posops.core.web import PageUser, TerminalSection, render, template_vocabulary
from posops.telemetry import charts, service
from posops.telemetry.analytics import DEFAULT_INCIDENT_POLICY, IncidentPolicy, IncidentStatus
from posops.telemetry.schemas import IncidentDetail

router = APIRouter(include_in_schema=False)
template_vocabulary(IncidentStatus)


@router.get("/incidents", response_class=HTMLResponse)
def incidents_page(request: Request, db: DbDep, user: PageUser, status: str = "") -> HTMLResponse:
    """Open and recent incidents: which group, since when, how many terminals failing."""
    chosen = status if status in {*IncidentStatus} else None
    incidents = service.list_incidents(db, user, status=chosen, limit=100)
    return render(request, "telemetry/incidents.html", {"incidents": incidents, "status": chosen or ""})


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident_page(request: Request, incident_id: int, db: DbDep, user: PageUser) -> HTMLResponse:
    """One incident: its timeline chart and the terminals it affected."""
    incident = service.get_incident(db, user, incident_id)
    return render(request, "telemetry/incident.html", {"incident": incident, "chart": timeline_chart(incident)})


def timeline_chart(incident: IncidentDetail, policy: IncidentPolicy = DEFAULT_INCIDENT_POLICY) -> str:
    """The failing share at each scan, against the baseline and the opening and closing thresholds."""
    until = incident.closed_at or utcnow()
    first = incident.samples[0].at if incident.samples else incident.opened_at
    since = min(first, incident.opened_at) - timedelta(minutes=2)
    if until - since < timedelta(minutes=10):
        until = since + timedelta(minutes=10)
    baseline = max(incident.baseline, policy.baseline_floor)
    opens = max(policy.open_share, policy.open_ratio * baseline)
    calm = max(policy.close_share, policy.close_ratio * baseline)
    references = [charts.Reference(opens, f"open {opens:.0%}", "bad"),
                  charts.Reference(calm, f"close {calm:.0%}", "warn"),
                  charts.Reference(incident.baseline, f"baseline {incident.baseline:.0%}", "muted")]
    return charts.line_chart([(s.at, s.share) for s in incident.samples], since=since, until=until, y_min=0,
                             y_max=1, unit="%", scale=100, label="failing share", references=references,
                             gap=timedelta(minutes=5))


TERMINAL_SECTION = TerminalSection(
    "telemetry/terminal_section.html",
    lambda db, user, terminal_id: {"telemetry": service.terminal_section(db, user, terminal_id)})
"""The terminal page's telemetry card: state, evidence, incidents and charts."""
