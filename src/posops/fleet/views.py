"""Console pages for finding things: global search, the terminal list with presence, merchants and a merchant's page.

Every list here has its CSV twin at ``<list path>.csv`` with the same query (see :mod:`posops.core.export`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from posops.core.deps import DbDep, PageNumber
from posops.core.errors import NotFound
from posops.core.export import EXPORT_MAX_ROWS, Column, csv_response, every_page
from posops.core.i18n import translate
from posops.core.inputs import Id, Search, Word
from posops.core.web import CONSOLE_PER_PAGE, PageUser, page_lang, render, template_vocabulary
from posops.fleet import service
from posops.fleet.presence import Presence
from posops.fleet.schemas import SORT_COLUMNS, FleetTerminalOut, MerchantRow, TerminalSort
from posops.terminals import service as terminals
from posops.terminals.lifecycle import SuspensionReason, TerminalStatus

router = APIRouter(include_in_schema=False)
template_vocabulary(Presence, TerminalStatus)
TERMINAL_QUERY = ("q", "status", "model", "region", "reason", "presence", "merchant_id", "sort")
"""The terminal list's query parameters, in the order its links spell them."""
MERCHANT_QUERY = ("name", "region", "phone")


def _link(path: str, values: Mapping[str, Any]) -> str:
    """``path`` with the non-empty ``values`` as its query."""
    query = urlencode({key: value for key, value in values.items() if value not in (None, "")})
    return f"{path}?{query}" if query else path


# search --------------------------------------------------------------------------------------


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request, db: DbDep, user: PageUser, q: Search = "") -> Response:
    """Find terminals and merchants by what a merchant reads out; one exact serial number or TID goes straight to it."""
    if not q.strip():
        return render(request, "fleet/search.html", {"q": "", "found": None})
    found = service.search(db, user, q)
    if found.exact_terminal_id is not None:
        return RedirectResponse(f"/terminals/{found.exact_terminal_id}", status_code=303)
    return render(request, "fleet/search.html", {
        "q": found.q, "found": found, "all_terminals": _link("/terminals", {"q": found.q}),
        "all_merchants": _link("/merchants", {"name": found.q}) if service.may_list_merchants(user) else None})


# the terminal list ---------------------------------------------------------------------------


def _terminal_query(q: str, status: str, model: str, region: str, reason: str, presence: str, merchant_id: str,
                    sort: str) -> dict[str, str]:
    return dict(zip(TERMINAL_QUERY, (q, status, model, region, reason, presence, merchant_id, sort), strict=True))


def _sort_links(query: dict[str, str], current: TerminalSort | None) -> dict[str, dict[str, Any]]:
    """Per sortable column: the link its header leads to (ascending, or descending when already ascending)."""
    links = {}
    for column in SORT_COLUMNS:
        active = current is not None and current.column == column
        target = TerminalSort.of(column, descending=active and current is not None and not current.descending)
        links[column] = {"url": _link("/terminals", {**query, "sort": target.value}),
                         "direction": ("descending" if current and current.descending else "ascending")
                         if active else None}
    return links


@router.get("/terminals", response_class=HTMLResponse)
def terminal_list(request: Request, db: DbDep, user: PageUser, q: Search = "", status: Word = "", model: Search = "",
                  region: Search = "", reason: Word = "", presence: Word = "", merchant_id: Word = "", sort: Word = "",
                  page: PageNumber = 1) -> HTMLResponse:
    """Terminals with filters (text, status, model, region, reason, presence), sortable columns, paging, CSV."""
    query = _terminal_query(q, status, model, region, reason, presence, merchant_id, sort)
    filters = service.fleet_filters(query)
    result = service.list_terminals(db, user, filters, page=page, per_page=CONSOLE_PER_PAGE)
    merchant_name = None
    if filters.merchant_id is not None:
        try:
            merchant_name = terminals.get_merchant(db, user, filters.merchant_id).name
        except NotFound:
            merchant_name = None  # another merchant's: the list is empty, and says nothing of it
    return render(request, "fleet/terminals.html", {
        "result": result, "query": query, "statuses": tuple(TerminalStatus),
        "reasons": tuple(SuspensionReason), "presences": tuple(Presence), "sorts": tuple(TerminalSort),
        "models": terminals.terminal_models(db, user), "sort_links": _sort_links(query, filters.sort),
        "merchant_name": merchant_name, "all_merchants": _link("/terminals", {**query, "merchant_id": ""}),
        "page_link": _link("/terminals", query) + ("&" if any(query.values()) else "?") + "page=",
        "export_link": _link("/terminals.csv", query), "may_list_merchants": service.may_list_merchants(user)})


