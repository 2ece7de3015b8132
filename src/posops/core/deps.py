"""FastAPI dependency aliases: settings, database, the calling principal and the paging query parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from posops.core import accounts
from posops.core.auth import Principal, bearer_token
from posops.core.config import Settings
from posops.core.db import Database
from posops.core.errors import Unauthorized
from posops.core.paging import MAX_PAGE, MAX_PER_PAGE


def get_settings_dep(request: Request) -> Settings:
    """Return the settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_database(request: Request) -> Database:
    """Return the app's database handle."""
    db: Database = request.app.state.db
    return db


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
DbDep = Annotated[Database, Depends(get_database)]
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE)]
PerPage = Annotated[int, Query(ge=1, le=MAX_PER_PAGE)]
"""A list's page size, or a limit on how many recent items an answer carries."""


def optional_principal(request: Request, db: DbDep, settings: SettingsDep) -> Principal | None:
    """Resolve the caller from a bearer token, or else from the console session cookie (if its version is current)."""
    token = bearer_token(request.headers.get("authorization"))
    if token is not None:
        principal = accounts.principal_for_token(db, settings, token)
        if principal is None:
            raise Unauthorized(key="error.unauthorized.bad_token")
        return principal
    session = request.session if "session" in request.scope else {}
    user_id = session.get("user_id")
    if isinstance(user_id, int):
        return accounts.principal_for_user_id(db, user_id, session.get("session_version"), session.get("sid"))
    return None


def current_principal(principal: Annotated[Principal | None, Depends(optional_principal)]) -> Principal:
    """Require a caller: a 401 when there is none."""
    if principal is None:
        raise Unauthorized(key="error.unauthorized.required")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]
