"""Request bodies over the configured size are a 413 in the API's error shape, before the app reads them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from posops.app import create_app
from posops.core.config import Settings
from tests.conftest import Fleet

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
TWO_MB = 2 * 1024 * 1024


def _merchant(size: int) -> bytes:
    return b'{"name": "' + b"x" * size + b'", "legal_id": "91310000CCCC00003Z"}'


def test_a_json_body_over_the_limit_is_a_413(client: TestClient, fleet: Fleet) -> None:
    response = client.post("/api/v1/merchants", content=_merchant(TWO_MB),
                           headers={**fleet.headers("admin"), "Content-Type": "application/json"})
    assert response.status_code == 413
    detail = response.json()["detail"]
    assert detail["code"] == "too_large" and set(detail["message"]) == {"zh-CN", "en"}


def test_a_chunked_body_is_counted_as_it_streams(client: TestClient, fleet: Fleet) -> None:
    def chunks() -> Iterator[bytes]:
        body = _merchant(TWO_MB)
        for start in range(0, len(body), 64 * 1024):
            yield body[start:start + 64 * 1024]

    response = client.post("/api/v1/merchants", content=chunks(),
                           headers={**fleet.headers("admin"), "Content-Type": "application/json"})
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert response.status_code == 413
    assert response.json()["detail"]["code"] == "too_large"


def test_the_limit_is_a_setting(settings: Settings, fleet: Fleet) -> None:
    roomy = settings.model_copy(update={"max_body_bytes": 4 * TWO_MB})
    with TestClient(create_app(roomy)) as client:
        response = client.post("/api/v1/merchants", content=_merchant(TWO_MB),
                               headers={**fleet.headers("admin"), "Content-Type": "application/json"})
    assert response.status_code == 422  # read, and refused for the name's length only


def test_an_upload_has_the_larger_upload_limit(client: TestClient, fleet: Fleet) -> None:
    header = b"serial_number,model,tid,mid,merchant_id\n"
    csv = header + b"".join(b"SN-BULK-%06d,Landi A8,5%07d,898310058129999,999\n" % (i, i) for i in range(40_000))
    assert len(csv) > TWO_MB
    response = client.post("/api/v1/terminals/import", content=csv,
                           headers={**fleet.headers("admin"), "Content-Type": "text/csv"})
    assert response.status_code == 422  # read whole: refused for its rows, not its size
    over = client.post("/api/v1/terminals/import", content=b"x" * (21 * 1024 * 1024),
                       headers={**fleet.headers("admin"), "Content-Type": "text/csv"})
    assert over.status_code == 413


def test_a_console_page_says_it_in_the_page_language(client: TestClient, fleet: Fleet) -> None:
    response = client.post("/admin/merchants/1", content=b"name=" + b"x" * TWO_MB,
                           headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"})
    assert response.status_code == 413
    assert "上传的内容太大" in response.text
