"""Use cases for users, API tokens and console logins (throttled by :mod:`posops.core.throttle`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy import column, delete, select, table
from sqlalchemy.orm import Session

from posops.core import audit, throttle
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
from posops.core.config import Settings, get_settings
from posops.core.db import Database, utcnow
from posops.core.errors import Conflict, Invalid, NotFound
from posops.core.models import ApiToken, EndedSession, LoginAttempt, User
from posops.core.paging import Page, check_page, paginate
from posops.core.schemas import TokenOut
from posops.core.throttle import LoginThrottled, Policy

MIN_PASSWORD_LENGTH = 8
LAST_USED_EVERY = timedelta(minutes=1)
"""How often a token's last use is recorded: writing it on every request would make every API call a write."""
MAX_TOKEN_DAYS = 3650
LOGIN_THROTTLE = Principal(user_id=None, username="login-throttle", role=Role.SYSTEM)
"""Who the audit log names for a lock or a ceiling that failed sign-ins caused."""

SESSION_MAX_AGE = timedelta(hours=12)
"""How long a console session cookie lasts after the last request that renewed it."""


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
    expires_at: datetime | None = None


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


def set_password(db: Database, actor: Principal, username: str, password: str) -> int:
    """Set a user's password (admin only), ending every console session of theirs; returns the new session version.

    An admin who changes their own password keeps their session by storing the returned version in it.
    """
    require_role(actor, Role.ADMIN)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid("password", key="error.invalid.password_short", min=MIN_PASSWORD_LENGTH)
    with db.transaction() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFound(key="error.not_found.user", username=username)
        user.password_hash = hash_password(password)
        user.session_version += 1
        audit.record(session, actor, AuditEntity.USER, user.id, "set_password")
        return user.session_version


def list_users(db: Database, actor: Principal) -> list[UserInfo]:
    """List every user (admin only)."""
    require_role(actor, Role.ADMIN)
    with db.transaction() as session:
        return _infos(session, list(session.scalars(select(User).order_by(User.id))))


def create_token(db: Database, actor: Principal, username: str, name: str = "", *, days: int | None = None,
                 settings: Settings | None = None, now: datetime | None = None) -> IssuedToken:
    """Issue a bearer token for a user, valid ``days`` (default: the settings' POSOPS_API_TOKEN_DAYS); shown once."""
    require_role(actor, Role.ADMIN)
    lifetime = (settings or get_settings()).api_token_days if days is None else days
    if not 1 <= lifetime <= MAX_TOKEN_DAYS:
        raise Invalid("days", key="error.invalid.token_days", max=MAX_TOKEN_DAYS)
    with db.transaction() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFound(key="error.not_found.user", username=username)
        token = new_token()
        expires_at = (now or utcnow()) + timedelta(days=lifetime)
        row = ApiToken(user_id=user.id, name=name, token_hash=hash_token(token), prefix=token[:8],
                       expires_at=expires_at)
        session.add(row)
        session.flush()
        audit.record(session, actor, AuditEntity.API_TOKEN, row.id, "create",
                     after={"user": username, "name": name, "expires_at": expires_at.isoformat()})
        return IssuedToken(row.id, username, token, expires_at)


def principal_for_token(db: Database, settings: Settings, token: str, *,
                        now: datetime | None = None) -> Principal | None:
    """Resolve a bearer token to its principal: the bootstrap admin token, or a stored one not revoked nor expired."""
    if settings.admin_token and same_secret(token, settings.admin_token):
        return BOOTSTRAP_ADMIN
    now = now or utcnow()
    with db.transaction() as session:
        row = session.execute(
            select(ApiToken, User).join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None), User.active,
                   (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > now))
        ).first()
        if row is None:
            return None
        if row.ApiToken.last_used_at is None or now - row.ApiToken.last_used_at >= LAST_USED_EVERY:
            row.ApiToken.last_used_at = now
        return _principal(row.User)


def principal_for_user_id(db: Database, user_id: int, session_version: object, sid: object) -> Principal | None:
    """Resolve a console session to its principal, if the user is still active and the session's version is theirs.

    A password change, a disable and a re-enable bump the user's version, so a session started before
    them (or one without a version) is refused: re-enabling a user does not revive their old sessions.
    A session signed out of (its ``sid`` among the ended sessions) is refused too.
    """
    with db.transaction() as session:
        user = session.get(User, user_id)
        if user is None or not user.active or session_version != user.session_version:
            return None
        if not isinstance(sid, str) or session.get(EndedSession, sid) is not None:
            return None
        return _principal(user)


def end_session(db: Database, sid: object) -> None:
    """Refuse a console session from now on (sign-out); forget ended sessions whose cookies have expired anyway."""
    with db.transaction() as session:
        session.execute(delete(EndedSession).where(EndedSession.ended_at < utcnow() - SESSION_MAX_AGE))
        if isinstance(sid, str) and session.get(EndedSession, sid) is None:
            session.add(EndedSession(sid=sid[:32]))


@dataclass(frozen=True)
class SignedIn:
    """A successful console login: who, and the session version to store in the new session."""

    principal: Principal
    session_version: int


