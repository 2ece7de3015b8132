"""Use cases for users, API tokens and console logins (with the login rate limit)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

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
from posops.core.paging import Page, check_page, paginate

MIN_PASSWORD_LENGTH = 8
LAST_USED_EVERY = timedelta(minutes=1)
"""How often a token's last use is recorded: writing it on every request would make every API call a write."""


@dataclass(frozen=True)
class UserInfo:
    """A user as shown to callers (no password hash)."""

    id: int
    username: str
    display_name: str
    role: str
    merchant_id: int | None
    active: bool
    merchant_name: str | None = None
    """The merchant's name, so a page names it instead of showing its id."""


@dataclass(frozen=True)
class IssuedToken:
    """A token just created: the only moment its clear value exists."""

    id: int
    user: str
    token: str


def _info(user: User, merchant_name: str | None = None) -> UserInfo:
    return UserInfo(user.id, user.username, user.display_name, user.role, user.merchant_id, user.active,
                    merchant_name)


def _infos(session: Session, users: list[User]) -> list[UserInfo]:
    """Users as shown to callers, each merchant user with its merchant's name (one query for all)."""
    ids = {u.merchant_id for u in users if u.merchant_id is not None}
    names: dict[int, str] = {}
    if ids:
        query = select(_MERCHANTS.c.id, _MERCHANTS.c.name).where(_MERCHANTS.c.id.in_(ids))
        names = {row.id: row.name for row in session.execute(query)}
    return [_info(u, names.get(u.merchant_id) if u.merchant_id is not None else None) for u in users]


def _principal(user: User) -> Principal:
    return Principal(user_id=user.id, username=user.username, role=Role(user.role), merchant_id=user.merchant_id)


def create_user(db: Database, actor: Principal, username: str, password: str, role: str,
                merchant_id: int | None = None, display_name: str = "") -> UserInfo:
    """Create a user; merchant users must name their merchant, staff must not."""
    require_role(actor, Role.ADMIN)
    if role not in {r.value for r in USER_ROLES}:
        raise Invalid("role", key="error.invalid.role", roles=", ".join(r.value for r in USER_ROLES))
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid("password", key="error.invalid.password_short", min=MIN_PASSWORD_LENGTH)
    if not username.strip():
        raise Invalid("username", key="error.invalid.username_empty")
    if (role == Role.MERCHANT) != (merchant_id is not None):
        raise Invalid("merchant_id", key="error.invalid.merchant_for_role")
    with db.transaction() as session:
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise Conflict(key="error.conflict.user_exists", username=username)
        if merchant_id is not None and not _merchant_exists(session, merchant_id):
            raise Invalid("merchant_id", key="error.invalid.no_merchant", merchant_id=merchant_id)
        user = User(username=username, password_hash=hash_password(password), role=role,
                    merchant_id=merchant_id, display_name=display_name or username)
        session.add(user)
        session.flush()
        audit.record(session, actor, AuditEntity.USER, user.id, "create",
                     after={"username": username, "role": role, "merchant_id": merchant_id})
        return _infos(session, [user])[0]


_MERCHANTS = table("merchants", column("id"), column("name"))
"""The table ``users.merchant_id`` refers to, named as its foreign key names it (core imports no feature)."""


def _merchant_exists(session: Session, merchant_id: int) -> bool:
    return session.scalar(select(_MERCHANTS.c.id).where(_MERCHANTS.c.id == merchant_id)) is not None


def set_password(db: Database, actor: Principal, username: str, password: str) -> None:
    """Set a user's password (admin only)."""
    require_role(actor, Role.ADMIN)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid("password", key="error.invalid.password_short", min=MIN_PASSWORD_LENGTH)
    with db.transaction() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFound(key="error.not_found.user", username=username)
        user.password_hash = hash_password(password)
        audit.record(session, actor, AuditEntity.USER, user.id, "set_password")


def list_users(db: Database, actor: Principal) -> list[UserInfo]:
    """List every user (admin only)."""
    require_role(actor, Role.ADMIN)
    with db.transaction() as session:
        return _infos(session, list(session.scalars(select(User).order_by(User.id))))


def create_token(db: Database, actor: Principal, username: str, name: str = "") -> IssuedToken:
    """Issue a bearer token for a user; its clear value is returned once and never stored."""
    require_role(actor, Role.ADMIN)
    with db.transaction() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFound(key="error.not_found.user", username=username)
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
        now = utcnow()
        if row.ApiToken.last_used_at is None or now - row.ApiToken.last_used_at >= LAST_USED_EVERY:
            row.ApiToken.last_used_at = now
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


# managing users and their tokens (admin) --------------------------------------------------------

MAX_DISPLAY_NAME = 128


class Keep(Enum):
    """The value of a parameter the caller leaves as it is (where None would mean "none")."""

    KEEP = "keep"


KEEP = Keep.KEEP


class LastActiveAdmin(Conflict):
    """Disabling or demoting this user would leave posops without an active administrator."""


@dataclass(frozen=True)
class TokenInfo:
    """An API token as shown after it was issued: its name and first characters, never its value or hash."""

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        """True until the token is revoked."""
        return self.revoked_at is None


def _token_info(row: ApiToken) -> TokenInfo:
    return TokenInfo(row.id, row.name, row.prefix, row.created_at, row.last_used_at, row.revoked_at)


def _user(session: Session, username: str, *, lock: bool = False) -> User:
    query = select(User).where(User.username == username)
    user = session.scalar(query.with_for_update() if lock else query)
    if user is None:
        raise NotFound(key="error.not_found.user", username=username)
    return user


