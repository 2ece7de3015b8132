"""The console works under its Content-Security-Policy: no page a person opens reports a CSP violation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.browser import log_in

pytestmark = pytest.mark.e2e

VIOLATIONS = """() => window.__cspViolations || []"""
LISTEN = """window.__cspViolations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));"""


def _watch(page: Any) -> list[str]:
    """Collect every CSP violation the pages report, from the console and from the page's own events."""
    seen: list[str] = []
    page.on("console", lambda message: seen.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.add_init_script(LISTEN)
    return seen


def _check(page: Any, seen: list[str], where: str) -> None:
    page.wait_for_load_state("load")
    reported = page.evaluate(VIOLATIONS)
    assert (seen, reported) == ([], []), f"CSP violations on {where}"


def test_console_pages_run_under_the_policy(live_server: str, page: Any) -> None:
    seen = _watch(page)
    response = page.goto(live_server + "/login")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    _check(page, seen, "/login")
    log_in(page, live_server, "admin", landing="/")
    _check(page, seen, "home")
    page.goto(live_server + "/terminals")
    page.locator("table a[href^='/terminals/']").first.click()
    page.wait_for_url(f"{live_server}/terminals/*")
    assert page.locator("h1").count() >= 1
    _check(page, seen, "a terminal page")
    for path in ("/tickets/reliability", "/incidents", "/admin/users/admin", "/admin/merchants", "/merchants"):
        page.goto(live_server + path)
        _check(page, seen, path)
    styled = page.evaluate("() => getComputedStyle(document.querySelector('.topbar')).display")
    assert styled == "flex", "the stylesheet applies"


def test_the_api_docs_run_under_theirs(live_server: str, page: Any) -> None:
    seen = _watch(page)
    response = page.goto(live_server + "/docs")
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "'sha256-" in policy and "unsafe-inline" not in policy
    page.wait_for_selector(".swagger-ui .info .title")
    assert page.locator(".opblock-tag").count() > 3
    _check(page, seen, "/docs")
