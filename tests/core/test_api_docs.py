"""/docs works in a closed network (Swagger UI from the package) and OpenAPI declares the bearer token."""

from __future__ import annotations

from fastapi.testclient import TestClient


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
