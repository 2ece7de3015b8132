"""Console pages of the shell itself: login, logout and the language switch (the home page is posops.home)."""

from __future__ import annotations

import math
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from posops.core import accounts
from posops.core.db import utcnow
from posops.core.deps import DbDep, SettingsDep
from posops.core.i18n import LANGUAGES, translate
from posops.core.inputs import FormText
from posops.core.throttle import LoginThrottled
from posops.core.web import check_csrf, local_time, page_lang, render

router = APIRouter(include_in_schema=False)


def _safe_next(next_url: str | None) -> str:
    """Only follow local paths after login, never another site."""
    if next_url and next_url.startswith("/") and not next_url.startswith("//"):
        return next_url
    return "/"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: FormText | None = None) -> Response:
    """Show the login form."""
    return render(request, "login.html", {"next_url": _safe_next(next)})


@router.post("/login", response_class=HTMLResponse)
def login_submit(request: Request, db: DbDep, settings: SettingsDep,
                 username: Annotated[FormText, Form()], password: Annotated[FormText, Form()],
                 csrf_token: Annotated[FormText, Form()] = "", next: Annotated[FormText, Form()] = "/") -> Response:
    """Check the credentials, start a fresh signed session and go where the user was heading.

    A throttled attempt is a 429 saying when to try again (and ``Retry-After``). The session is
    rebuilt from nothing at login (a new id, a new CSRF token), so nothing set before it survives.
    """
    check_csrf(request, csrf_token)
    lang = page_lang(request)
    address = request.client.host if request.client else "unknown"
    try:
        signed_in = accounts.login(db, settings, username, password, address)
    except LoginThrottled as exc:
        seconds = max(1, math.ceil((exc.retry_at - utcnow()).total_seconds()))
        error = translate("login.rate_limited", lang, minutes=math.ceil(seconds / 60),
                          time=local_time(exc.retry_at, "%H:%M"))
        response = render(request, "login.html", {"error": error, "username": username,
                                                  "next_url": _safe_next(next)}, 429)
        response.headers["Retry-After"] = str(seconds)
        return response
    if signed_in is None:
        return render(request, "login.html", {"error": translate("login.failed", lang),
                                              "username": username, "next_url": _safe_next(next)}, 401)
    chosen_lang = request.session.get("lang")
    request.session.clear()
    request.session["sid"] = secrets.token_urlsafe(16)
    request.session["user_id"] = signed_in.principal.user_id
    request.session["session_version"] = signed_in.session_version
    if chosen_lang:
        request.session["lang"] = chosen_lang
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request, db: DbDep, csrf_token: Annotated[FormText, Form()] = "") -> RedirectResponse:
    """End the console session, here and in every copy of its cookie."""
    check_csrf(request, csrf_token)
    accounts.end_session(db, request.session.get("sid"))
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/lang/{code}")
def switch_language(request: Request, code: Annotated[str, Path(max_length=8)]) -> RedirectResponse:
    """Switch the console language and go back to the page the user was on."""
    if code in LANGUAGES:
        request.session["lang"] = code
    referer = request.headers.get("referer", "")
    path = "/" + referer.split("://", 1)[-1].partition("/")[2] if "://" in referer else "/"
    return RedirectResponse(_safe_next(path) if path != "/" else "/", status_code=303)