def get_user(db: Database, actor: Principal, username: str) -> UserInfo:
    """Read one user (admin only)."""
    require_role(actor, Role.ADMIN)
    with db.transaction() as session:
        return _infos(session, [_user(session, username)])[0]


def find_users(db: Database, actor: Principal, *, role: str | None = None, active: bool | None = None,
               page: int = 1, per_page: int = 50) -> Page[UserInfo]:
    """One page of the users (admin only), by username, optionally only one role or only (in)active ones."""
    require_role(actor, Role.ADMIN)
    check_page(page, per_page)
    if role is not None and role not in {r.value for r in USER_ROLES}:
        raise Invalid("role", key="error.invalid.role", roles=", ".join(r.value for r in USER_ROLES))
    query = select(User).order_by(User.username)
    if role is not None:
        query = query.where(User.role == role)
    if active is not None:
        query = query.where(User.active.is_(active))
    with db.transaction() as session:
        rows, total = paginate(session, query, page, per_page)
        return Page[UserInfo](items=_infos(session, rows), total=total, page=page, per_page=per_page)


def update_user(db: Database, actor: Principal, username: str, *, role: str | None = None,
                merchant_id: int | Keep | None = KEEP, display_name: str | None = None,
                active: bool | None = None) -> UserInfo:
    """Change a user's role (with its merchant), display name, or whether they may sign in (admin only).

    A merchant user needs a merchant and staff have none: changing a merchant user to a staff role
    drops its merchant. Disabling takes effect at once: the user's console session and API tokens
    are refused from the next request. The last active administrator can be neither disabled nor
    given another role, so someone can always manage users. Each kind of change is one audit entry.
    """
    require_role(actor, Role.ADMIN)
    if role is not None and role not in {r.value for r in USER_ROLES}:
        raise Invalid("role", key="error.invalid.role", roles=", ".join(r.value for r in USER_ROLES))
    name = display_name.strip() if display_name is not None else None
    if name is not None and len(name) > MAX_DISPLAY_NAME:
        raise Invalid("display_name", key="error.input.string_too_long", max_length=MAX_DISPLAY_NAME)
    with db.transaction() as session:
        # the active admins are locked first, in id order, so two admins demoting each other queue up
        # (the second then sees the first's change) instead of both passing the check or deadlocking
        admins = set(session.scalars(select(User.id).where(User.role == Role.ADMIN, User.active.is_(True))
                                     .order_by(User.id).with_for_update())) \
            if active is False or role not in (None, Role.ADMIN) else set()
        user = _user(session, username, lock=True)
        new_role = role or user.role
        new_merchant = _merchant_after(session, user, new_role, merchant_id)
        new_active = user.active if active is None else active
        if admins == {user.id} and (new_role != Role.ADMIN or not new_active):
            raise LastActiveAdmin(key="error.conflict.last_admin", username=username)
        if (new_role, new_merchant) != (user.role, user.merchant_id):
            audit.record(session, actor, AuditEntity.USER, user.id, "change_role",
                         before={"role": user.role, "merchant_id": user.merchant_id},
                         after={"role": new_role, "merchant_id": new_merchant})
            user.role, user.merchant_id = new_role, new_merchant
        if name is not None and (name or user.username) != user.display_name:
            audit.record(session, actor, AuditEntity.USER, user.id, "rename",
                         before={"display_name": user.display_name}, after={"display_name": name or user.username})
            user.display_name = name or user.username
        if new_active != user.active:
            audit.record(session, actor, AuditEntity.USER, user.id, "enable" if new_active else "disable",
                         before={"active": user.active}, after={"active": new_active})
            user.active = new_active
        return _infos(session, [user])[0]


def _merchant_after(session: Session, user: User, role: str, merchant_id: int | Keep | None) -> int | None:
    """The user's merchant once its role is ``role``: kept for a merchant user, dropped for staff unless named."""
    merchant = (user.merchant_id if role == Role.MERCHANT else None) if merchant_id is KEEP else merchant_id
    if (role == Role.MERCHANT) != (merchant is not None):
        raise Invalid("merchant_id", key="error.invalid.merchant_for_role")
    if merchant is not None and merchant != user.merchant_id and not _merchant_exists(session, merchant):
        raise Invalid("merchant_id", key="error.invalid.no_merchant", merchant_id=merchant)
    return merchant


def list_tokens(db: Database, actor: Principal, username: str) -> list[TokenInfo]:
    """A user's API tokens, newest first, revoked ones included (admin only); never their values."""
    require_role(actor, Role.ADMIN)
    with db.transaction() as session:
        user = _user(session, username)
        rows = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                               .order_by(ApiToken.created_at.desc(), ApiToken.id.desc()))
        return [_token_info(row) for row in rows]


def revoke_token(db: Database, actor: Principal, username: str, token_id: int) -> TokenInfo:
    """Revoke one of a user's API tokens (admin only): refused from the next request; revoking again changes nothing."""
    require_role(actor, Role.ADMIN)
    with db.transaction() as session:
        user = _user(session, username)
        row = session.scalar(select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)
                             .with_for_update())
        if row is None:
            raise NotFound(key="error.not_found.token", username=username, token_id=token_id)
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            audit.record(session, actor, AuditEntity.API_TOKEN, row.id, "revoke",
                         before={"user": username, "name": row.name, "prefix": row.prefix},
                         after={"revoked_at": row.revoked_at.isoformat()})
        return _token_info(row)
