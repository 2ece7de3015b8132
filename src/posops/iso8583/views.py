"""Console page to import a terminal traffic log or capture and read what it showed, terminal by terminal."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse

from posops.core.deps import DbDep
from posops.core.errors import Invalid
from posops.core.inputs import FormText
from posops.core.web import PageUser, TerminalSection, check_csrf, page_lang, render
from posops.iso8583 import service
from posops.iso8583.uploads import MAX_UPLOAD_BYTES, spooled_file

router = APIRouter(include_in_schema=False)


def _page(request: Request, status: int = 200, **context: object) -> HTMLResponse:
    return render(request, "iso8583/upload.html",
                  {"max_mib": MAX_UPLOAD_BYTES >> 20, **context}, status)


@router.get("/traffic/upload", response_class=HTMLResponse)
def upload_form(request: Request, user: PageUser) -> HTMLResponse:
    """The upload form (agents, technicians, administrators)."""
    service.ensure_may_import(user)
    return _page(request)


@router.post("/traffic/upload", response_class=HTMLResponse)
def upload(request: Request, db: DbDep, user: PageUser, file: Annotated[UploadFile, File()],
           csrf_token: Annotated[FormText, Form()] = "") -> HTMLResponse:
    """Analyse the uploaded file, attach it to the terminals it covers and show the report."""
    check_csrf(request, csrf_token)
    service.ensure_may_import(user)
    try:
        with spooled_file(file) as spooled:
            result = service.import_traffic(db, user, spooled.path, spooled.name)
    except Invalid as exc:
        return _page(request, exc.status, error=exc.text(page_lang(request)))
    return _page(request, result=result)


TERMINAL_SECTION = TerminalSection(
    "iso8583/terminal_section.html",
    lambda db, user, terminal_id: {"traffic": service.terminal_section(db, user, terminal_id)})
"""The terminal page's ISO 8583 traffic card."""
