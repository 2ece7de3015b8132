"""Every diagnosis route and page against every role, including a merchant reaching for another merchant's terminal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import authorization as matrix
from tests.conftest import Fleet

ROLES = ["merchant", "agent", "risk", "technician", "admin"]
OWN_TERMINAL, OTHER_TERMINAL = "SN-TEST-0000", "SN-TEST-0003"


@dataclass
class Session:
    """A diagnosis session with its next step and the first outcome that step offers."""

    id: str
    step: str
    outcome: str


@dataclass
class Sessions:
    """The sessions the routes read, answer and hand over: on merchant A's and B's terminals, a staff one without."""

    own: Session
    other: Session
    staff: str
    own_to_hand_over: str
    other_to_hand_over: str


def _session_on(client: TestClient, fleet: Fleet, terminal: str) -> Session:
    doc = client.post("/api/v1/diagnoses", json={"text": "刷卡没反应", "terminal_id": terminal},
                      headers=fleet.headers("admin")).json()
    return Session(doc["id"], doc["next_step"]["id"], doc["next_step"]["outcomes"][0])


@pytest.fixture
def diagnosed(client: TestClient, fleet: Fleet) -> Fleet:
    """The fleet with diagnosis sessions started before the table runs (on `fleet.sessions`)."""
    staff = client.post("/api/v1/diagnoses", json={"text": "不出小票"}, headers=fleet.headers("agent")).json()["id"]
    fleet.sessions = Sessions(own=_session_on(client, fleet, OWN_TERMINAL),  # type: ignore[attr-defined]
                              other=_session_on(client, fleet, OTHER_TERMINAL), staff=staff,
                              own_to_hand_over=_session_on(client, fleet, OWN_TERMINAL).id,
                              other_to_hand_over=_session_on(client, fleet, OTHER_TERMINAL).id)
    return fleet


def _s(fleet: Fleet) -> Sessions:
    sessions: Sessions = fleet.sessions  # type: ignore[attr-defined]
    return sessions


def _answer(session: Session) -> dict[str, Any]:
    return {"step": session.step, "outcome": session.outcome}


def _everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def _cross(status: int) -> dict[str, int]:
    """`status` for staff, 404 for a merchant reaching for another merchant's terminal or a staff session."""
    return {**_everyone(status), "merchant": 404}


DESK_ONLY = {"merchant": 403, "agent": 200, "risk": 403, "technician": 200, "admin": 200}

ROUTES: list[matrix.Route] = [
    ("start, no terminal", "POST", lambda f: "/api/v1/diagnoses", lambda f: {"json": {"text": "不出小票"}},
     _everyone(201)),
    ("start, own terminal", "POST", lambda f: "/api/v1/diagnoses",
     lambda f: {"json": {"text": "x", "terminal_id": OWN_TERMINAL}}, _everyone(201)),
    ("start, other terminal", "POST", lambda f: "/api/v1/diagnoses",
     lambda f: {"json": {"text": "x", "terminal_id": OTHER_TERMINAL}}, _cross(201)),
    ("read, other", "GET", lambda f: f"/api/v1/diagnoses/{_s(f).other.id}", lambda f: {}, _cross(200)),
    ("answer, other", "POST", lambda f: f"/api/v1/diagnoses/{_s(f).other.id}/steps",
     lambda f: {"json": _answer(_s(f).other)}, _cross(200)),
    ("read, own", "GET", lambda f: f"/api/v1/diagnoses/{_s(f).own.id}", lambda f: {}, _everyone(200)),
    ("answer, own", "POST", lambda f: f"/api/v1/diagnoses/{_s(f).own.id}/steps",
     lambda f: {"json": _answer(_s(f).own)}, _everyone(200)),
    ("history, own", "GET", lambda f: f"/api/v1/terminals/{f.terminals_a[0]}/diagnoses", lambda f: {},
     _everyone(200)),
    ("history, other", "GET", lambda f: f"/api/v1/terminals/{f.terminals_b[0]}/diagnoses", lambda f: {},
     _cross(200)),
    ("read, staff session without terminal", "GET", lambda f: f"/api/v1/diagnoses/{_s(f).staff}", lambda f: {},
     _cross(200)),
    ("desk queue", "GET", lambda f: "/api/v1/diagnoses/queue", lambda f: {}, DESK_ONLY),
    ("pick the symptom, other", "POST", lambda f: f"/api/v1/diagnoses/{_s(f).other_to_hand_over}/symptom",
     lambda f: {"json": {"symptom": "card_read"}}, _cross(200)),
    ("pick the symptom, own", "POST", lambda f: f"/api/v1/diagnoses/{_s(f).own_to_hand_over}/symptom",
     lambda f: {"json": {"symptom": "card_read"}}, _everyone(200)),
    ("hand over, other", "POST", lambda f: f"/api/v1/diagnoses/{_s(f).other_to_hand_over}/handover",
     lambda f: {"json": {}}, _cross(200)),
    ("hand over, own", "POST", lambda f: f"/api/v1/diagnoses/{_s(f).own_to_hand_over}/handover",
     lambda f: {"json": {"note": "please call"}}, _everyone(200)),
]

