"""JSON routes of the platform itself: health, the caller, users and tokens."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import text

from posops import __version__
from posops.core import accounts
from posops.core.deps import CurrentPrincipal, DbDep

router = APIRouter()


@router.get("/healthz", tags=["platform"])
def healthz(db: DbDep) -> dict[str, str]:
    """Report that the server runs and its database answers."""
    with db.transaction() as session:
        session.execute(text("SELECT 1"))
    return {"status": "ok", "version": __version__}


@router.get("/api/v1/me", tags=["platform"])
def me(principal: CurrentPrincipal) -> dict[str, Any]:
    """Return who the caller is."""
    return {"username": principal.username, "role": principal.role.value, "merchant_id": principal.merchant_id}


class UserCreate(BaseModel):
    """A new user."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=accounts.MIN_PASSWORD_LENGTH, max_length=256)
    role: str
    merchant_id: int | None = None
    display_name: str = ""


class TokenCreate(BaseModel):
    """A new API token for a user."""

    name: str = Field("", max_length=64)


@router.get("/api/v1/users", tags=["platform"])
def list_users(db: DbDep, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    """List users (admin)."""
    return [asdict(u) for u in accounts.list_users(db, principal)]


@router.post("/api/v1/users", status_code=201, tags=["platform"])
def create_user(body: UserCreate, db: DbDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """Create a user (admin)."""
    return asdict(accounts.create_user(db, principal, body.username, body.password, body.role,
                                       body.merchant_id, body.display_name))


@router.post("/api/v1/users/{username}/tokens", status_code=201, tags=["platform"])
def create_token(username: str, body: TokenCreate, db: DbDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """Issue a bearer token for a user (admin); the token is in this answer only."""
    return asdict(accounts.create_token(db, principal, username, body.name))
