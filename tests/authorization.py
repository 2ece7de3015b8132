"""The route × role matrix runner the authorization tests share: each keeps its own table of routes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Fleet
from tests.helpers import csrf_token, login

# (name, method, path, request kwargs, expected status per role)
Route = tuple[str, str, Callable[[Fleet], str], Callable[[Fleet], dict[str, Any]], dict[str, int]]


def check_routes_answer_role(client: TestClient, fleet: Fleet, role: str, routes: Sequence[Route]) -> None:
    """Call every route with the role's bearer token and compare each status with the table's, all at once."""
    outcomes = {}
    for name, method, path, kwargs, expected in routes:
        extra = kwargs(fleet)
        headers = {**fleet.headers(role), **extra.pop("headers", {})}
        response = client.request(method, path(fleet), headers=headers, **extra)
        outcomes[name] = (response.status_code, expected[role])
    wrong = {name: got for name, got in outcomes.items() if got[0] != got[1]}
    assert not wrong, f"(got, expected) per route for {role}: {wrong}"


def check_routes_refuse_anonymous(client: TestClient, fleet: Fleet, routes: Sequence[Route]) -> None:
    """Every route answers a caller without a token 401 with a Bearer challenge."""
    for _, method, path, kwargs, _ in routes:
        response = client.request(method, path(fleet), **kwargs(fleet))
        assert response.status_code == 401, (method, path(fleet), response.status_code)
        assert response.headers.get("www-authenticate") == "Bearer"


# (name, method, path, expected status per signed-in role) of a console page
Page = tuple[str, str, Callable[[Fleet], str], dict[str, int]]


def check_pages_answer_role(client: TestClient, fleet: Fleet, role: str, pages: Sequence[Page]) -> None:
    """Sign the role in to the console, open every page and compare each status with the table's, all at once."""
    login(client, role)
    outcomes = {}
    for name, method, path, expected in pages:
        response = client.request(method, path(fleet), headers={"accept": "text/html"}, follow_redirects=False)
        outcomes[name] = (response.status_code, expected[role])
    wrong = {name: got for name, got in outcomes.items() if got[0] != got[1]}
    assert not wrong, f"(got, expected) per page for {role}: {wrong}"


def check_pages_send_anonymous_to_login(client: TestClient, fleet: Fleet, pages: Sequence[Page]) -> None:
    """Every page redirects (303) a visitor who has not signed in to the login page."""
    for _, method, path, _ in pages:
        response = client.request(method, path(fleet), headers={"accept": "text/html"}, follow_redirects=False)
        assert response.status_code == 303, (method, path(fleet), response.status_code)
        assert response.headers["location"].startswith("/login"), (method, path(fleet))


# (name, method, path, form fields and files of the fleet, expected status per signed-in role) of a console form
Form = tuple[str, str, Callable[[Fleet], str], Callable[[Fleet], dict[str, Any]], dict[str, int]]


def check_forms_answer_role(client: TestClient, fleet: Fleet, role: str, forms: Sequence[Form]) -> None:
    """Sign the role in, post every form with a valid CSRF token and compare each status with the table's."""
    login(client, role)
    token = csrf_token(client.get("/terminals").text)
    outcomes = {}
    for name, method, path, kwargs, expected in forms:
        extra = kwargs(fleet)
        data = {"csrf_token": token, **extra.pop("data", {})}
        response = client.request(method, path(fleet), data=data, headers={"accept": "text/html"},
                                  follow_redirects=False, **extra)
        outcomes[name] = (response.status_code, expected[role])
    wrong = {name: got for name, got in outcomes.items() if got[0] != got[1]}
    assert not wrong, f"(got, expected) per form for {role}: {wrong}"


def check_forms_send_anonymous_to_login(client: TestClient, fleet: Fleet, forms: Sequence[Form]) -> None:
    """Every form redirects (303) a visitor who has not signed in to the login page, before looking at the form."""
    for _, method, path, kwargs, _ in forms:
        response = client.request(method, path(fleet), headers={"accept": "text/html"}, follow_redirects=False,
                                  **kwargs(fleet))
        assert response.status_code == 303, (method, path(fleet), response.status_code)
        assert response.headers["location"].startswith("/login"), (method, path(fleet))
