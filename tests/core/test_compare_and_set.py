"""Compare-and-set updates: applied when the row is still as read, a Conflict when it changed or is gone."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from posops.core.db import Database, compare_and_set
from posops.core.errors import Conflict
from posops.core.models import LoginAttempt


def _attempt(db: Database) -> int:
    with db.transaction() as session:
        row = LoginAttempt(username="u", address="a", succeeded=False)
        session.add(row)
        session.flush()
        return row.id


def test_the_update_applies_when_the_row_is_as_read(db: Database) -> None:
    row_id = _attempt(db)
    with db.transaction() as session:
        still_failed = update(LoginAttempt).where(LoginAttempt.id == row_id, LoginAttempt.succeeded.is_(False))
        compare_and_set(session, still_failed.values(succeeded=True), "changed meanwhile")
    with db.transaction() as session:
        assert session.scalar(select(LoginAttempt.succeeded).where(LoginAttempt.id == row_id)) is True


@pytest.mark.parametrize("missing", [False, True])
def test_no_row_changed_is_a_conflict_with_the_message(db: Database, missing: bool) -> None:
    row_id = _attempt(db)
    wanted = LoginAttempt.id == (row_id + 1 if missing else row_id)
    with pytest.raises(Conflict, match=r"^attempt #1 was changed meanwhile$"), db.transaction() as session:
        compare_and_set(session, update(LoginAttempt).where(wanted, LoginAttempt.succeeded.is_(True))
                        .values(succeeded=False), "attempt #1 was changed meanwhile")


def test_more_than_one_row_changed_is_a_conflict(db: Database) -> None:
    _attempt(db)
    _attempt(db)
    with pytest.raises(Conflict), db.transaction() as session:
        compare_and_set(session, update(LoginAttempt).values(succeeded=True), "changed meanwhile")
    with db.transaction() as session:
        assert not any(session.scalars(select(LoginAttempt.succeeded)))
