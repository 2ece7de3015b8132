"""The API documentation renders in a browser that can reach nothing but posops (a closed provider network)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.e2e


def test_docs_render_without_any_network(live_server: str, page: Any) -> None:
    here = urlparse(live_server).netloc
    blocked: list[str] = []

    def only_posops(route: Any) -> None:
        if urlparse(route.request.url).netloc == here:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", only_posops)
    page.goto(live_server + "/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "posops" in page.locator(".swagger-ui .info .title").inner_text()
    assert page.locator(".opblock-tag", has_text="tickets").count() == 1
    assert page.locator(".swagger-ui .auth-wrapper .authorize").count() == 1, "the bearer token can be entered"
    assert blocked == [], "nothing was fetched from outside"
