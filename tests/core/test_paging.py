"""Paging: the bounds a page request must keep, one page of a query with the whole total, the page count."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from posops.core.db import Database
from posops.core.errors import Invalid
from posops.core.models import LoginAttempt
from posops.core.paging import MAX_PAGE, MAX_PER_PAGE, Page, check_limit, check_page, paginate


@pytest.mark.parametrize(("page", "per_page", "field", "message", "zh"), [
    (0, 10, "page", f"page: must be between 1 and {MAX_PAGE}", f"页码：须在 1 到 {MAX_PAGE} 之间"),
    (MAX_PAGE + 1, 10, "page", f"page: must be between 1 and {MAX_PAGE}", f"页码：须在 1 到 {MAX_PAGE} 之间"),
    (1, 0, "per_page", f"rows per page: must be between 1 and {MAX_PER_PAGE}",
     f"每页条数：须在 1 到 {MAX_PER_PAGE} 之间"),
    (1, MAX_PER_PAGE + 1, "per_page", f"rows per page: must be between 1 and {MAX_PER_PAGE}",
     f"每页条数：须在 1 到 {MAX_PER_PAGE} 之间"),
])
def test_pages_out_of_bounds_are_refused(page: int, per_page: int, field: str, message: str, zh: str) -> None:
    with pytest.raises(Invalid) as caught:
        check_page(page, per_page)
    assert [p.field for p in caught.value.problems] == [field]
    assert str(caught.value) == message and caught.value.text("zh-CN") == zh


def test_bounds_themselves_are_accepted() -> None:
    check_page(1, 1)
    check_page(7, MAX_PER_PAGE)
    check_limit("limit", MAX_PER_PAGE)
    with pytest.raises(Invalid, match=r"^limit: must be between 1 and 200$"):
        check_limit("limit", 0)


def test_paginate_returns_one_page_and_the_whole_total(db: Database) -> None:
    with db.transaction() as session:
        session.add_all(LoginAttempt(username=f"u{i:02d}", address="a") for i in range(7))
    query = select(LoginAttempt.username).order_by(LoginAttempt.username)
    with db.transaction() as session:
        assert paginate(session, query, 1, 3) == (["u00", "u01", "u02"], 7)
        assert paginate(session, query, 3, 3) == (["u06"], 7)
        assert paginate(session, query, 4, 3) == ([], 7)


@pytest.mark.parametrize(("total", "pages"), [(0, 1), (1, 1), (25, 1), (26, 2), (50, 2), (51, 3)])
def test_page_count_rounds_up_and_is_never_zero(total: int, pages: int) -> None:
    assert Page[int](items=[], total=total, page=1, per_page=25).pages == pages


def test_page_count_is_not_part_of_the_json() -> None:
    assert Page[int](items=[1], total=1, page=1, per_page=25).model_dump() == {
        "items": [1], "total": 1, "page": 1, "per_page": 25}
