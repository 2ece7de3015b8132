"""No async route does synchronous database or service work on the event loop, and a slow import blocks nobody."""

from __future__ import annotations

import ast
import inspect
import textwrap
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from posops.app import create_app
from posops.core.config import Settings
from posops.terminals import service as terminals_service
from tests.conftest import Fleet
from tests.helpers import app_routes

BLOCKING_NAMES = {"db", "session", "Database"}
THREADPOOL_HELPERS = {"run_in_threadpool"}
# calls that touch neither the database nor the network, allowed on the event loop (route, call): why
ALLOWED = {("import_traffic", "service.ensure_may_import"): "checks the caller's role only, before the upload is read"}


def _async_endpoints(settings: Settings) -> Iterator[Callable[..., Any]]:
    for route in app_routes(create_app(settings)):
        if route.endpoint is not None and inspect.iscoroutinefunction(route.endpoint):
            yield route.endpoint


def _name(node: ast.expr) -> str:
    return ast.unparse(node)


def _blocking_references(function: Callable[..., Any]) -> list[str]:
    """Names of the database or service objects an async function uses outside a thread-pool call."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    body = tree.body[0]
    assert isinstance(body, ast.AsyncFunctionDef)
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Call) and _name(node.func).split(".")[-1] in THREADPOOL_HELPERS:
            return  # the callable and its arguments are handed to a worker thread
        if isinstance(node, ast.Call) and (body.name, _name(node.func)) in ALLOWED:
            return
        if isinstance(node, ast.Attribute) and _name(node.value) == "service":
            found.append(_name(node))
        elif isinstance(node, ast.Name) and node.id in BLOCKING_NAMES:
            found.append(node.id)
        for child in ast.iter_child_nodes(node):
            visit(child)

    for statement in body.body:
        visit(statement)
    return found


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_async_routes_leave_database_and_services_to_the_thread_pool(settings: Settings) -> None:
    offenders = {endpoint.__qualname__: refs for endpoint in _async_endpoints(settings)
                 if (refs := _blocking_references(endpoint))}
    assert not offenders, f"async routes doing synchronous work on the event loop: {offenders}"


def test_the_check_sees_a_service_call_on_the_event_loop() -> None:
    async def import_things(db: object, service: Any, body: bytes) -> object:
        return service.import_things(db, body)

    assert _blocking_references(import_things) == ["service.import_things", "db"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_slow_csv_import_does_not_hold_up_other_requests(settings: Settings, fleet: Fleet,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    started, release, finished = threading.Event(), threading.Event(), threading.Event()
    real_import = terminals_service.import_terminals

    def held_import(*args: Any, **kwargs: Any) -> int:
        started.set()
        release.wait(timeout=60)  # a guard against hanging the suite, not a threshold
        finished.set()
        return real_import(*args, **kwargs)

    monkeypatch.setattr(terminals_service, "import_terminals", held_import)
    csv = (f"serial_number,model,tid,mid,merchant_id\n"
           f"SN-SLOW-0001,Landi A8,55559999,898310058129999,{fleet.merchant_a}\n").encode()
    with TestClient(create_app(settings)) as client:  # one event loop serves both requests
        answers: dict[str, int] = {}
        importer = threading.Thread(target=lambda: answers.update(import_=client.post(
            "/api/v1/terminals/import", content=csv, headers=fleet.headers("agent")).status_code))
        importer.start()
        try:
            assert started.wait(timeout=60), "the import never started"
            health = client.get("/healthz")
            held_while_answered = not finished.is_set()
        finally:
            release.set()
            importer.join()
    assert health.status_code == 200
    assert held_while_answered, "/healthz answered only after the import let go of the event loop"
    assert answers == {"import_": 201}
