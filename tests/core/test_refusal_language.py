"""The platform's own refusals (a role that may not, a forged form) are said in the page's language."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Fleet
from tests.helpers import login
from tests.terminals.flows import assert_said_in, shown_refusal

HTML = {"accept": "text/html"}


@pytest.mark.parametrize(("lang", "role_words", "csrf_words"), [
    ("zh-CN", "维修技术员角色不能进行此操作，需要：商户、客服。",
     "表单已过期或不是从本控制台提交的，请刷新页面后重试。"),
    ("en", "role technician may not do this; needs one of: merchant, agent",
     "the form has expired or did not come from this console; reload the page"),
])
def test_platform_refusals_are_said_in_the_page_language(client: TestClient, fleet: Fleet, lang: str,
                                                         role_words: str, csrf_words: str) -> None:
    login(client, "technician", lang=lang)
    wrong_role = client.get("/onboarding/new", headers=HTML)
    assert wrong_role.status_code == 403 and shown_refusal(wrong_role.text) == role_words
    assert_said_in(lang, role_words)
    forged = client.post(f"/terminals/{fleet.terminals_a[0]}/suspend", headers=HTML,
                         data={"csrf_token": "forged", "reason": "other", "note": "x"})
    assert forged.status_code == 403 and shown_refusal(forged.text) == csrf_words
    assert_said_in(lang, csrf_words)
