"""Loads a merchant-owned row for a caller: 404 when it is missing or belongs to another merchant."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from posops.core.auth import Principal, not_found, scoped


class MerchantOwned(Protocol):
    """A row that belongs to one merchant (or to none, when only staff may see it)."""

    merchant_id: Any


RowT = TypeVar("RowT", bound=MerchantOwned)


def load_visible(session: Session, principal: Principal, model: type[RowT], row_id: object, what: str, *,
                 lock: bool = False) -> RowT:
    """Load `model` by primary key as the caller may see it; `lock` takes a row lock and refreshes the row.

    A missing or invisible row is NotFound, said as ``error.not_found.<what>`` (see ``posops.core.auth.not_found``).
    """
    query = scoped(select(model).where(model.id == row_id), principal, model.merchant_id)  # type: ignore[attr-defined]
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    row = session.scalar(query)
    if row is None:
        raise not_found(what)
    return row
