"""The console answers every error with a page in its language; the API keeps answering JSON."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Fleet
from tests.helpers import error_fields, login

HTML = {"accept": "text/html"}


@pytest.mark.parametrize(("path", "status", "words"), [
    ("/terminals?page=abc", 422, "页码必须是数字"),
    ("/no-such-page", 404, "没有找到您要的页面"),
    ("/terminals/2147483000", 404, "没有找到您要的页面"),
    ("/tickets/mine", 403, "没有权限"),
])
def test_console_errors_are_pages_in_chinese(client: TestClient, fleet: Fleet, path: str, status: int,
                                             words: str) -> None:
    login(client, "merchant")
    response = client.get(path, headers=HTML)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html") and words in response.text
    assert "not found" not in response.text and '"detail"' not in response.text, "no English, no raw JSON"


def test_a_refusal_keeps_its_own_words_and_english_pages_add_the_detail(client: TestClient, fleet: Fleet) -> None:
    login(client, "merchant", lang="en")
    response = client.get(f"/terminals/{fleet.terminals_b[0]}", headers=HTML)
    assert response.status_code == 404 and "not belong to your shop" in response.text
    assert "terminal not found" in response.text, "the English page shows the use case's own message"


def test_the_api_still_answers_json(client: TestClient, fleet: Fleet) -> None:
    response = client.get("/api/v1/terminals?page=abc", headers=fleet.headers("agent"))
    assert response.status_code == 422 and error_fields(response) == ["page"]
    missing = client.get("/api/v1/no-such-route", headers={**fleet.headers("agent"), **HTML})
    assert missing.status_code == 404 and missing.json()["detail"]["code"] == "not_found"
    assert missing.json()["detail"]["message"]["en"] == "no such address"
