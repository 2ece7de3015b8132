"""The terminal list's model filter offers the models in the fleet the caller sees, not a fixed list."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from posops.core.db import Database
from posops.terminals import service
from posops.terminals.models import Terminal
from tests.conftest import PASSWORD, Fleet


def _model_options(client: TestClient, username: str) -> list[str]:
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    listing = client.get("/terminals").text
    select = listing.split('name="model"')[1].split("</select>")[0]
    return re.findall(r"<option(?![^>]*value=)[^>]*>([^<]*)</option>", select)  # not the "any model" option


def test_model_filter_lists_the_models_each_caller_can_see(client: TestClient, db: Database, fleet: Fleet) -> None:
    with db.transaction() as session:
        session.add(Terminal(serial_number="SN-TEST-0900", model="Ingenico Move5000", vendor="Ingenico",
                             tid="90000900", mid="898310000000900", merchant_id=fleet.merchant_b, status="active"))
    assert service.terminal_models(db, fleet.users["agent"]) == ["Ingenico Move5000", "PAX A920", "Sunmi P2"]
    assert service.terminal_models(db, fleet.users["merchant"]) == ["PAX A920", "Sunmi P2"]
    assert _model_options(client, "agent") == ["Ingenico Move5000", "PAX A920", "Sunmi P2"]
    client.cookies.clear()
    assert _model_options(client, "merchant") == ["PAX A920", "Sunmi P2"], "another merchant's models stay hidden"
