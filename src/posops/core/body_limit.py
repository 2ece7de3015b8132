"""Refuse request bodies over a size with a 413 before they are read: by Content-Length, or counting streamed chunks.

A body is limited to ``max_body`` bytes, an upload (multipart form, CSV or raw file) to ``max_upload``; a path whose
route streams and bounds its own body (a 1 GiB traffic capture) names its larger limit in ``own_limits``.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UPLOAD_TYPES = ("multipart/form-data", "text/csv", "application/octet-stream")
"""Content types sent as files, which get the upload limit."""


class BodyLimit:
    """ASGI middleware answering 413 (the app's own error shape) to a request body over its limit."""

    def __init__(self, app: ASGIApp, *, max_body: int, max_upload: int,
                 own_limits: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload
        self.own_limits = dict(own_limits or {})

    def limit_for(self, scope: Scope) -> int:
        """The most bytes the request's body may have."""
        if scope["path"] in self.own_limits:
            return self.own_limits[scope["path"]]
        content_type = Headers(scope=scope).get("content-type", "").lower()
        return self.max_upload if content_type.startswith(UPLOAD_TYPES) else self.max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 413 at once when Content-Length says too much, else stop reading the body once it does."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            response = await _too_large(scope, receive)
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # raised into whatever reads the body: FastAPI passes an HTTPException on to the app's handler
                    raise HTTPException(413)
            return message

        await self.app(scope, counted, send)


async def _too_large(scope: Scope, receive: Receive) -> Response:
    """The app's own answer to a 413 (JSON for the API, a page for the console), else plain text."""
    app = scope.get("app")
    handler = getattr(app, "exception_handlers", {}).get(HTTPException)
    if handler is None:
        return PlainTextResponse("Content Too Large", status_code=413)
    response: Response = await handler(Request(scope, receive), HTTPException(413))
    return response
