"""The terminal list's model filter offers the models in the fleet the caller sees, not a fixed list."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from posops.core.db import Database
from posops.terminals import service
from tests.conftest import Fleet
from tests.helpers import login, make_terminal


def _model_options(client: TestClient, username: str) -> list[str]:
    login(client, username)
    listing = client.get("/terminals").text
    select = listing.split('name="model"')[1].split("</select>")[0]
    return re.findall(r"<option(?![^>]*value=)[^>]*>([^<]*)</option>", select)  # not the "any model" option


def test_model_filter_lists_the_models_each_caller_can_see(client: TestClient, db: Database, fleet: Fleet) -> None:
    make_terminal(db, fleet.merchant_b, serial_number="SN-TEST-0900", tid="90000900", model="Ingenico Move5000",
                  vendor="Ingenico")
    assert service.terminal_models(db, fleet.users["agent"]) == ["Ingenico Move5000", "PAX A920", "Sunmi P2"]
    assert service.terminal_models(db, fleet.users["merchant"]) == ["PAX A920", "Sunmi P2"]
    assert _model_options(client, "agent") == ["Ingenico Move5000", "PAX A920", "Sunmi P2"]
    client.cookies.clear()
    assert _model_options(client, "merchant") == ["PAX A920", "Sunmi P2"], "another merchant's models stay hidden"
