"""Roles, password and token hashing, and the one place that decides tenant scoping."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import ColumnElement, Select, false
from sqlalchemy.orm import QueryableAttribute

from posops.core.errors import Forbidden, NotFound
from posops.core.i18n import catalog
from posops.core.labels import Label, catalog_label

TOKEN_PREFIX = "pos_"
SelectT = TypeVar("SelectT", bound="Select[*tuple[Any, ...]]")
_hasher = PasswordHasher()


class Role(StrEnum):
    """What a user is to the provider; decides what they see and may change."""

    MERCHANT = "merchant"
    AGENT = "agent"
    RISK = "risk"
    TECHNICIAN = "technician"
    ADMIN = "admin"
    SYSTEM = "system"
    """posops itself (scheduled jobs, terminals' own reports) in the audit log; never a user's role."""


USER_ROLES = tuple(r for r in Role if r is not Role.SYSTEM)
STAFF_ROLES = frozenset({Role.AGENT, Role.RISK, Role.TECHNICIAN, Role.ADMIN})


@dataclass(frozen=True)
class Principal:
    """Who is calling: a signed-in user, a token's owner, or the bootstrap admin token."""

    user_id: int | None
    username: str
    role: Role
    merchant_id: int | None = None

    @property
    def is_merchant(self) -> bool:
        """True for merchant staff, whose view is limited to their own merchant."""
        return self.role is Role.MERCHANT


BOOTSTRAP_ADMIN = Principal(user_id=None, username="admin-token", role=Role.ADMIN)
OPERATOR = Principal(user_id=None, username="cli", role=Role.ADMIN)
"""Whoever runs the CLI on the server is trusted as an administrator, like the database owner."""


def hash_password(password: str) -> str:
    """Hash a password with argon2id."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Check a password against its argon2 hash without raising."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


def new_token() -> str:
    """Make a new random bearer token (shown once, stored only as a hash)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Hash a bearer token for storage and lookup; tokens are random, so SHA-256 suffices."""
    return hashlib.sha256(token.encode()).hexdigest()


def bearer_token(authorization: str | None) -> str | None:
    """Return the token of an ``Authorization: Bearer <token>`` header value, or None when there is none."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def same_secret(given: str, expected: str) -> bool:
    """Compare two secrets in constant time."""
    return hmac.compare_digest(given.encode(), expected.encode())


def role_names(roles: Iterable[Role]) -> Label:
    """The roles as a refusal names them: the console's names in zh-CN, their codes in English (for API clients)."""
    chosen = list(roles)
    return Label("、".join(catalog_label(f"role.{r.value}").zh for r in chosen), ", ".join(r.value for r in chosen))


def require_role(principal: Principal, *roles: Role) -> None:
    """Raise Forbidden unless the principal has one of the roles."""
    if principal.role not in roles:
        raise Forbidden(key="error.forbidden.role", role=role_names([principal.role]), needs=role_names(roles))


def scoped(query: SelectT, principal: Principal, column: ColumnElement[Any] | QueryableAttribute[Any]) -> SelectT:
    """Filter a query to the rows whose `column` is the caller's merchant when the caller is a merchant.

    Staff get the query unchanged; a merchant user linked to no merchant sees no rows at all.
    """
    if not principal.is_merchant:
        return query
    return query.where(false() if principal.merchant_id is None else column == principal.merchant_id)


def ensure_visible(principal: Principal, merchant_id: int | None, what: str) -> None:
    """Raise NotFound when the principal may not see a record of this merchant (never reveal it exists)."""
    if principal.is_merchant and (merchant_id is None or merchant_id != principal.merchant_id):
        raise not_found(what)


def not_found(what: str) -> NotFound:
    """The NotFound of a record called ``what``: the sentence ``error.not_found.<what>``, else one naming it.

    ``what`` may also be a feature's own catalogue key (``tickets.error.not_found``), said as it is.

    >>> not_found("terminal").text("zh-CN"), not_found("terminal").code
    ('找不到该终端。', 'error.not_found.terminal')
    """
    if what in catalog():
        return NotFound(key=what)
    key = "error.not_found." + what.replace(" ", "_")
    try:
        return NotFound(key=key if key in catalog() else "error.not_found.record", what=what)
    except KeyError:  # that sentence needs more than the thing's name (a username, say): say it generally
        return NotFound(key="error.not_found.record", what=what)
