"""What the demo holds, counted from the database: the paragraph `posops demo load` ends with.

Counted, not remembered, so a second load (which adds nothing) says the same as the first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from posops.diagnosis.models import DiagnosisSession
from posops.diagnosis.vocabulary import SessionStatus
from posops.iso8583.models import TerminalTrafficRecord, TrafficAnalysis
from posops.onboarding.models import OnboardingApplication
from posops.onboarding.workflow import ApplicationStatus
from posops.reactivation.conditions import RequestStatus
from posops.reactivation.models import ReactivationRequest
from posops.telemetry.analytics import IncidentStatus
from posops.telemetry.models import HeartbeatRecord, Incident, TelemetrySnapshot
from posops.telemetry.service import online_since
from posops.terminals.lifecycle import TerminalStatus
from posops.terminals.models import Merchant, Terminal
from posops.tickets.models import Loaner, Ticket
from posops.upgrades.models import Campaign
from posops.upgrades.schemas import CampaignStatus


@dataclass(frozen=True)
class DemoSummary:
    """How much of each kind the demo left in the database."""

    merchants: int
    terminals: int
    """The merchants' fleet, the loaner pool left out."""
    suspended: int
    onboarding: int
    repairs: int
    """Repair tickets, open and closed."""
    heartbeats: int
    history_days: int
    online: int
    offline: int
    never_seen: int
    incidents: dict[str, int]
    traffic_imports: int
    traffic_terminals: int
    traffic_failing: int
    """Terminals whose newest imported traffic has failures (declines, timeouts, refused sign-ins)."""
    diagnoses: dict[str, int]
    requests: dict[str, int]
    """Reactivation requests by status."""
    applications: dict[str, int]
    """Onboarding applications by status."""
    campaigns: dict[str, int]
    """Software upgrade campaigns by status."""
    showcase: tuple[str, ...] = field(default=())
    """Serial numbers of the terminals to look at first (a healthy one, a suspended one); known on the first load."""

    def paragraph(self) -> str:
        """The summary as one paragraph of plain English (numbers, then what they count)."""
        completed = sum(n for status, n in self.diagnoses.items() if status != SessionStatus.OPEN)
        text = (
            f"{self.merchants} merchants, {self.terminals} terminals ({self.suspended} suspended, "
            f"{self.onboarding} being installed), {self.repairs} repair tickets; "
            f"telemetry: {self.heartbeats} heartbeats over {self.history_days} days, {self.online} terminals online, "
            f"{self.offline} offline, {self.never_seen} never seen; "
            f"incidents: {self.incidents.get(IncidentStatus.OPEN, 0)} open, "
            f"{self.incidents.get(IncidentStatus.CLOSED, 0)} closed; "
            f"traffic: {self.traffic_imports} import of {self.traffic_terminals} terminals, "
            f"{self.traffic_failing} with failures; "
            f"diagnoses: {completed} completed, {self.diagnoses.get(SessionStatus.OPEN, 0)} in progress; "
            f"reactivation requests: {_by_status(self.requests, RequestStatus)}; "
            f"onboarding applications: {_by_status(self.applications, ApplicationStatus)}; "
            f"upgrade campaigns: {_by_status(self.campaigns, CampaignStatus)}.")
        if self.showcase:
            text += f" Start with terminals {self.showcase[0]} (healthy) and {self.showcase[1]} (suspended)."
        return text


def _by_status(counts: dict[str, int],
               order: type[RequestStatus] | type[ApplicationStatus] | type[CampaignStatus]) -> str:
    shown = [f"{counts[s]} {s.value.replace('_', ' ')}" for s in order if counts.get(s)]
    return ", ".join(shown) or "none"


def count_demo(session: Session, merchants: list[Merchant]) -> DemoSummary:
    """Count what the demo merchants' fleet and the demo's other parts hold now (read only)."""
    fleet = (Terminal.merchant_id.in_([m.id for m in merchants]), Terminal.id.not_in(select(Loaner.terminal_id)))
    statuses = dict(session.execute(select(Terminal.status, func.count()).where(*fleet)
                                    .group_by(Terminal.status)).all())
    since = online_since()
    reported, online = session.execute(
        select(func.count(), func.coalesce(func.sum(case((TelemetrySnapshot.last_seen_at >= since, 1), else_=0)), 0))
        .join(Terminal, Terminal.id == TelemetrySnapshot.terminal_id).where(*fleet)).one()
    offline = reported - online
    first = session.scalar(select(func.min(HeartbeatRecord.received_at)))
    last = session.scalar(select(func.max(HeartbeatRecord.received_at)))
    latest = (select(TerminalTrafficRecord.terminal_id, func.max(TerminalTrafficRecord.id).label("id"))
              .group_by(TerminalTrafficRecord.terminal_id).subquery())
    failing = session.scalars(select(TerminalTrafficRecord.summary)
                              .join(latest, latest.c.id == TerminalTrafficRecord.id)).all()
    return DemoSummary(
        merchants=len(merchants), terminals=sum(statuses.values()),
        suspended=statuses.get(TerminalStatus.SUSPENDED, 0), onboarding=statuses.get(TerminalStatus.ONBOARDING, 0),
        repairs=session.scalar(select(func.count(Ticket.id))) or 0,
        heartbeats=session.scalar(select(func.count()).select_from(HeartbeatRecord)) or 0,
        history_days=round((last - first).total_seconds() / 86400) if first and last else 0,
        online=online, offline=offline, never_seen=sum(statuses.values()) - reported,
        incidents=_counts(session, Incident.status),
        traffic_imports=session.scalar(select(func.count(TrafficAnalysis.id))) or 0,
        traffic_terminals=len(failing),
        traffic_failing=sum(1 for summary in failing if summary.get("failures") or summary.get("timeouts")),
        diagnoses=_counts(session, DiagnosisSession.status), requests=_counts(session, ReactivationRequest.status),
        applications=_counts(session, OnboardingApplication.status), campaigns=_counts(session, Campaign.status))


def _counts(session: Session, column: Any) -> dict[str, int]:
    return {str(status): n for status, n in session.execute(select(column, func.count()).group_by(column))}
