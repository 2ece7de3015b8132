"""A refused diagnosis form is said in the page's language, from the catalogue: Chinese for zh-CN, English for en."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Fleet
from tests.helpers import csrf_token, login

CJK = re.compile(r"[\u4e00-\u9fff]")
ENGLISH_WORDS = re.compile(r"[A-Za-z]{2,}(?:[ ,']+[A-Za-z]{2,}){2,}")
"""Three English words in a row: an English sentence, not a step id such as no_such_step."""


def _text(page: str, marker: str) -> str:
    return html.unescape(page.split(marker, 1)[1].split(">", 1)[1].split("</p>", 1)[0]).strip()


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_a_refused_diagnosis_form_is_said_in_the_page_language(client: TestClient, fleet: Fleet, lang: str) -> None:
    started = client.post("/api/v1/diagnoses", json={"text": "刷卡没反应"}, headers=fleet.headers("agent"))
    assert started.status_code == 201
    login(client, "agent", lang=lang)
    token = csrf_token(client.get("/diagnoses/new").text)

    empty = client.post("/diagnoses", data={"csrf_token": token, "text": "   "})
    assert empty.status_code == 422, "an empty complaint is refused on the form, not a server error"
    complaint = _text(empty.text, 'role="alert"')
    unknown = client.post(f"/diagnoses/{started.json()['id']}/steps", headers={"accept": "text/html"},
                          data={"csrf_token": token, "step": "no_such_step", "outcome": "fixed"})
    assert unknown.status_code == 422
    step = _text(unknown.text, 'data-testid="error-detail"')
    if lang == "zh-CN":
        for said in (complaint, step):
            assert CJK.search(said) and not ENGLISH_WORDS.search(said), said
        assert complaint.startswith("描述：") and step == "步骤：没有这个步骤：“no_such_step”"
    else:
        for said in (complaint, step):
            assert not CJK.search(said), said
        assert complaint.startswith("description: ") and step == "step: unknown step 'no_such_step'"

