"""What browser tests do again and again: log a demo user in through the real login page."""

from __future__ import annotations

from typing import Any

from posops.demo import DEMO_PASSWORDS


def log_in(page: Any, base: str, username: str) -> None:
    """Log in as a demo user and wait for the terminal list."""
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORDS[username])
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(base + "/terminals")
