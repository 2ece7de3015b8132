"""The onboarding pages say an application's refusal in the page's language."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Fleet
from tests.helpers import csrf_token, login
from tests.terminals.flows import assert_refused_in, ok


@pytest.mark.parametrize(("lang", "words"), [
    ("zh-CN", "营业执照号或身份证号：统一社会信用代码的校验位应为 3，请检查是否输错"),
    ("en", "licence or id number: check character of the unified social credit code should be 3: look for a typo"),
])
def test_a_mistyped_licence_is_refused_in_the_page_language(client: TestClient, fleet: Fleet, lang: str,
                                                           words: str) -> None:
    login(client, "agent", lang=lang)
    token = csrf_token(client.get("/onboarding/new").text)
    refused = client.post("/onboarding/new", data={
        "csrf_token": token, "applicant_type": "business", "name": "福州鼓楼茶行", "legal_id": "91350100M000100Y44",
        "contact_name": "林先生", "contact_phone": "0591-8888 0000", "region": "福州", "terminal_model": "PAX A920"})
    assert_refused_in(lang, refused, words)
    listed = ok(client.get("/api/v1/onboarding/applications", headers=fleet.headers("agent")))
    assert "福州鼓楼茶行" not in {a["name"] for a in listed["items"]}, "a refused application is not filed"
