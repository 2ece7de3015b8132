"""JSON routes of the platform itself: health, the caller, users and tokens."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import text

from posops import __version__
from posops.core import accounts
from posops.core.deps import CurrentPrincipal, DbDep, SettingsDep
from posops.core.inputs import Id, Line, Word
from posops.core.schemas import PasswordIn, TokenOut, UserOut, UserPatch

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

    username: Word = Field(min_length=1, max_length=64)
    password: str = Field(min_length=accounts.MIN_PASSWORD_LENGTH, max_length=256)
    role: Word
    merchant_id: Id | None = None
    display_name: Line = ""


class TokenCreate(BaseModel):
    """A new API token for a user."""

    name: Word = ""
    days: int | None = Field(None, ge=1, le=accounts.MAX_TOKEN_DAYS,
                             description="how many days the token is valid (default POSOPS_API_TOKEN_DAYS)")


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
def create_token(username: Word, body: TokenCreate, db: DbDep, settings: SettingsDep,
                 principal: CurrentPrincipal) -> dict[str, Any]:
    """Issue a bearer token for a user (admin), valid ``days``; the token is in this answer only."""
    return asdict(accounts.create_token(db, principal, username, body.name, days=body.days, settings=settings))


@router.patch("/api/v1/users/{username}", tags=["platform"])
def update_user(username: Word, body: UserPatch, db: DbDep, principal: CurrentPrincipal) -> UserOut:
    """Change a user's role (and merchant), display name or ``active`` (admin); disabling ends its access at once."""
    changes = body.model_fields_set
    user = accounts.update_user(
        db, principal, username, role=body.role.value if body.role is not None else None,
        merchant_id=body.merchant_id if "merchant_id" in changes else accounts.KEEP,
        display_name=body.display_name, active=body.active)
    return UserOut.model_validate(user)


@router.post("/api/v1/users/{username}/password", tags=["platform"])
def set_password(username: Word, body: PasswordIn, db: DbDep, principal: CurrentPrincipal) -> UserOut:
    """Set a user's password (admin), e.g. after they forgot theirs."""
    accounts.set_password(db, principal, username, body.password)
    return UserOut.model_validate(accounts.get_user(db, principal, username))


@router.post("/api/v1/users/{username}/unlock", tags=["platform"])
def unlock_user(username: Word, db: DbDep, settings: SettingsDep, principal: CurrentPrincipal) -> UserOut:
    """Let a user locked out by failed sign-ins sign in again at once (admin); audited."""
    return UserOut.model_validate(accounts.unlock_user(db, principal, settings, username))


@router.get("/api/v1/users/{username}/tokens", tags=["platform"])
def list_tokens(username: Word, db: DbDep, principal: CurrentPrincipal) -> list[TokenOut]:
    """A user's API tokens, newest first, revoked ones included (admin); names and prefixes, never values."""
    return accounts.list_tokens(db, principal, username)


@router.delete("/api/v1/users/{username}/tokens/{token_id}", tags=["platform"])
def revoke_token(username: Word, token_id: Id, db: DbDep, principal: CurrentPrincipal) -> TokenOut:
    """Revoke one of a user's API tokens (admin): refused from the next request; revoking again changes nothing."""
    return accounts.revoke_token(db, principal, username, token_id)
