"""The home page against every role: each signed-in role has one, a visitor is sent to sign in."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.authorization import Page, check_pages_answer_role, check_pages_send_anonymous_to_login
from tests.conftest import Fleet
from tests.helpers import login

ROLES = ["merchant", "agent", "risk", "technician", "admin"]

# (name, method, path, expected status per signed-in role)
PAGES: list[Page] = [
    ("home", "GET", lambda f: "/", dict.fromkeys(ROLES, 200)),
    ("home, a later page", "GET", lambda f: "/?page=2", dict.fromkeys(ROLES, 200)),
    ("home, page 0", "GET", lambda f: "/?page=0", dict.fromkeys(ROLES, 422)),
]


@pytest.mark.parametrize("role", ROLES)
def test_the_home_page_answers_each_role(client: TestClient, fleet: Fleet, role: str) -> None:
    check_pages_answer_role(client, fleet, role, PAGES)


def test_the_home_page_sends_visitors_to_sign_in(client: TestClient, fleet: Fleet) -> None:
    check_pages_send_anonymous_to_login(client, fleet, PAGES)
    response = client.get("/", headers={"accept": "text/html"}, follow_redirects=False)
    assert response.headers["location"] == "/login?next=/"


@pytest.mark.parametrize(("role", "heading"), [("merchant", "我的终端"), ("agent", "今日工作"), ("risk", "今日工作"),
                                               ("technician", "我的上门任务"), ("admin", "今日工作")])
def test_each_role_lands_on_its_own_page(client: TestClient, fleet: Fleet, role: str, heading: str) -> None:
    login(client, role)
    assert f"<h1>{heading}</h1>" in client.get("/").text
