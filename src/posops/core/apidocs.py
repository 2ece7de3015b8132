"""The API's documentation page, served from the package so it works without internet, and its bearer scheme.

Swagger UI 5 (it reads OpenAPI 3.1, which FastAPI writes) comes from the static files of the
``swagger-ui-py`` distribution, never a CDN: a provider's closed network still gets a working
``/docs``. The OpenAPI document declares the bearer token every
``/api/v1`` route takes.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs/assets"
SWAGGER_UI = files("swagger_ui") / "static"
BEARER = {"bearer": {"type": "http", "scheme": "bearer",
                     "description": "An API token (`posops tokens create`) or POSOPS_ADMIN_TOKEN"}}


def install_api_docs(app: FastAPI) -> None:
    """Serve /docs with the packaged Swagger UI and put the bearer scheme into the OpenAPI document.

    The app must be created with ``docs_url=None`` and ``redoc_url=None`` (their defaults load a CDN).
    """
    app.mount(ASSETS, StaticFiles(directory=str(SWAGGER_UI)), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} API",
                                   swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{ASSETS}/swagger-ui.css",
                                   swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
                                   oauth2_redirect_url="/docs/oauth2-redirect")

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description,
                                 routes=app.routes)
            schema.setdefault("components", {})["securitySchemes"] = BEARER
            for path, operations in schema.get("paths", {}).items():
                if path.startswith("/api/"):
                    for operation in operations.values():
                        operation.setdefault("security", [{"bearer": []}])
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
