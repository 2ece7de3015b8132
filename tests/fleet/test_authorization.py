"""Every fleet route and every list's CSV export against every role: a merchant keeps to its own merchant."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests import authorization as matrix
from tests.conftest import Fleet

ROLES = ["merchant", "agent", "risk", "technician", "admin"]


def _expect(merchant: int, agent: int, risk: int, technician: int, admin: int) -> dict[str, int]:
    return dict(zip(ROLES, (merchant, agent, risk, technician, admin), strict=True))


EVERYONE = _expect(200, 200, 200, 200, 200)

ROUTES: list[matrix.Route] = [
    ("search", "GET", lambda f: "/api/v1/search?q=SN-TEST", lambda f: {}, EVERYONE),
    ("search, no text", "GET", lambda f: "/api/v1/search", lambda f: {}, _expect(422, 422, 422, 422, 422)),
    ("fleet terminals", "GET", lambda f: "/api/v1/fleet/terminals?presence=never&sort=-last_seen", lambda f: {},
     EVERYONE),
    ("fleet terminals, other merchant", "GET", lambda f: f"/api/v1/fleet/terminals?merchant_id={f.merchant_b}",
     lambda f: {}, EVERYONE),  # a merchant's list is empty, as anywhere else a filter names what it may not see
    ("fleet terminals, bad filter", "GET", lambda f: "/api/v1/fleet/terminals?status=broken", lambda f: {},
     _expect(422, 422, 422, 422, 422)),
]

PAGES: list[matrix.Page] = [
    ("search", "GET", lambda f: "/search", EVERYONE),
    ("search, found", "GET", lambda f: "/search?q=SN-TEST", EVERYONE),
    ("search, own terminal exactly", "GET", lambda f: "/search?q=SN-TEST-0000", _expect(303, 303, 303, 303, 303)),
    ("search, other merchant's terminal exactly", "GET", lambda f: "/search?q=SN-TEST-0003",
     _expect(200, 303, 303, 303, 303)),
    ("terminals", "GET", lambda f: "/terminals?presence=offline&sort=-last_seen", EVERYONE),
    ("terminals, bad filter", "GET", lambda f: "/terminals?presence=sometimes", _expect(422, 422, 422, 422, 422)),
    ("terminals csv", "GET", lambda f: "/terminals.csv?status=active", EVERYONE),
    ("merchants", "GET", lambda f: "/merchants?region=上海", _expect(403, 200, 200, 403, 200)),
    ("merchants csv", "GET", lambda f: "/merchants.csv", _expect(403, 200, 200, 403, 200)),
    ("merchant, own", "GET", lambda f: f"/merchants/{f.merchant_a}", EVERYONE),
    ("merchant, other", "GET", lambda f: f"/merchants/{f.merchant_b}", _expect(404, 200, 200, 200, 200)),
    ("merchant, missing", "GET", lambda f: "/merchants/999999", _expect(404, 404, 404, 404, 404)),
    # the other lists' exports answer as their pages do
    ("reactivation requests csv", "GET", lambda f: "/reactivation-requests.csv?mine=0",
     _expect(200, 200, 200, 403, 200)),
    ("onboarding applications csv", "GET", lambda f: "/onboarding.csv", _expect(200, 200, 200, 403, 200)),
    ("tickets csv", "GET", lambda f: "/tickets.csv?status=new", _expect(200, 200, 200, 303, 200)),
    ("incidents csv", "GET", lambda f: "/incidents.csv", EVERYONE),
    ("diagnosis queue csv", "GET", lambda f: "/diagnoses/queue.csv", _expect(403, 200, 403, 200, 200)),
]


@pytest.mark.parametrize("role", ROLES)
def test_every_api_route_answers_each_role_as_designed(client: TestClient, fleet: Fleet, role: str) -> None:
    matrix.check_routes_answer_role(client, fleet, role, ROUTES)


def test_anonymous_callers_get_401_on_every_api_route(client: TestClient, fleet: Fleet) -> None:
    matrix.check_routes_refuse_anonymous(client, fleet, ROUTES)


@pytest.mark.parametrize("role", ROLES)
def test_every_console_page_answers_each_role_as_designed(client: TestClient, fleet: Fleet, role: str) -> None:
    matrix.check_pages_answer_role(client, fleet, role, PAGES)


def test_every_console_page_sends_anonymous_visitors_to_login(client: TestClient, fleet: Fleet) -> None:
    matrix.check_pages_send_anonymous_to_login(client, fleet, PAGES)
