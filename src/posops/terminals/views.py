"""Console pages for terminals: the filtered list and the detail page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from posops.core.deps import DbDep
from posops.core.web import PageUser, render
from posops.terminals import service
from posops.terminals.schemas import TERMINAL_STATUSES, TerminalFilters

router = APIRouter(include_in_schema=False)
PER_PAGE = 25
DEMO_MODELS = ("PAX A920", "Newland N910", "Landi A8", "Sunmi P2", "Verifone X990")


@router.get("/terminals", response_class=HTMLResponse)
def terminal_list(request: Request, db: DbDep, user: PageUser, q: str = "", status: str = "", model: str = "",
                  region: str = "", page: Annotated[int, Query(ge=1)] = 1) -> HTMLResponse:
    """List terminals with filters and paging."""
    try:
        filters = TerminalFilters(q=q or None, status=status or None, model=model or None,
                                  region=region or None)
    except ValidationError:
        filters = TerminalFilters(q=q or None, model=model or None, region=region or None)
    result = service.list_terminals(db, user, filters, page=page, per_page=PER_PAGE)
    pages = max(1, -(-result.total // PER_PAGE))
    query = {"q": q, "status": status, "model": model, "region": region}
    return render(request, "terminals/list.html", {
        "result": result, "pages": pages, "query": query, "statuses": TERMINAL_STATUSES, "models": DEMO_MODELS})


@router.get("/terminals/{terminal_id}", response_class=HTMLResponse)
def terminal_detail(request: Request, terminal_id: int, db: DbDep, user: PageUser) -> HTMLResponse:
    """Show one terminal's record."""
    terminal = service.get_terminal(db, user, terminal_id)
    return render(request, "terminals/detail.html", {"terminal": terminal})