PAGES: list[matrix.Page] = [
    ("session, own", "GET", lambda f: f"/diagnoses/{_s(f).own.id}", _everyone(200)),
    ("session, other", "GET", lambda f: f"/diagnoses/{_s(f).other.id}", _cross(200)),
    ("desk queue", "GET", lambda f: "/diagnoses/queue", DESK_ONLY),
]

FORMS: list[matrix.Form] = [
    ("start, no terminal", "POST", lambda f: "/diagnoses", lambda f: {"data": {"text": "不出小票"}}, _everyone(303)),
    ("start, other terminal", "POST", lambda f: "/diagnoses",
     lambda f: {"data": {"text": "x", "terminal_id": OTHER_TERMINAL}}, _cross(303)),
    ("answer, own", "POST", lambda f: f"/diagnoses/{_s(f).own.id}/steps", lambda f: {"data": _answer(_s(f).own)},
     _everyone(303)),
    ("answer, other", "POST", lambda f: f"/diagnoses/{_s(f).other.id}/steps",
     lambda f: {"data": _answer(_s(f).other)}, _cross(303)),
    ("pick the symptom, own", "POST", lambda f: f"/diagnoses/{_s(f).own_to_hand_over}/symptom",
     lambda f: {"data": {"symptom": "card_read"}}, _everyone(303)),
    ("hand over, other", "POST", lambda f: f"/diagnoses/{_s(f).other_to_hand_over}/handover", lambda f: {"data": {}},
     _cross(303)),
    ("hand over, own", "POST", lambda f: f"/diagnoses/{_s(f).own_to_hand_over}/handover", lambda f: {"data": {}},
     _everyone(303)),
]


@pytest.mark.parametrize("role", ROLES)
def test_every_api_route_answers_each_role_as_designed(client: TestClient, diagnosed: Fleet, role: str) -> None:
    matrix.check_routes_answer_role(client, diagnosed, role, ROUTES)


def test_anonymous_callers_get_401_on_every_api_route(client: TestClient, diagnosed: Fleet) -> None:
    matrix.check_routes_refuse_anonymous(client, diagnosed, ROUTES)


@pytest.mark.parametrize("role", ROLES)
def test_every_console_page_and_form_answers_each_role_as_designed(client: TestClient, diagnosed: Fleet,
                                                                 role: str) -> None:
    matrix.check_pages_answer_role(client, diagnosed, role, PAGES)
    matrix.check_forms_answer_role(client, diagnosed, role, FORMS)


def test_every_console_page_and_form_sends_anonymous_visitors_to_login(client: TestClient,
                                                                      diagnosed: Fleet) -> None:
    matrix.check_pages_send_anonymous_to_login(client, diagnosed, PAGES)
    matrix.check_forms_send_anonymous_to_login(client, diagnosed, FORMS)
