"""A refused ticket form is said in the page's language, from the catalogue: Chinese for zh-CN, English for en."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Fleet
from tests.helpers import csrf_token, login
from tests.terminals.flows import ok

CJK = re.compile(r"[\u4e00-\u9fff]")
ENGLISH_WORDS = re.compile(r"[A-Za-z]{2,}(?:[ ,']+[A-Za-z]{2,}){2,}")
"""Three English words in a row: an English sentence, not an SN, a code or a date."""


def _refusal(html: str) -> str:
    """The text of the refusal box on a ticket page."""
    box = html.split('data-testid="refusal"', 1)[1].split("</div>", 1)[0]
    return re.sub(r"<[^>]+>", " ", box.split(">", 1)[1]).strip()


def _said_in(text: str, lang: str) -> None:
    if lang == "zh-CN":
        assert CJK.search(text) and not ENGLISH_WORDS.search(text), text
    else:
        assert not CJK.search(text) and ENGLISH_WORDS.search(text), text


def _ticket(client: TestClient, fleet: Fleet, terminal: int) -> int:
    body = {"terminal_id": terminal, "description": "刷卡没反应"}
    return int(ok(client.post("/api/v1/tickets", json=body, headers=fleet.headers("merchant")), 201)["id"])


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_a_refused_ticket_form_is_said_in_the_page_language(client: TestClient, fleet: Fleet, lang: str) -> None:
    cancelled, open_ticket = _ticket(client, fleet, fleet.terminals_a[0]), _ticket(client, fleet, fleet.terminals_a[1])
    ok(client.post(f"/api/v1/tickets/{cancelled}/transitions", json={"to": "cancelled"},
                   headers=fleet.headers("merchant")))
    login(client, "agent", lang=lang)
    token = csrf_token(client.get(f"/tickets/{open_ticket}").text)

    late = client.post(f"/tickets/{cancelled}/priority", data={"csrf_token": token, "priority": "high"})
    assert late.status_code == 409
    said = _refusal(late.text)
    _said_in(said, lang)
    if lang == "zh-CN":
        assert f"报修单 #{cancelled}" in said and "“已取消”" in said
    else:
        assert said == f"ticket #{cancelled} is cancelled: its SLA is over"

    begins = date.today() + timedelta(days=1)
    backwards = client.post(f"/tickets/{open_ticket}/loaners", data={
        "csrf_token": token, "begins_on": begins.isoformat(), "ends_on": (begins - timedelta(days=2)).isoformat()})
    assert backwards.status_code == 422
    _said_in(_refusal(backwards.text), lang)

    ends = begins + timedelta(days=7)
    none_free = client.post(f"/tickets/{open_ticket}/loaners", data={
        "csrf_token": token, "begins_on": begins.isoformat(), "ends_on": ends.isoformat()})
    assert none_free.status_code == 409, "the fleet has no loaner pool"
    said = _refusal(none_free.text)
    _said_in(said, lang)
    if lang == "zh-CN":
        assert said == f"{begins} 至 {ends} 没有空闲的备用机。"
    else:
        assert said == f"no loaner is free from {begins} to {ends}"
