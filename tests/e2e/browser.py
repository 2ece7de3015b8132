"""What browser tests do again and again: log a demo user in through the real login page."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from posops.demo import DEMO_PASSWORDS


def log_in(page: Any, base: str, username: str, landing: str = "/terminals") -> None:
    """Log in as a demo user and wait where the login sends them: the terminal list unless told (``/``: home)."""
    page.goto(base + "/login" + ("" if landing == "/" else f"?next={quote(landing)}"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORDS[username])
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(base + landing)
