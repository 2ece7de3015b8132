"""Telemetry's refusals are said in the page's language (the console) and in both languages (the API)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ADMIN_TOKEN, Fleet
from tests.helpers import error_fields, login

CJK = re.compile(r"[\u4e00-\u9fff]")
ENGLISH_WORDS = re.compile(r"[A-Za-z]{2,}(?:[ ,']+[A-Za-z]{2,}){2,}")
"""Three English words in a row: an English sentence, not an SN, a code or a number."""


def _detail(html: str) -> str:
    """The refusal's own words on the console's error page."""
    return html.split('data-testid="error-detail">', 1)[1].split("</p>", 1)[0].strip()


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_a_missing_incident_is_refused_in_the_page_language(client: TestClient, fleet: Fleet, lang: str) -> None:
    login(client, "agent", lang=lang)
    page = client.get("/incidents/999999", headers={"accept": "text/html"})
    assert page.status_code == 404
    said = _detail(page.text)
    if lang == "zh-CN":
        assert said == "找不到该故障事件。" and not ENGLISH_WORDS.search(said)
    else:
        assert said == "incident not found" and not CJK.search(said)


def test_the_api_says_a_refused_request_in_both_languages(client: TestClient, fleet: Fleet) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    empty = client.post("/api/v1/telemetry/heartbeats", json=[], headers=admin)
    assert empty.status_code == 422 and error_fields(empty) == ["body"]
    [field] = empty.json()["detail"]["fields"]
    assert field["reason"] == "an empty array holds no heartbeat"
    assert field["message"]["zh-CN"] == "空数组里没有心跳。"
    status = client.get("/api/v1/telemetry/incidents?status=gone", headers=fleet.headers("agent"))
    assert status.status_code == 422 and status.json()["detail"]["fields"][0]["reason"] == "must be open or closed"
    assert "“进行中”或“已恢复”" in status.json()["detail"]["fields"][0]["message"]["zh-CN"]
    anonymous = client.post("/api/v1/telemetry/heartbeats", json={})
    assert anonymous.status_code == 401 and anonymous.json()["detail"]["code"] == "error.unauthorized.required"