def terminal_columns(lang: str) -> list[Column[FleetTerminalOut]]:
    """The terminal list's CSV columns (headers and labels in ``lang``)."""
    return [
        Column("field.serial_number", lambda t: t.serial_number, verbatim=True),
        Column("field.tid", lambda t: t.tid, verbatim=True),
        Column("field.mid", lambda t: t.mid, verbatim=True),
        Column("field.model", lambda t: t.model),
        Column("field.merchant", lambda t: t.merchant_name),
        Column("field.region", lambda t: t.region),
        Column("field.app_version", lambda t: t.app_version),
        Column("field.status", lambda t: translate(f"status.{t.status}", lang)),
        Column("terminals.lifecycle.reason",
               lambda t: translate(f"reason.{t.status_reason}", lang) if t.status_reason else None),
        Column("fleet.presence", lambda t: translate(f"fleet.presence.{t.presence}", lang)),
        Column("fleet.last_seen", lambda t: t.last_seen_at),
    ]


@router.get("/terminals.csv")
def terminal_export(request: Request, db: DbDep, user: PageUser, q: Search = "", status: Word = "", model: Search = "",
                    region: Search = "", reason: Word = "", presence: Word = "", merchant_id: Word = "",
                    sort: Word = "") -> Response:
    """The terminal list's filtered rows, every page, as CSV."""
    filters = service.fleet_filters(_terminal_query(q, status, model, region, reason, presence, merchant_id, sort))
    rows = service.export_terminals(db, user, filters, limit=EXPORT_MAX_ROWS)  # one query, not 25 counted pages
    lang = page_lang(request)
    return csv_response(rows, terminal_columns(lang), lang=lang, name="terminals")


# merchants -----------------------------------------------------------------------------------


@router.get("/merchants", response_class=HTMLResponse)
def merchant_list(request: Request, db: DbDep, user: PageUser, name: Search = "", region: Search = "",
                  phone: Search = "", page: PageNumber = 1) -> HTMLResponse:
    """The desk's merchant list: filter by name, region or contact phone; each opens the merchant's page."""
    query = dict(zip(MERCHANT_QUERY, (name, region, phone), strict=True))
    result = service.list_merchants(db, user, service.merchant_filters(query), page=page, per_page=CONSOLE_PER_PAGE)
    return render(request, "fleet/merchants.html", {
        "result": result, "query": query,
        "page_link": _link("/merchants", query) + ("&" if any(query.values()) else "?") + "page=",
        "export_link": _link("/merchants.csv", query)})


def merchant_columns() -> list[Column[MerchantRow]]:
    """The merchant list's CSV columns."""
    return [
        Column("fleet.merchants.name", lambda m: m.name),
        Column("fleet.merchants.legal_id", lambda m: m.legal_id, verbatim=True),
        Column("fleet.merchants.region", lambda m: m.region),
        Column("fleet.merchants.contact", lambda m: m.contact_name),
        Column("fleet.merchants.phone", lambda m: m.contact_phone, verbatim=True),
        Column("fleet.merchants.terminals", lambda m: m.terminals),
        Column("fleet.merchants.suspended", lambda m: m.suspended),
    ]


@router.get("/merchants.csv")
def merchant_export(request: Request, db: DbDep, user: PageUser, name: Search = "", region: Search = "",
                    phone: Search = "") -> Response:
    """The merchant list's filtered rows, every page, as CSV."""
    filters = service.merchant_filters(dict(zip(MERCHANT_QUERY, (name, region, phone), strict=True)))
    rows = every_page(lambda number, size: service.list_merchants(db, user, filters, page=number, per_page=size))
    return csv_response(rows, merchant_columns(), lang=page_lang(request), name="merchants")


@router.get("/merchants/{merchant_id}", response_class=HTMLResponse)
def merchant_page(request: Request, merchant_id: Id, db: DbDep, user: PageUser) -> HTMLResponse:
    """One merchant: details, fee plan, terminals with presence, requests, applications, notices, diagnoses, tickets."""
    overview = service.merchant_overview(db, user, merchant_id)
    return render(request, "fleet/merchant.html", {
        "o": overview, "m": overview.merchant,
        "all_terminals": _link("/terminals", {"merchant_id": merchant_id})})
