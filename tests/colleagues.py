"""A second user of a role, for decisions that need a second person (maker–checker)."""

from __future__ import annotations

import uuid

from posops.core.auth import Principal, Role, hash_token
from posops.core.db import Database
from posops.core.models import ApiToken, User
from tests.conftest import Fleet, _password_hash


def add_colleague(db: Database, fleet: Fleet, role: str, name: str | None = None) -> str:
    """Add another staff user of ``role`` to the fleet (password PASSWORD, a bearer token); return their name.

    ``fleet.headers(name)`` and ``fleet.users[name]`` then work for them as for the fixture's users.
    """
    username = name or f"{role}_2"
    with db.transaction() as session:
        user = User(username=username, role=role, password_hash=_password_hash, display_name=username)
        session.add(user)
        session.flush()
        token = f"pos_test_{username}_{uuid.uuid4().hex}"
        session.add(ApiToken(user_id=user.id, name="test", token_hash=hash_token(token), prefix=token[:8]))
        fleet.tokens[username] = token
        fleet.users[username] = Principal(user.id, username, Role(role))
    return username
