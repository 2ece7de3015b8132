"""Input at the edge: ids, pages and text are bounded, control characters refused, and no error echoes its input."""

from __future__ import annotations

import re
import tempfile
import typing
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic.fields import FieldInfo

from posops.app import create_app
from posops.core.config import Settings
from posops.core.errors import EXCERPT_CHARS
from posops.core.inputs import MAX_ID
from tests.conftest import Fleet
from tests.helpers import app_routes, error_fields, login

HUGE = 2**70
JSON = {"Accept": "application/json"}
# request-body fields that take any character on purpose (field name: why)
FREE_TEXT = {"password": "hashed, never stored or shown as text"}


def _routes() -> list[APIRoute]:
    folder = Path(tempfile.mkdtemp(prefix="posops-routes-"))
    settings = Settings(database_url=f"sqlite:///{folder}/routes.db", secret_key="routes", env="test",
                        var_dir=folder / "var")
    return [r for r in (c.route for c in app_routes(create_app(settings, check_schema=False)))
            if isinstance(r, APIRoute)]


ROUTES = _routes()


def _int_path_routes() -> list[tuple[str, str, str]]:
    cases = []
    for route in ROUTES:
        ints = [p.name for p in route.dependant.path_params if p.field_info.annotation is int]
        if ints:
            method = sorted(route.methods - {"HEAD"})[0]
            cases.append((method, route.path_format, ints[0]))
    return cases


ID_ROUTES = _int_path_routes()


def _url(path: str, huge_param: str) -> str:
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: str(HUGE) if m.group(1) == huge_param else "1", path)


def test_the_id_routes_cover_the_api_and_the_console() -> None:
    paths = {path for _, path, _ in ID_ROUTES}
    assert {"/api/v1/terminals/{terminal_id}", "/terminals/{terminal_id}", "/api/v1/merchants/{merchant_id}/fee-plan",
            "/api/v1/telemetry/incidents/{incident_id}"} <= paths
    assert len(ID_ROUTES) > 60


@pytest.mark.parametrize("path", ["/api/v1/terminals/{}", "/api/v1/merchants/{}/fee-plan",
                                  "/api/v1/reactivation-requests/{}"])
def test_an_id_past_the_largest_key_is_a_422_and_the_largest_a_404(client: TestClient, fleet: Fleet,
                                                                   path: str) -> None:
    # PostgreSQL's INTEGER keys stop at 2**31 - 1: one more must be refused before it reaches SQL
    past = client.get(path.format(MAX_ID + 1), headers=fleet.headers("admin"))
    assert past.status_code == 422, past.text
    assert client.get(path.format(MAX_ID), headers=fleet.headers("admin")).status_code == 404


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("method", "path", "param"), ID_ROUTES, ids=[f"{m} {p}" for m, p, _ in ID_ROUTES])
def test_an_id_beyond_64_bits_is_a_422_naming_it(client: TestClient, fleet: Fleet, method: str, path: str,
                                                 param: str) -> None:
    response = client.request(method, _url(path, param), headers={**fleet.headers("admin"), **JSON})
    assert response.status_code == 422, response.text
    assert param in error_fields(response)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("query", [f"terminal_id={HUGE}", f"merchant_id={HUGE}", f"page={HUGE}", "page=100001",
                                   "per_page=201", "q=" + "x" * 129])
def test_bounded_query_values(client: TestClient, fleet: Fleet, query: str) -> None:
    path = "/api/v1/notices" if query.startswith("terminal_id") else "/api/v1/terminals"
    response = client.get(f"{path}?{query}", headers=fleet.headers("admin"))
    assert response.status_code == 422, response.text
    assert error_fields(response) == [query.split("=")[0]]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_huge_page_in_the_console_is_refused(client: TestClient, fleet: Fleet) -> None:
    login(client, "admin", "en")
    response = client.get(f"/admin/merchants?page={HUGE}", headers={"Accept": "text/html"})
    assert response.status_code == 422


def _leaves(schema: dict[str, Any], components: dict[str, Any], where: str,
            seen: set[str]) -> typing.Iterator[tuple[str, dict[str, Any]]]:
    if "$ref" in schema:
        ref = schema["$ref"]
        if ref in seen:
            return
        schema = components[ref.split("/")[-1]]
        seen = seen | {ref}
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            yield from _leaves(sub, components, where, seen)
    for name, sub in schema.get("properties", {}).items():
        yield from _leaves(sub, components, f"{where}.{name}", seen)
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _leaves(schema["additionalProperties"], components, f"{where}.*", seen)
    if isinstance(schema.get("propertyNames"), dict):
        yield from _leaves(schema["propertyNames"], components, f"{where}.<key>", seen)
    if schema.get("type") == "array":
        yield from _leaves(schema.get("items", {}), components, f"{where}[]", seen)
    if schema.get("type") in ("integer", "string"):
        yield where, schema


def _unbounded(schema: dict[str, Any], where: str) -> str | None:
    if schema["type"] == "integer":
        return None if "maximum" in schema or "const" in schema or "enum" in schema else "no maximum"
    if "enum" in schema or "const" in schema or schema.get("format") in ("date", "date-time", "binary") \
            or "contentMediaType" in schema:
        return None
    if "maxLength" not in schema:
        return "no maxLength"
    if "pattern" not in schema and where.rsplit(".", 1)[-1] not in FREE_TEXT:
        return "no pattern (control characters are not refused)"
    return None


