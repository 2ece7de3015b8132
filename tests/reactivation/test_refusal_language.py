"""A reactivation request's page says its refusals in the page's language."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Fleet
from tests.helpers import csrf_token, login
from tests.terminals.flows import assert_refused_in, ok


@pytest.mark.parametrize(("lang", "words"), [
    ("zh-CN", "与该商户登记的营业执照号或身份证号不一致"),
    ("en", "does not match the licence or id number on record for this merchant"),
])
def test_a_wrong_identity_is_refused_in_the_page_language(client: TestClient, fleet: Fleet, lang: str,
                                                          words: str) -> None:
    terminal = fleet.terminals_a[0]
    ok(client.post(f"/api/v1/terminals/{terminal}/suspend", headers=fleet.headers("agent"),
                   json={"reason": "dormant", "note": "长期未使用"}))
    request = ok(client.post(f"/api/v1/terminals/{terminal}/reactivation-requests", headers=fleet.headers("merchant"),
                             json={}), 201)
    login(client, "merchant", lang=lang)
    url = f"/reactivation-requests/{request['id']}"
    token = csrf_token(client.get(url).text)
    refused = client.post(f"{url}/evidence", data={"csrf_token": token, "kind": "identity",
                                                   "legal_id": "91310000BBBB00002Y"})
    assert_refused_in(lang, refused, words)
    again = ok(client.get(f"/api/v1/reactivation-requests/{request['id']}", headers=fleet.headers("merchant")))
    assert again["identity_reconfirmed_by"] is None
