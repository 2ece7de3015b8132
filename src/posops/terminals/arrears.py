"""A merchant's fee plan and what an arrears statement owes under it (principal and penalty, in fen).

Money is integer fen (分) throughout; rates are basis points (万分之一).

>>> plan = FeePlan(monthly_fee_fen=3000, daily_penalty_bp=5, grace_days=5)
>>> penalty_fen(plan, 3000, days_overdue=25)
30
>>> format_yuan(123456)
'1,234.56'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

BASIS_POINTS = 10_000



def _check_fen(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int (fen / days / basis points), not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must not be negative")



@dataclass(frozen=True)
class FeePlan:
    """A merchant's contracted fees: what is billed each month and what paying late costs."""

    monthly_fee_fen: int
    """Service fee billed each month (服务费), in fen."""
    daily_penalty_bp: int
    """Late-payment penalty per day, in basis points of the overdue amount (5 = 万分之五 per day)."""
    grace_days: int
    """Days after a due date during which no penalty accrues."""
    monthly_data_fee_fen: int = 0
    """SIM data plan billed each month (流量费), in fen."""
    penalty_cap_fen: int | None = None
    """Most penalty one arrears statement may carry, in fen; ``None`` means no cap."""

    def __post_init__(self) -> None:
        for name in ("monthly_fee_fen", "daily_penalty_bp", "grace_days", "monthly_data_fee_fen"):
            _check_fen(name, getattr(self, name))
        if self.penalty_cap_fen is not None:
            _check_fen("penalty_cap_fen", self.penalty_cap_fen)

    @property
    def monthly_charge_fen(self) -> int:
        """Everything billed for one month, in fen."""
        return self.monthly_fee_fen + self.monthly_data_fee_fen



@dataclass(frozen=True)
class ArrearsLine:
    """One unpaid monthly bill on an arrears statement."""

    due_on: date
    days_overdue: int
    principal_fen: int
    penalty_fen: int



@dataclass(frozen=True)
class ArrearsStatement:
    """What a merchant owes on a given day: unpaid bills, penalty (after any cap) and the total."""

    as_of: date
    lines: tuple[ArrearsLine, ...]
    principal_fen: int
    penalty_fen: int
    penalty_capped: bool
    total_fen: int



def penalty_fen(plan: FeePlan, amount_fen: int, days_overdue: int) -> int:
    """Return the penalty on ``amount_fen`` overdue by ``days_overdue`` days, before any cap.

    Penalty accrues only for the days beyond the grace period, at ``daily_penalty_bp`` per day,
    rounded half up to the fen.
    """
    _check_fen("amount_fen", amount_fen)
    if isinstance(days_overdue, bool) or not isinstance(days_overdue, int):
        raise TypeError("days_overdue must be an int")
    chargeable_days = max(0, days_overdue - plan.grace_days)
    numerator = amount_fen * plan.daily_penalty_bp * chargeable_days
    return (numerator + BASIS_POINTS // 2) // BASIS_POINTS



def compute_arrears(plan: FeePlan, unpaid_due_dates: Sequence[date], as_of: date) -> ArrearsStatement:
    """Compute the arrears statement on ``as_of`` for monthly bills unpaid since ``unpaid_due_dates``.

    Each bill is one month of ``plan.monthly_charge_fen``; a bill not yet past its due date is
    not arrears and is left out. The cap, if any, applies to the statement's total penalty.
    Compute it as of the day the merchant paid, so penalty stops accruing on the voucher's date.
    """
    lines = []
    for due_on in sorted(unpaid_due_dates):
        days = (as_of - due_on).days
        if days <= 0:
            continue
        principal = plan.monthly_charge_fen
        lines.append(ArrearsLine(due_on, days, principal, penalty_fen(plan, principal, days)))
    principal_total = sum(line.principal_fen for line in lines)
    uncapped = sum(line.penalty_fen for line in lines)
    capped = plan.penalty_cap_fen is not None and uncapped > plan.penalty_cap_fen
    penalty_total = plan.penalty_cap_fen if capped and plan.penalty_cap_fen is not None else uncapped
    return ArrearsStatement(
        as_of=as_of,
        lines=tuple(lines),
        principal_fen=principal_total,
        penalty_fen=penalty_total,
        penalty_capped=capped,
        total_fen=principal_total + penalty_total,
    )



def format_yuan(fen: int) -> str:
    """Format an amount in fen as yuan with two decimals: ``123456`` -> ``'1,234.56'``."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"
