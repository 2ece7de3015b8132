"""The console's home page at /: today's work for the desk, my terminals for a merchant, my visits for a technician.

Every figure on it links to the list it counts, with the list's own filters; the desk's charts are
inline SVG drawn by :mod:`posops.home.charts`, every label in the page's language.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from posops.core.db import utcnow
from posops.core.deps import DbDep, PageNumber
from posops.core.i18n import translate
from posops.core.web import CONSOLE_PER_PAGE, PageUser, page_lang, render, template_vocabulary
from posops.diagnosis.knowledge import load_knowledge
from posops.fleet.presence import Presence
from posops.home import service
from posops.home.charts import TONES, Bar, Segment, StackedRow, bar_chart, stacked_chart
from posops.home.service import DeskDay, StepKind
from posops.reactivation.conditions import RequestStatus
from posops.terminals.lifecycle import TerminalStatus
from posops.tickets.lifecycle import TicketStatus

router = APIRouter(include_in_schema=False)
template_vocabulary(Presence, StepKind, RequestStatus, TerminalStatus, TicketStatus)


def symptom_name(symptom: str, lang: str) -> str:
    """A taxonomy symptom in the page's language; one the knowledge base does not know is "other symptom"."""
    known = load_knowledge().symptoms.get(symptom)
    return known.name(lang) if known is not None else translate("home.chart.faults.unknown", lang)


def desk_charts(day: DeskDay, lang: str) -> dict[str, str]:
    """The desk's four charts as SVG: fleet by status, online share by region, app versions, faults by symptom."""
    def t(key: str, **values: object) -> str:
        return translate(key, lang, **values)

    empty = t("home.chart.empty")
    by_status = bar_chart([Bar(t(f"status.{status}"), n, f"/terminals?status={status}", status)
                           for status, n in day.by_status], title=t("home.chart.status.title"), empty_text=empty)
    regions = stacked_chart([StackedRow(
        g.region or t("home.chart.region.none"),
        [Segment(g.online, "ok", t("home.online")), Segment(g.offline, "bad", t("home.offline")),
         Segment(g.never, "muted", t("home.never"))],
        t("home.chart.region.share", pct=round(100 * g.online_share), online=g.online, total=g.total), g.region,
        t("home.chart.region.detail", online=g.online, offline=g.offline, never=g.never))
        for g in day.regions], title=t("home.chart.region.title"), empty_text=empty)
    versions = bar_chart([Bar(t("home.chart.version.other") if v is None else v or t("home.chart.version.unrecorded"),
                              n, key="" if v is None else f"v:{v}") for v, n in day.versions],
                         title=t("home.chart.version.title"), empty_text=empty, tone="warn")
    faults = bar_chart([Bar(symptom_name(s, lang), n, key=s) for s, n in day.faults],
                       title=t("home.chart.faults.title", days=day.fault_days), empty_text=empty, tone="bad")
    return {"status": by_status, "regions": regions, "versions": versions, "faults": faults}


@router.get("/", response_class=HTMLResponse)
def home(request: Request, db: DbDep, user: PageUser, page: PageNumber = 1) -> HTMLResponse:
    """The caller's home page: 今日工作 (desk), 我的终端 (merchant) or 我的上门任务 (technician)."""
    now = utcnow()
    window = service.online_window_minutes(now)
    if user.is_merchant:
        mine = service.merchant_home(db, user, page=page, per_page=CONSOLE_PER_PAGE, now=now)
        return render(request, "home/merchant.html", {"home": mine, "window": window})
    if user.role in service.DESK:
        day = service.desk_day(db, user, now)
        return render(request, "home/desk.html", {"day": day, "charts": desk_charts(day, page_lang(request)),
                                                  "now": now, "window": window, "tones": TONES,
                                                  "top_versions": service.TOP_VERSIONS})
    visits = service.technician_visits(db, user, page=page, per_page=CONSOLE_PER_PAGE, now=now)
    return render(request, "home/technician.html", {"visits": visits})
