"""The API's documentation page, served from the package so it works without internet, and its bearer scheme.

Swagger UI 5 (it reads OpenAPI 3.1, which FastAPI writes) comes from the static files of the
``swagger-ui-py`` distribution, never a CDN: a provider's closed network still gets a working
``/docs``. The OpenAPI document declares the bearer token every
``/api/v1`` route takes, and the one error shape (:class:`ErrorOut`) of its 4xx answers.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field

from posops.core.security_headers import allowing_its_inline_scripts

ASSETS = "/docs/assets"
SWAGGER_UI = files("swagger_ui") / "static"
BEARER = {"bearer": {"type": "http", "scheme": "bearer",
                     "description": "An API token (`posops tokens create`) or POSOPS_ADMIN_TOKEN"}}


class Said(BaseModel):
    """A sentence in both console languages."""

    zh_cn: str = Field(alias="zh-CN")
    en: str


class FieldProblem(BaseModel):
    """One refused field of a request: its dotted name, why (in English, and in both languages)."""

    field: str
    reason: str
    message: Said
    line: int | None = Field(None, description="for a file of rows (CSV, frame log): the line")
    context: dict[str, Any] | None = Field(None, description="facts a client may act on, never the input")


class ErrorDetail(BaseModel):
    """What went wrong: a stable code, the sentence in both languages, and the refused fields of a 422.

    Refused state changes add ``action``, ``state``, ``allowed`` and ``unmet`` (the conditions still missing).
    """

    model_config = ConfigDict(extra="allow")

    code: str
    message: Said
    fields: list[FieldProblem] | None = None


class ErrorOut(BaseModel):
    """Every 4xx answer of the API."""

    detail: ErrorDetail


ERROR_ANSWERS = {"400": "The body could not be read (not UTF-8 JSON, or a broken multipart form)",
                 "401": "No valid token", "403": "The token's role may not do this", "404": "Not found, or not yours",
                 "409": "Refused in the current state", "422": "A field of the request was refused"}


def _declare_errors(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    error_schema = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(error_schema.pop("$defs", {}))
    components["ErrorOut"] = error_schema
    answer = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}}
    for path, operations in schema.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, description in ERROR_ANSWERS.items():
                responses[status] = {"description": responses.get(status, {}).get("description", description),
                                     **answer}
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)


def install_api_docs(app: FastAPI) -> None:
    """Serve /docs with the packaged Swagger UI and put the bearer scheme into the OpenAPI document.

    The app must be created with ``docs_url=None`` and ``redoc_url=None`` (their defaults load a CDN).
    """
    app.mount(ASSETS, StaticFiles(directory=str(SWAGGER_UI)), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        page = get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} API",
                                   swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{ASSETS}/swagger-ui.css",
                                   swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
                                   oauth2_redirect_url="/docs/oauth2-redirect")
        page.headers["Content-Security-Policy"] = allowing_its_inline_scripts(bytes(page.body))
        return page

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        page = get_swagger_ui_oauth2_redirect_html()
        page.headers["Content-Security-Policy"] = allowing_its_inline_scripts(bytes(page.body))
        return page

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description,
                                 routes=app.routes)
            schema.setdefault("components", {})["securitySchemes"] = BEARER
            for path, operations in schema.get("paths", {}).items():
                if path.startswith("/api/"):
                    for operation in operations.values():
                        operation.setdefault("security", [{"bearer": []}])
            _declare_errors(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
