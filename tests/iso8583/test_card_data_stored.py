"""A log with a known full card goes through upload, CLI import, storage, pages and logs: its number is nowhere."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from posops.cli import app
from posops.core.config import get_settings
from posops.core.db import Database
from posops.iso8583.codec import encode_frame
from tests.conftest import Fleet
from tests.helpers import csrf_token, login
from tests.iso8583.helpers import purchase
from tests.iso8583.traffic import CARD_SECRETS, MASKED_PAN, PAN, PIN_BLOCK, TRACK_2, card_steps, log_text

WRITTEN_TABLES = ("traffic_analyses", "terminal_traffic", "audit_events", "terminals")
"""Every table an import writes to."""


def _clean(found: str, where: str) -> None:
    for secret in CARD_SECRETS:
        assert secret not in found and secret.lower() not in found, f"{where} shows {secret[:6]}…"


def _stored_text(db: Database) -> str:
    """Every value of every row of the tables an import writes, as text."""
    rows = []
    with db.transaction() as session:
        for table in WRITTEN_TABLES:
            result = session.execute(text(f"SELECT * FROM {table}"))
            rows += [dict(row._mapping) for row in result]
    assert rows, "nothing was stored"
    return json.dumps(rows, ensure_ascii=False, default=str)


def test_a_full_card_number_is_never_stored_shown_or_logged(
        client: TestClient, fleet: Fleet, db: Database, database_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    log = log_text(card_steps())
    assert PAN in log and TRACK_2 in log.upper() and PIN_BLOCK in log.upper()  # the file really holds the card
    named = f"export-{PAN}.log"

    upload = client.post("/api/v1/traffic/analyses", files={"file": (named, log.encode(), "text/plain")},
                         headers=fleet.headers("agent"))
    assert upload.status_code == 201
    _clean(upload.text, "upload answer")
    assert upload.json()["source_name"] == f"export-{MASKED_PAN}.log"  # first six and last four only
    raw = client.post("/api/v1/traffic/analyses", content=log.encode(),
                      headers={**fleet.headers("technician"), "content-type": "application/octet-stream",
                               "content-disposition": f'attachment; filename="{named}"'})
    assert raw.status_code == 201 and raw.json()["source_name"] == f"export-{MASKED_PAN}.log"
    _clean(raw.text, "raw upload answer")

    decoded = client.post("/api/v1/iso8583/decode", headers=fleet.headers("merchant"),
                          json={"hex": encode_frame(purchase("90000000", "000001", pan=PAN, f35=TRACK_2,
                                                             f52=PIN_BLOCK)).hex()})
    _clean(decoded.text, "decode answer")
    assert decoded.json()["fields"]["2_masked"] == MASKED_PAN

    traffic = client.get(f"/api/v1/terminals/{fleet.terminals_a[0]}/traffic", headers=fleet.headers("merchant"))
    assert traffic.status_code == 200
    _clean(traffic.text, "terminal traffic answer")

    path = tmp_path / named
    path.write_text(log)
    monkeypatch.setenv("POSOPS_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        imported = CliRunner().invoke(app, ["logs", "analyze", str(path), "--import"])
    finally:
        get_settings.cache_clear()
    assert imported.exit_code == 0, imported.output
    _clean(imported.stdout + imported.stderr, "CLI import output")
    assert "matched 3" in " ".join(imported.stdout.split())

    _clean(_stored_text(db), "database rows")

    for role in ("agent", "merchant"):
        login(client, role)
        html = client.get(f"/terminals/{fleet.terminals_a[0]}").text
        assert 'data-testid="traffic-evidence"' in html
        _clean(html, f"terminal page as {role}")
        client.cookies.clear()
    login(client, "agent")
    form = client.get("/traffic/upload").text
    report = client.post("/traffic/upload", files={"file": (named, log.encode())},
                         data={"csrf_token": csrf_token(form)})
    assert report.status_code == 200 and 'data-testid="upload-report"' in report.text
    _clean(report.text, "upload page report")

    out, err = capfd.readouterr()
    _clean(out + err, "process stdout/stderr")
    _clean(caplog.text, "server logging")
    _clean(_stored_text(db), "database rows after the page upload")
