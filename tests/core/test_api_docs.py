"""/docs works in a closed network (Swagger UI from the package); OpenAPI declares the bearer token and error shape."""

from __future__ import annotations

from fastapi.testclient import TestClient

from posops.core.apidocs import ErrorOut
from tests.conftest import ADMIN_TOKEN


def test_the_docs_page_loads_its_assets_from_posops_itself(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and "/docs/assets/swagger-ui-bundle.js" in page.text
    assert "https://" not in page.text and "http://" not in page.text, "nothing is fetched from elsewhere"
    script = client.get("/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.content) > 100_000
    assert client.get("/docs/assets/swagger-ui.css").status_code == 200
    assert client.get("/redoc").status_code == 404, "ReDoc loads from a CDN, so it is not offered"


def test_openapi_declares_the_bearer_scheme_on_the_api(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    bearer = schema["components"]["securitySchemes"]["bearer"]
    assert (bearer["type"], bearer["scheme"]) == ("http", "bearer")
    operation = schema["paths"]["/api/v1/tickets"]["post"]
    assert operation["security"] == [{"bearer": []}]
    assert "security" not in schema["paths"]["/healthz"]["get"], "the liveness probe needs no token"


def test_every_api_operation_documents_the_one_error_shape(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    operations = [(path, method, op) for path, ops in schema["paths"].items() if path.startswith("/api/")
                  for method, op in ops.items()]
    assert len(operations) > 50
    undocumented = [f"{method.upper()} {path} {status}" for path, method, op in operations
                    for status in ("401", "403", "404", "409", "422")
                    if op["responses"].get(status, {}).get("content", {}).get("application/json", {})
                    .get("schema") != {"$ref": "#/components/schemas/ErrorOut"}]
    assert undocumented == []
    assert "HTTPValidationError" not in schema["components"]["schemas"], "FastAPI's own 422 shape is not used"


def test_every_kind_of_refusal_answers_in_the_documented_shape(client: TestClient) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    answers = {
        "no token": client.get("/api/v1/terminals"),
        "bad token": client.get("/api/v1/terminals", headers={"Authorization": "Bearer nope"}),
        "unknown terminal": client.get("/api/v1/terminals/999999", headers=admin),
        "unknown address": client.get("/api/v1/no-such-thing", headers=admin),
        "bad query": client.get("/api/v1/terminals?page=abc", headers=admin),
        "bad body": client.post("/api/v1/merchants", headers=admin, json={"name": "x" * 100_000}),
        "bad method": client.delete("/api/v1/terminals", headers=admin),
    }
    for what, answer in answers.items():
        assert 400 <= answer.status_code < 500, what
        detail = ErrorOut.model_validate(answer.json()).detail
        assert detail.code and detail.message.zh_cn and detail.message.en, what
    assert [f.field for f in ErrorOut.model_validate(answers["bad query"].json()).detail.fields or []] == ["page"]
    assert len(answers["bad body"].content) < 2_000, "a refusal never echoes a huge input back"
    assert answers["unknown terminal"].json()["detail"]["message"]["zh-CN"] == "找不到该终端。"
