"""Schemathesis over every operation of /openapi.json, as admin, agent and merchant: no 5xx, nothing undocumented.

The operations a terminal calls with its own token (heartbeats) are fuzzed with that token as well, their
bodies now and then carrying the terminal's real serial number, so they reach storage.

Each operation is one test per database and role, checked for server errors, status codes, content
types and bodies against the document. Path parameters are now and then swapped for real values of
the seeded world (see conftest), so operations get past "not found" to their real work. An operation
that takes the acting user's access away (revoking its own token, disabling it, changing its role) is
fuzzed like any other, and the world puts the user back after it. Generation is seeded and bounded,
without shrinking (a failure shows the example found) and without the coverage phase (building its
cases for every operation alone costs half a minute of collection, in every run of the suite).
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig

from posops.app import create_app
from posops.core.config import Settings
from posops.core.db import utcnow
from tests.api.conftest import ROLES, World

MAX_EXAMPLES = 15
CONFIG = SchemathesisConfig.from_dict({
    "seed": 14,
    "phases": {"examples": {"enabled": True}, "fuzzing": {"enabled": True},
               "coverage": {"enabled": False}, "stateful": {"enabled": False}},
    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none", "no-shrink": True,
                   "with-security-parameters": False},
    "checks": {"enabled": False, "not_a_server_error": {"enabled": True},
               "status_code_conformance": {"enabled": True}, "content_type_conformance": {"enabled": True},
               "response_schema_conformance": {"enabled": True}},
})


def _openapi() -> dict[str, Any]:
    """The app's OpenAPI document: it does not depend on the database, so none is opened for it."""
    app = create_app(Settings(database_url="sqlite://", secret_key="fuzz", env="test"), check_schema=False)
    return app.openapi()


schema = schemathesis.openapi.from_dict(_openapi(), config=CONFIG)


@schema.hook("flatmap_path_parameters")
def _real_values_now_and_then(_context: Any, path_parameters: dict[str, Any] | None) -> st.SearchStrategy[Any]:
    """Each path value as generated, or one the seeded world really has (of the same type, so negative cases stay)."""
    if not path_parameters:
        return st.just(path_parameters)
    known = World.current.known if World.current is not None else {}
    choices: dict[str, st.SearchStrategy[Any]] = {}
    for name, value in path_parameters.items():
        real = [v for v in known.get(name, []) if type(v) is type(value)]
        choices[name] = st.one_of(st.just(value), st.sampled_from(real)) if real else st.just(value)
    return st.fixed_dictionaries(choices)


HEARTBEATS = "/api/v1/telemetry/heartbeats"
TERMINAL_OPERATIONS = schema.include(path=HEARTBEATS)


@schema.hook("flatmap_body")  # hooks are the schema's, shared by its filtered views: it checks the operation
def _the_terminals_own_serial_now_and_then(context: Any, body: Any) -> st.SearchStrategy[Any]:
    """A heartbeat body as generated, or as from the token's own terminal (its serial number, a current time)."""
    if World.current is None or context.operation is None or context.operation.path != HEARTBEATS:
        return st.just(body)
    serial = World.current.terminal_serial

    def own(heartbeat: Any, now: bool) -> Any:
        if not isinstance(heartbeat, dict):
            return heartbeat
        return {**heartbeat, "sn": serial, **({"ts": utcnow().isoformat()} if now else {})}

    def from_terminal(now: bool) -> Any:
        return [own(item, now) for item in body] if isinstance(body, list) else own(body, now)

    # the first choice is the one Hypothesis favours: mostly the terminal's own, sometimes a stranger's
    return st.sampled_from([from_terminal(True), from_terminal(False), body])


@TERMINAL_OPERATIONS.parametrize()
@settings(max_examples=4 * MAX_EXAMPLES)  # one operation: room for bodies valid enough to be stored
def test_terminal_operation(case: schemathesis.Case, world: World) -> None:
    response = case.call(app=world.app, headers=world.headers("terminal"))
    case.validate_response(response)


@pytest.mark.parametrize("role", list(ROLES))
@schema.parametrize()
def test_operation(case: schemathesis.Case, role: str, world: World) -> None:
    response = case.call(app=world.app, headers=world.headers(role))
    try:
        case.validate_response(response)
    finally:
        if case.path.startswith("/api/v1/users") and response.status_code < 300:
            world.restore()


def test_the_world_gives_access_back_after_an_operation_took_it(world: World) -> None:
    with TestClient(world.app) as client:
        admin = world.headers("admin")
        tokens = client.get("/api/v1/users/fuzz-agent/tokens", headers=admin).json()
        client.delete(f"/api/v1/users/fuzz-agent/tokens/{tokens[0]['id']}", headers=admin).raise_for_status()
        client.patch("/api/v1/users/fuzz-merchant", json={"active": False}, headers=admin).raise_for_status()
        assert client.get("/api/v1/me", headers=world.headers("agent")).status_code == 401
        world.restore()
        for role in ROLES:
            assert client.get("/api/v1/me", headers=world.headers(role)).status_code == 200, role
