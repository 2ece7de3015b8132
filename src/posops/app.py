"""FastAPI app factory: settings, database, middleware, error handling and every feature's routers."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from posops import __version__, tables  # noqa: F401  every feature's tables, so foreign keys across features resolve
from posops.admin import views as admin_views
from posops.core import api as core_api
from posops.core import views as core_views
from posops.core.accounts import SESSION_MAX_AGE
from posops.core.apidocs import install_api_docs
from posops.core.body_limit import BodyLimit
from posops.core.config import Settings, get_settings
from posops.core.db import Database
from posops.core.errors import Invalid, PosopsError, input_problems
from posops.core.i18n import translate
from posops.core.migrate import ensure_migrated
from posops.core.security_headers import SecurityHeaders
from posops.core.web import LoginRequired, page_lang, register_terminal_sections, render, use_time_zone
from posops.diagnosis import api as diagnosis_api
from posops.diagnosis import service as diagnosis_service
from posops.diagnosis import views as diagnosis_views
from posops.fees import api as fees_api
from posops.fees import views as fees_views
from posops.fleet import api as fleet_api
from posops.fleet import views as fleet_views
from posops.home import views as home_views
from posops.iso8583 import api as iso8583_api
from posops.iso8583 import uploads as iso8583_uploads
from posops.iso8583 import views as iso8583_views
from posops.onboarding import api as onboarding_api
from posops.onboarding import views as onboarding_views
from posops.reactivation import api as reactivation_api
from posops.reactivation import views as reactivation_views
from posops.reactivation.conditions import second_person_reasons
from posops.telemetry import api as telemetry_api
from posops.telemetry import service as telemetry_service
from posops.telemetry import views as telemetry_views
from posops.terminals import api as terminals_api
from posops.terminals import views as terminals_views
from posops.tickets import api as tickets_api
from posops.tickets import views as tickets_views
from posops.upgrades import api as upgrades_api
from posops.upgrades import views as upgrades_views

STATIC_DIR = Path(__file__).resolve().parent / "core" / "static"
OWN_BODY_LIMITS = {"/api/v1/traffic/analyses": iso8583_uploads.MAX_UPLOAD_BYTES,
                   "/traffic/upload": iso8583_uploads.MAX_UPLOAD_BYTES,
                   "/api/v1/telemetry/heartbeats": telemetry_service.MAX_HTTP_BODY}
"""Routes that stream and bound their own body (a traffic capture, a batch of heartbeats), by path."""


def create_app(settings: Settings | None = None, *, check_schema: bool = True) -> FastAPI:
    """Build the posops app; refuses to start on a database that is not migrated."""
    settings = settings or get_settings()
    second_person_reasons(settings.second_person_reasons)  # an unknown reason in the setting refuses to start
    db = Database(settings.database_url)
    if check_schema:
        ensure_migrated(db.engine, settings.database_url)
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # the first diagnosis of a process would otherwise wait for the engine's knowledge and reader
        threading.Thread(target=diagnosis_service.warm_up, args=(db,), name="posops-warm-up", daemon=True).start()
        yield

    app = FastAPI(title="posops", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Keep POS terminals taking payments: diagnosis, lifecycle, repairs, telemetry.")
    install_api_docs(app)
    use_time_zone(settings.timezone)
    app.state.settings = settings
    app.state.db = db
    app.add_middleware(BodyLimit, max_body=settings.max_body_bytes, max_upload=settings.max_upload_bytes,
                       own_limits=OWN_BODY_LIMITS)  # inside the session, so a refused page is in the user's language
    app.add_middleware(SessionMiddleware, secret_key=settings.secret_key, session_cookie="posops_session",
                       max_age=int(SESSION_MAX_AGE.total_seconds()), same_site="lax",
                       https_only=settings.env == "production")
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _install_error_handlers(app)
    for router in (core_api.router, core_views.router, terminals_api.router, terminals_views.router,
                   home_views.router,
                   reactivation_api.router, reactivation_views.router, onboarding_api.router, onboarding_views.router,
                   diagnosis_api.router, diagnosis_views.router, iso8583_api.router, iso8583_views.router,
                   telemetry_api.router, telemetry_views.router, tickets_api.router, tickets_views.router,
                   fleet_api.router, fleet_views.router, upgrades_api.router, upgrades_views.router,
                   fees_api.router, fees_views.router):
        app.include_router(router)
    app.include_router(admin_views.router)
    register_terminal_sections(app.state, [
        terminals_views.TERMINAL_SECTION, reactivation_views.TERMINAL_SECTION, telemetry_views.TERMINAL_SECTION,
        iso8583_views.TERMINAL_SECTION, diagnosis_views.TERMINAL_SECTION, tickets_views.TERMINAL_SECTION])
    return app


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith(("/api/", "/healthz")) and \
        "text/html" in request.headers.get("accept", "")


ERROR_STATUSES = (400, 401, 403, 404, 405, 409, 413, 422)
"""Statuses the console explains in its own words (error.status.<n>); any other says error.status.other."""


def _error_page(request: Request, status: int, exc: Exception | None = None) -> Response:
    """The console's error page, in the page's language: a refusal's own words when it has them in both."""
    lang = page_lang(request)
    general = translate(f"error.status.{status}" if status in ERROR_STATUSES else "error.status.other", lang)
    specific = exc.text(lang) if isinstance(exc, PosopsError) else None
    return render(request, "error.html", {"status": status, "message": general, "detail": specific}, status)


HTTP_ERROR_KEYS = {404: "error.not_found.route", 405: "error.method_not_allowed"}
HTTP_ERROR_CODES = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PosopsError)
    async def posops_error(request: Request, exc: PosopsError) -> Response:
        if _wants_html(request):
            return _error_page(request, exc.status, exc)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse({"detail": exc.detail()}, status_code=exc.status, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_html(request):
            return _error_page(request, exc.status_code)
        error = PosopsError(key=HTTP_ERROR_KEYS.get(exc.status_code, f"error.status.{exc.status_code}"
                                                     if exc.status_code in ERROR_STATUSES else "error.status.other"))
        error.code = HTTP_ERROR_CODES.get(exc.status_code, "error")
        return JSONResponse({"detail": error.detail()}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        problems = input_problems(exc.errors(), skip=1)
        if _wants_html(request):
            return _error_page(request, 422, Invalid.many(problems) if problems else None)
        error = Invalid.many(problems) if problems else Invalid("body", key="error.input.other")
        return JSONResponse({"detail": error.detail()}, status_code=422)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={quote(exc.next_url)}", status_code=303)
