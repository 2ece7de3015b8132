"""Use cases for users, API tokens and console logins (with the login rate limit)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import column, func, or_, select, table
from sqlalchemy.orm import Session

from posops.core import audit
from posops.core.audit import AuditEntity
from posops.core.auth import (
    BOOTSTRAP_ADMIN,
    USER_ROLES,
    Principal,
    Role,
    hash_password,
    hash_token,
    new_token,
    require_role,
    same_secret,
    verify_password,
)
from posops.core.config import Settings
from posops.core.db import Database, utcnow
from posops.core.errors import Conflict, Invalid, NotFound
from posops.core.models import ApiToken, LoginAttempt, User

MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True)
class UserInfo:
    """A user as shown to callers (no password hash)."""

    id: int
    username: str
    display_name: str
    role: str
    merchant_id: int | None
    active: bool


@dataclass(frozen=True)
class IssuedToken:
    """A token just created: the only moment its clear value exists."""

    id: int
    user: str
    token: str


def _info(user: User) -> UserInfo:
    return UserInfo(user.id, user.username, user.display_name, user.role, user.merchant_id, user.active)


def _principal(user: User) -> Principal:
    return Principal(user_id=user.id, username=user.username, role=Role(user.role), merchant_id=user.merchant_id)


def create_user(db: Database, actor: Principal, username: str, password: str, role: str,
                merchant_id: int | None = None, display_name: str = "") -> UserInfo:
    """Create a user; merchant users must name their merchant, staff must not."""
    require_role(actor, Role.ADMIN)
    if role not in {r.value for r in USER_ROLES}:
        raise Invalid("role", f"must be one of {', '.join(r.value for r in USER_ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid("password", f"must have at least {MIN_PASSWORD_LENGTH} characters")
    if not username.strip():
        raise Invalid("username", "must not be empty")
    if (role == Role.MERCHANT) != (merchant_id is not None):
        raise Invalid("merchant_id", "required for merchant users and only for them")
    with db.transaction() as session:
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise Conflict(f"user {username!r} already exists")
        if merchant_id is not None and not _merchant_exists(session, merchant_id):
            raise Invalid("merchant_id", f"no merchant {merchant_id}")
        user = User(username=username, password_hash=hash_password(password), role=role,
                    merchant_id=merchant_id, display_name=display_name or username)
        session.add(user)
        session.flush()
        audit.record(session, actor, AuditEntity.USER, user.id, "create",
                     after={"username": username, "role": role, "merchant_id": merchant_id})
        return _info(user)


_MERCHANTS = table("merchants", column("id"))
"""The table ``users.merchant_id`` refers to, named as its foreign key names it (core imports no feature)."""


def _merchant_exists(session: Session, merchant_id: int) -> bool:
    return session.scalar(select(_MERCHANTS.c.id).where(_MERCHANTS.c.id == merchant_id)) is not None


def set_password(db: Database, actor: Principal, username: str, password: str) -> None:
    """Set a user's password (admin only)."""
    require_role(actor, Role.ADMIN)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid("password", f"must have at least {MIN_PASSWORD_LENGTH} characters")
    with db.transaction() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFound(f"user {username!r} not found")
        user.password_hash = hash_password(password)
        audit.record(session, actor, AuditEntity.USER, user.id, "set_password")


def list_users(db: Database, actor: Principal) -> list[UserInfo]:
    """List every user (admin only)."""
    require_role(actor, Role.ADMIN)
    with db.transaction() as session:
        return [_info(u) for u in session.scalars(select(User).order_by(User.id))]


def create_token(db: Database, actor: Principal, username: str, name: str = "") -> IssuedToken:
    """Issue a bearer token for a user; its clear value is returned once and never stored."""
    require_role(actor, Role.ADMIN)
    with db.transaction() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFound(f"user {username!r} not found")
        token = new_token()
        row = ApiToken(user_id=user.id, name=name, token_hash=hash_token(token), prefix=token[:8])
        session.add(row)
        session.flush()
        audit.record(session, actor, AuditEntity.API_TOKEN, row.id, "create", after={"user": username, "name": name})
        return IssuedToken(row.id, username, token)


def principal_for_token(db: Database, settings: Settings, token: str) -> Principal | None:
    """Resolve a bearer token to its principal: the bootstrap admin token or a stored token."""
    if settings.admin_token and same_secret(token, settings.admin_token):
        return BOOTSTRAP_ADMIN
    with db.transaction() as session:
        row = session.execute(
            select(ApiToken, User).join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None), User.active)
        ).first()
        if row is None:
            return None
        row.ApiToken.last_used_at = utcnow()
        return _principal(row.User)


def principal_for_user_id(db: Database, user_id: int) -> Principal | None:
    """Resolve a console session's user id to its principal, if the user is still active."""
    with db.transaction() as session:
        user = session.get(User, user_id)
        return _principal(user) if user is not None and user.active else None


class LoginRateLimited(Exception):
    """Too many failed logins for this username or address; try again later."""


def login(db: Database, settings: Settings, username: str, password: str, address: str) -> Principal | None:
    """Check a console login, counting failures per username and per address to rate-limit guessing."""
    window_start = utcnow() - timedelta(seconds=settings.login_rate_window_s)
    with db.transaction() as session:
        failures = session.scalar(
            select(func.count(LoginAttempt.id)).where(
                LoginAttempt.at >= window_start, LoginAttempt.succeeded.is_(False),
                or_(LoginAttempt.username == username, LoginAttempt.address == address)))
        if (failures or 0) >= settings.login_rate_limit:
            raise LoginRateLimited(username)
        user = session.scalar(select(User).where(User.username == username))
        ok = user is not None and user.active and verify_password(user.password_hash, password)
        session.add(LoginAttempt(username=username[:64], address=address[:64], succeeded=ok))
        return _principal(user) if ok and user is not None else None
