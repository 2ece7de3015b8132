"""Loaner (备用机) reservations: their states and when two of them would hold the same device at once.

>>> from datetime import date
>>> overlaps(date(2026, 12, 1), date(2026, 12, 5), date(2026, 12, 5), date(2026, 12, 9))
True
>>> overlaps(date(2026, 12, 1), date(2026, 12, 4), date(2026, 12, 5), date(2026, 12, 9))
False
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum


class LoanStatus(StrEnum):
    """Where a reservation stands: held, handed over to the merchant, given back, or cancelled."""

    RESERVED = "reserved"
    OUT = "out"
    RETURNED = "returned"
    CANCELLED = "cancelled"


HOLDING: frozenset[LoanStatus] = frozenset({LoanStatus.RESERVED, LoanStatus.OUT})
"""Reservations in these states hold their loaner for their dates."""


def overlaps(begins: date, ends: date, other_begins: date, other_ends: date) -> bool:
    """Tell whether two inclusive date ranges share a day (a loaner handed back on a day cannot go out that day)."""
    if ends < begins or other_ends < other_begins:
        raise ValueError("a range must not end before it begins")
    return begins <= other_ends and other_begins <= ends
