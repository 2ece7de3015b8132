"""Paging of list use cases: bounds of a requested page, one page of a query with its total, and its shape."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from posops.core.errors import Invalid

MAX_PER_PAGE = 200
MAX_PAGE = 100_000
"""The last page a list may be asked for: its offset stays far inside a 64-bit integer."""
T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages the whole list takes (at least one, so an empty list still has a page to show)."""
        return max(1, -(-self.total // self.per_page))


def check_page(page: int, per_page: int) -> None:
    """Raise Invalid unless the page is between 1 and MAX_PAGE and per_page between 1 and MAX_PER_PAGE."""
    if not 1 <= page <= MAX_PAGE:
        raise Invalid("page", key="error.invalid.page", max=MAX_PAGE)
    check_limit("per_page", per_page)


def check_limit(field: str, limit: int) -> None:
    """Raise Invalid naming `field` unless the limit is between 1 and MAX_PER_PAGE."""
    if not 1 <= limit <= MAX_PER_PAGE:
        raise Invalid(field, key="error.invalid.page_size", max=MAX_PER_PAGE)


def paginate(session: Session, query: Select[Any], page: int, per_page: int) -> tuple[list[Any], int]:
    """Return the rows of one page of `query` and how many rows the whole query has."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = list(session.scalars(query.limit(per_page).offset((page - 1) * per_page)))
    return rows, total