def test_every_integer_and_string_of_the_api_is_bounded() -> None:
    spec = _openapi()
    components = spec["components"]["schemas"]
    problems = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            places = [(f"{p['in']}:{p['name']}", p["schema"]) for p in operation.get("parameters", [])]
            for content in (operation.get("requestBody") or {}).get("content", {}).values():
                places.append(("body", content.get("schema", {})))
            for place, schema in places:
                for where, leaf in _leaves(schema, components, f"{method.upper()} {path} {place}", set()):
                    if (why := _unbounded(leaf, where)) is not None:
                        problems.append(f"{where}: {why}")
    assert not problems, "\n".join(sorted(set(problems)))


def _openapi() -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="posops-openapi-"))
    settings = Settings(database_url=f"sqlite:///{folder}/o.db", secret_key="o", env="test", var_dir=folder / "v")
    return create_app(settings, check_schema=False).openapi()


def _bounded_param(info: FieldInfo, annotation: Any) -> bool:
    kinds = {a for a in typing.get_args(annotation)} | {annotation}
    limits = {type(m).__name__: m for m in info.metadata}
    for constraint in info.metadata:
        limits.update({type(m).__name__: m for m in getattr(constraint, "metadata", [])})
    if int in kinds:
        return any(name in limits for name in ("Le", "Lt")) or \
            any(getattr(m, "le", None) is not None or getattr(m, "lt", None) is not None for m in info.metadata)
    if str in kinds:
        return any(getattr(m, "max_length", None) is not None for m in info.metadata) or "MaxLen" in limits
    return True


def test_every_console_path_query_and_form_field_is_bounded() -> None:
    loose = []
    for route in ROUTES:
        if route.include_in_schema:
            continue
        dependant = route.dependant
        params = [*dependant.path_params, *dependant.query_params, *dependant.body_params]
        for sub in dependant.dependencies:
            params += [*sub.path_params, *sub.query_params, *sub.body_params]
        for param in params:
            if not _bounded_param(param.field_info, param.field_info.annotation):
                loose.append(f"{route.path} {param.name}")
    assert not loose, "\n".join(loose)


# text: surrogates, NUL, excerpts ------------------------------------------------------------------------------


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/v1/merchants", b'{"name": "\\ud800", "legal_id": "91310000CCCC00003Z"}', "name"),
    ("/api/v1/merchants", b'{"name": "a\\u0000b", "legal_id": "91310000CCCC00003Z"}', "name"),
    ("/api/v1/diagnoses", b'{"text": "\\ud800 POS \\u4e0d\\u80fd\\u5237\\u5361"}', "text"),
    ("/api/v1/diagnoses", b'{"text": "\\u5237\\u5361\\u5931\\u8d25\\u0000"}', "text"),
    ("/api/v1/diagnoses", b'{"text": "ok", "evidence": {"a\\u0000": "yes"}}', "evidence"),
])
def test_lone_surrogates_and_nul_are_refused_naming_the_field(client: TestClient, fleet: Fleet, path: str,
                                                              body: bytes, field: str) -> None:
    response = client.post(path, content=body, headers={**fleet.headers("admin"), "Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert any(f == field or f.startswith(f"{field}.") for f in error_fields(response))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_nul_is_said_as_a_control_character_in_both_languages(client: TestClient, fleet: Fleet) -> None:
    response = client.post("/api/v1/merchants", json={"name": "甲\x00", "legal_id": "91310000CCCC00003Z"},
                           headers=fleet.headers("admin"))
    (problem,) = response.json()["detail"]["fields"]
    assert problem["field"] == "name"
    assert "控制字符" in problem["message"]["zh-CN"] and "control" in problem["message"]["en"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_multi_line_note_keeps_its_line_breaks_but_not_other_controls(client: TestClient, fleet: Fleet) -> None:
    terminal = fleet.terminals_a[0]
    bad = client.post(f"/api/v1/terminals/{terminal}/suspend", headers=fleet.headers("risk"),
                      json={"reason": "risk_limit", "note": "line one\x07"})
    assert bad.status_code == 422 and error_fields(bad) == ["note"]
    good = client.post(f"/api/v1/terminals/{terminal}/suspend", headers=fleet.headers("risk"),
                       json={"reason": "risk_limit", "note": "line one\nline two\tend"})
    assert good.status_code == 200, good.text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_console_form_says_a_nul_in_the_page_language(client: TestClient, fleet: Fleet) -> None:
    login(client, "agent", "en")
    page = client.get("/diagnoses/new")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post("/diagnoses", data={"text": "card\x00reader", "csrf_token": token})
    assert response.status_code == 422
    assert "must not contain control characters" in response.text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_error_never_echoes_more_than_an_excerpt(client: TestClient, fleet: Fleet) -> None:
    huge = "界" * 300_000  # about 900 KB of JSON, under the body limit
    for body in ({"name": huge, "legal_id": "91310000CCCC00003Z"}, {huge: 1, "name": "x", "legal_id": "X1"},
                 {"name": 5, "legal_id": [huge]}):
        response = client.post("/api/v1/merchants", json=body, headers=fleet.headers("admin"))
        assert response.status_code == 422
        assert len(response.content) < 2_000, response.text[:300]
        assert "界" * (EXCERPT_CHARS + 1) not in response.text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_diagnosis_needs_the_complaint(client: TestClient, fleet: Fleet) -> None:
    response = client.post("/api/v1/diagnoses", json={}, headers=fleet.headers("merchant"))
    assert response.status_code == 422
    assert error_fields(response) == ["text"]
    blank = client.post("/api/v1/diagnoses", json={"text": "   ", "terminal_id": "SN-TEST-0000"},
                        headers=fleet.headers("merchant"))
    assert blank.status_code == 422 and error_fields(blank) == ["text"]
