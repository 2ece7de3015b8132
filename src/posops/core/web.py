"""The console's shared layout: templates, language, CSRF protection and sign-in for pages."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from posops.core.auth import Principal
from posops.core.deps import OptionalPrincipal
from posops.core.errors import Forbidden
from posops.core.i18n import normalize_lang, translate

PACKAGE_DIR = Path(__file__).resolve().parent.parent


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
    return env


templates = Jinja2Templates(env=_environment())


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
        raise Forbidden("the form has expired or did not come from this console; reload the page")


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
