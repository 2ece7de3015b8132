"""Browser-test fixtures: a real posops server on a free port and headless system Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import missing_service

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
E2E_ADMIN_TOKEN = "pos_admin_e2e_bootstrap_token"
"""The live server's bootstrap admin token, for what a test does as a machine (a terminal's heartbeat)."""
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Migrate a SQLite database, load a small demo fleet and serve it with `posops serve`."""
    folder = tmp_path_factory.mktemp("live")
    port = _free_port()
    env = {**os.environ, "POSOPS_DATABASE_URL": f"sqlite:///{folder / 'posops.db'}",
           "POSOPS_SECRET_KEY": "e2e-secret", "POSOPS_ENV": "test", "POSOPS_ADMIN_TOKEN": E2E_ADMIN_TOKEN}
    posops = [sys.executable, "-m", "posops"]
    subprocess.run([*posops, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([*posops, "demo", "load", "--terminals", "60"], env=env, check=True, capture_output=True)
    log = (folder / "server.log").open("w")
    server = subprocess.Popen([*posops, "serve", "--port", str(port)], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1)
            break
        except OSError:
            if server.poll() is not None:
                pytest.fail("posops serve exited: " + Path(log.name).read_text())
            time.sleep(0.2)
    else:
        server.kill()
        pytest.fail("posops serve did not answer within 30 s")
    yield url
    server.terminate()
    server.wait(timeout=10)
    log.close()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The system Chromium (Playwright cannot download its own browsers here)."""
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    missing_service("Chromium (apt-get install chromium)")
    raise AssertionError("unreachable")


@pytest.fixture
def page(chromium_path: str) -> Iterator[object]:
    """A fresh headless browser page."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 390, "height": 844})
        yield context.new_page()
        context.close()
        browser.close()
