"""A body that cannot be read (not UTF-8) is a documented 400 in the one error shape, never a 5xx or a bare answer."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import ADMIN_TOKEN

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def test_a_body_that_is_not_utf8_is_a_400_in_the_error_shape(client: TestClient) -> None:
    response = client.post("/api/v1/merchants", content=b"\xff\xfe{",
                           headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert set(detail["message"]) == {"zh-CN", "en"}
    assert detail["code"]


def test_every_api_operation_documents_the_400_in_the_error_shape(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    for path, operations in document["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            answer = operation["responses"].get("400")
            assert answer is not None, f"{method.upper()} {path} does not document 400"
            assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorOut"}
