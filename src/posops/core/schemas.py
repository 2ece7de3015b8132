"""The base of every request body (a shape that refuses fields it does not know), and the shapes of users and tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from posops.core.auth import Role
from posops.core.inputs import Id, Line
from posops.core.labels import read_said


class InputModel(BaseModel):
    """A request body or query shape; an unknown field is a 422 naming it, never silently dropped."""

    model_config = ConfigDict(extra="forbid")


class UserPatch(InputModel):
    """Changes to a user; fields left out stay as they are.

    A merchant user needs ``merchant_id`` and staff have none (a merchant user given a staff role
    loses its merchant). ``active: false`` disables the user: its console session and API tokens
    are refused from the next request.
    """

    role: Role | None = None
    merchant_id: Id | None = None
    display_name: Line | None = None
    active: bool | None = None


class PasswordIn(InputModel):
    """A user's new password (at least 8 characters)."""

    password: str = Field(max_length=256)


class UserOut(BaseModel):
    """A user as the API shows it (never its password hash)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: str
    merchant_id: int | None
    merchant_name: str | None
    active: bool


class TokenOut(BaseModel):
    """An API token after it was issued: its name and first characters, never its value or hash.

    ``active`` is false once it is revoked or expired; ``expires_at`` is null for a token issued
    before tokens expired, which stays valid until revoked.
    """

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    expires_at: datetime | None
    active: bool


StoredNote = Annotated[str | None, AfterValidator(read_said)]
"""A stored note or reason as an answer gives it: English for one posops wrote itself (the console has zh-CN too)."""
