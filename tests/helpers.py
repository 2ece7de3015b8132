"""Test helpers shared by every feature: console sign-in, CSRF tokens and the app's routes."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.routing import RouteContext, iter_route_contexts
from fastapi.testclient import TestClient

from tests.conftest import PASSWORD


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    return html.split('name="csrf_token" value="')[1].split('"')[0]


def login(client: TestClient, username: str, lang: str | None = None) -> None:
    """Sign a fleet user in to the console (every fleet user has PASSWORD), optionally switching the language."""
    token = csrf_token(client.get("/login").text)
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    if lang is not None:
        client.get(f"/lang/{lang}")


def app_routes(app: FastAPI) -> Iterator[RouteContext]:
    """Every route of the app, the included routers' routes flattened."""
    yield from iter_route_contexts(app.routes)
