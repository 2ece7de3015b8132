"""The console's shared layout: templates, language, CSRF protection, sign-in for pages, terminal-page sections."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context

from posops.core.auth import Principal
from posops.core.db import Database
from posops.core.deps import OptionalPrincipal
from posops.core.errors import Forbidden, PosopsError
from posops.core.forms import Refusal, refusal
from posops.core.i18n import normalize_lang, translate
from posops.core.labels import in_lang

PACKAGE_DIR = Path(__file__).resolve().parent.parent
CONSOLE_PER_PAGE = 25
"""Rows per page of the console's lists (the API's default is larger: it serves scripts, not eyes)."""


class LoginRequired(Exception):
    """A console page was asked for without a signed-in user; the app redirects to /login."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def _environment() -> Environment:
    folders = [PACKAGE_DIR / "core" / "templates",
               *sorted(p for p in PACKAGE_DIR.glob("*/templates") if p.parent.name != "core")]
    env = Environment(loader=ChoiceLoader([FileSystemLoader(str(f)) for f in folders]),
                      autoescape=select_autoescape(["html"]))
    env.globals["translate"] = translate
    env.filters["in_lang"] = _in_page_lang
    return env


@pass_context
def _in_page_lang(context: Context, text: str | None) -> str:
    """``{{ note|in_lang }}``: a note posops wrote itself in the page's language, a typed one as it is."""
    return in_lang(text, context.get("lang", "zh-CN"))


templates = Jinja2Templates(env=_environment())
DEFAULT_ZONE = "Asia/Shanghai"


def local_time(value: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M", zone: ZoneInfo | None = None) -> str:
    """Show a stored instant (UTC, or an ISO string) in the console's time zone; '—' when there is none.

    >>> local_time(datetime(2026, 12, 3, 1, 30, tzinfo=UTC), zone=ZoneInfo("Asia/Shanghai"))
    '2026-12-03 09:30'
    """
    if value is None or value == "":
        return "—"
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    except ValueError:
        return str(value)  # not a time after all: show it as it came
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone or display_zone()).strftime(fmt)


_display_zone: dict[str, ZoneInfo] = {}


def display_zone() -> ZoneInfo:
    """The zone the console shows times in (POSOPS_TIMEZONE)."""
    return _display_zone["zone"]


def use_time_zone(name: str) -> None:
    """Show every console time in ``name`` (POSOPS_TIMEZONE); the app sets it when it is created."""
    _display_zone["zone"] = ZoneInfo(name)
    templates.env.globals["time_zone"] = name


templates.env.globals["local"] = local_time
use_time_zone(DEFAULT_ZONE)


def template_vocabulary(*vocabularies: type[StrEnum]) -> None:
    """Let every console template name these enums' members (``TerminalStatus.SUSPENDED``), not spell their values."""
    for vocabulary in vocabularies:
        templates.env.globals[vocabulary.__name__] = vocabulary


def page_lang(request: Request) -> str:
    """The console language: the user's choice in the session, else POSOPS_LANG."""
    chosen = request.session.get("lang") if "session" in request.scope else None
    return normalize_lang(chosen, request.app.state.settings.lang)


def csrf_token(request: Request) -> str:
    """Return the session's CSRF token, creating it on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, submitted: str | None) -> None:
    """Refuse a form whose CSRF token is not the session's."""
    expected = request.session.get("csrf")
    if not submitted or not isinstance(expected, str) or not secrets.compare_digest(submitted, expected):
        raise Forbidden(key="error.forbidden.csrf")


def render(request: Request, template: str, context: dict[str, Any] | None = None,
           status_code: int = 200) -> HTMLResponse:
    """Render a page in the shared layout with language, user and CSRF token filled in."""
    lang = page_lang(request)
    base = {"request": request, "lang": lang, "csrf_token": csrf_token(request),
            "t": lambda key, **values: translate(key, lang, **values),
            "user": getattr(request.state, "principal", None)}
    return templates.TemplateResponse(request, template, {**base, **(context or {})}, status_code=status_code)


def signed_in(request: Request, principal: OptionalPrincipal) -> Principal:
    """Require a signed-in console user; otherwise send them to the login page."""
    if principal is None:
        raise LoginRequired(str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""))
    request.state.principal = principal
    return principal


PageUser = Annotated[Principal, Depends(signed_in)]


@dataclass(frozen=True)
class TerminalSection:
    """A card a feature adds to the terminal page: its template and the values the template reads.

    Each feature's ``views.py`` declares its section; ``app.py`` registers them in page order, so
    the terminal page never imports another feature.
    """

    template: str
    context: Callable[[Database, Principal, int], dict[str, Any]]
    """Given the database, the caller and the terminal id, the template's values (one transaction)."""


def register_terminal_sections(state: Any, sections: Sequence[TerminalSection]) -> None:
    """Record the terminal page's sections, in page order, on the app's state."""
    state.terminal_sections = tuple(sections)


def terminal_sections(request: Request, db: Database, user: Principal, terminal_id: int) -> dict[str, Any]:
    """The values of every registered section and their templates (``section_templates``), for the terminal page."""
    sections: Sequence[TerminalSection] = getattr(request.app.state, "terminal_sections", ())
    context: dict[str, Any] = {"section_templates": [section.template for section in sections]}
    for section in sections:
        context.update(section.context(db, user, terminal_id))
    return context


def run_form(request: Request, csrf_token: str, action: Callable[[], Any], done: Callable[[Any], str],
             refused: Callable[[Refusal], Response]) -> Response:
    """Run a console form's use case: on success go to ``done(result)`` (303), else show ``refused`` the refusal.

    The CSRF token is checked first; a refusal (409, 403, 422 …) is shown on the form's own page in
    the page's language, with its status.
    """
    check_csrf(request, csrf_token)
    try:
        result = action()
    except PosopsError as exc:
        return refused(refusal(exc, page_lang(request)))
    return RedirectResponse(done(result), status_code=303)
