"""Security headers on every response: a Content-Security-Policy without inline script, nosniff, no framing."""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONSOLE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
"""The console's policy: scripts, styles and images from posops itself only, never inline, never framed."""
INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)


def allowing_its_inline_scripts(html: bytes) -> str:
    """The console's policy plus the hash of each inline script of ``html`` (a page posops does not write itself).

    The /docs page is FastAPI's Swagger UI page, which starts the packaged bundle with an inline script:
    allowing exactly that script by its hash keeps ``'unsafe-inline'`` out of every policy.
    """
    hashes = " ".join("'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"
                      for body in INLINE_SCRIPT.findall(html))
    return CONSOLE_CSP.replace("script-src 'self'", f"script-src 'self' {hashes}" if hashes else "script-src 'self'")


HEADERS = {"x-content-type-options": "nosniff", "referrer-policy": "same-origin", "x-frame-options": "DENY"}


class SecurityHeaders:
    """Pure-ASGI middleware adding the security headers to each HTTP response that does not set them itself.

    A response may set its own Content-Security-Policy (the /docs page does, see :func:`allowing_its_inline_scripts`).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, adding the headers to its response's start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in {"content-security-policy": CONSOLE_CSP, **HEADERS}.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