def login(db: Database, settings: Settings, username: str, password: str, address: str, *,
          now: datetime | None = None) -> SignedIn | None:
    """Check a console login, throttled per (username, address), per username and per address.

    Raises :class:`~posops.core.throttle.LoginThrottled` (saying until when) without checking the
    password while a count makes this attempt wait. A failure that starts a user's wait, or brings an
    address to its ceiling, is audited.
    """
    now = now or utcnow()
    username, address = username[:64], address[:64]
    policy = Policy.of(settings)
    with db.transaction() as session:
        # the user's row is locked so concurrent attempts on one account are counted one after another
        user = session.scalar(select(User).where(User.username == username).with_for_update())
        cleared_at = user.login_cleared_at if user is not None else None
        before = throttle.standing(session, policy, username, address, now, cleared_at)
        if before.retry_at is not None and before.scope is not None:
            raise LoginThrottled(before.retry_at, before.scope)
        ok = user is not None and user.active and verify_password(user.password_hash, password)
        session.add(LoginAttempt(username=username, address=address, at=now, succeeded=ok))
        if ok and user is not None:
            return SignedIn(_principal(user), user.session_version)
        _audit_failure(session, policy, user, address, before, now)
        return None


def _audit_failure(session: Session, policy: Policy, user: User | None, address: str, before: throttle.Standing,
                   now: datetime) -> None:
    """Audit what this failure (already counted in ``before`` plus one) starts: a user's wait, an address's ceiling."""
    pair_wait = policy.backoff(before.pair.failures + 1, policy.pair_failures)
    user_wait = policy.backoff(before.user.failures + 1, policy.user_failures)
    if user is not None and (pair_wait or user_wait):
        wait = max(w for w in (pair_wait, user_wait) if w is not None)
        audit.record(session, LOGIN_THROTTLE, AuditEntity.USER, user.id, "login_locked",
                     after={"address": address, "failures": before.pair.failures + 1,
                            "failures_all_addresses": before.user.failures + 1,
                            "scope": "pair" if wait == pair_wait else "user",
                            "until": (now + wait).isoformat()})
    if before.address_failures + 1 == policy.address_failures:
        audit.record(session, LOGIN_THROTTLE, AuditEntity.LOGIN_ADDRESS, address, "ceiling_reached",
                     after={"failures": policy.address_failures, "window_s": int(policy.address_window.total_seconds()),
                            "username": user.username if user is not None else None})


@dataclass(frozen=True)
class LoginLock:
    """How a user's failed sign-ins stand: counted failures from every address and until when they must wait."""

    failures: int
    locked_until: datetime | None
    """The latest wait of the username or of any of its addresses, if it is still running."""


def login_lock(db: Database, actor: Principal, settings: Settings, username: str, *,
               now: datetime | None = None) -> LoginLock:
    """Whether a user is locked out of signing in by failed attempts (admin only), for the user's page."""
    require_role(actor, Role.ADMIN)
    now = now or utcnow()
    policy = Policy.of(settings)
    with db.transaction() as session:
        user = _user(session, username)
        count, locked_until = throttle.user_lock(session, policy, username, now, user.login_cleared_at)
        return LoginLock(count.failures, locked_until)


def unlock_user(db: Database, actor: Principal, settings: Settings, username: str, *,
                now: datetime | None = None) -> UserInfo:
    """Let a user sign in again at once (admin only): their earlier failed sign-ins stop counting; audited.

    An address at its ceiling stays refused until its window passes: it may be guessing many accounts.
    """
    lock = login_lock(db, actor, settings, username, now=now)
    with db.transaction() as session:
        user = _user(session, username, lock=True)
        user.login_cleared_at = now or utcnow()
        audit.record(session, actor, AuditEntity.USER, user.id, "login_unlock",
                     before={"failures": lock.failures,
                             "locked_until": lock.locked_until.isoformat() if lock.locked_until else None})
        return _infos(session, [user])[0]


# managing users and their tokens (admin) --------------------------------------------------------

MAX_DISPLAY_NAME = 128


class Keep(Enum):
    """The value of a parameter the caller leaves as it is (where None would mean "none")."""

    KEEP = "keep"


KEEP = Keep.KEEP


class LastActiveAdmin(Conflict):
    """Disabling or demoting this user would leave posops without an active administrator."""


def _token_info(row: ApiToken, now: datetime | None = None) -> TokenOut:
    expired = row.expires_at is not None and row.expires_at <= (now or utcnow())
    return TokenOut(id=row.id, name=row.name, prefix=row.prefix, created_at=row.created_at,
                    last_used_at=row.last_used_at, revoked_at=row.revoked_at, expires_at=row.expires_at,
                    active=row.revoked_at is None and not expired)


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
    are refused from the next request. Disabling and enabling both end every console session, so
    re-enabling does not revive one from before; tokens neither revoked nor expired work again
    (they are credentials an admin issued, listed and revoked one by one on the user's page). The
    last active administrator can be neither disabled nor given another role, so someone can always
    manage users. Each kind of change is one audit entry.
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
            user.session_version += 1
        return _infos(session, [user])[0]


def _merchant_after(session: Session, user: User, role: str, merchant_id: int | Keep | None) -> int | None:
    """The user's merchant once its role is ``role``: kept for a merchant user, dropped for staff unless named."""
    merchant = (user.merchant_id if role == Role.MERCHANT else None) if merchant_id is KEEP else merchant_id
    if (role == Role.MERCHANT) != (merchant is not None):
        raise Invalid("merchant_id", key="error.invalid.merchant_for_role")
    if merchant is not None and merchant != user.merchant_id and not _merchant_exists(session, merchant):
        raise Invalid("merchant_id", key="error.invalid.no_merchant", merchant_id=merchant)
    return merchant


def list_tokens(db: Database, actor: Principal, username: str) -> list[TokenOut]:
    """A user's API tokens, newest first, revoked ones included (admin only); never their values."""
    require_role(actor, Role.ADMIN)
    with db.transaction() as session:
        user = _user(session, username)
        rows = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                               .order_by(ApiToken.created_at.desc(), ApiToken.id.desc()))
        return [_token_info(row) for row in rows]


def revoke_token(db: Database, actor: Principal, username: str, token_id: int) -> TokenOut:
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
