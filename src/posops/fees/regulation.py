"""The regulated components of a card payment's fee, read from the dated table ``kb/fee_regulations.yaml``.

Rates are basis points as exact ``Decimal``; fees are integer fen, rounded half up, then capped.

>>> from datetime import date
>>> [(c.component.value, c.rate_bp) for c in components_on(date(2026, 1, 5), MerchantClass.STANDARD, CardType.DEBIT)]
[('issuer_fee', Decimal('35')), ('network_fee', Decimal('3.25')), ('acquiring_fee', None)]
>>> [(f.component.id, f.fee_fen, f.capped) for f in regulated_fee(10_000_000, CardType.DEBIT, date(2026, 1, 5))]
[('issuer-debit-standard-2024', 1300, True), ('network-debit-standard-2024', 325, True)]
>>> [f.fee_fen for f in regulated_fee(100_000, CardType.DEBIT, date(2022, 3, 1))]  # 银发〔2021〕169号: 9折
[315, 29]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import yaml

REGULATIONS_FILE = Path(__file__).parent.parent / "kb" / "fee_regulations.yaml"
BASIS_POINTS = Decimal(10_000)
_FIELDS = frozenset({"id", "component", "card_type", "side", "rate_bp", "cap_fen", "valid_from", "valid_to",
                     "merchant_classes", "source", "source_date", "confidence", "note"})
E = TypeVar("E", bound=StrEnum)


class CardType(StrEnum):
    """The funding of a card payment; ``any`` is a rule or volume that does not tell them apart."""

    DEBIT = "debit"
    CREDIT = "credit"
    ANY = "any"


class MerchantClass(StrEnum):
    """The class a merchant is priced in: 标准类, 优惠类 or 减免类."""

    STANDARD = "standard"
    PREFERENTIAL = "preferential"
    EXEMPT = "exempt"


class ComponentKind(StrEnum):
    """发卡行服务费, 网络服务费 or 收单服务费."""

    ISSUER_FEE = "issuer_fee"
    NETWORK_FEE = "network_fee"
    ACQUIRING_FEE = "acquiring_fee"


class Side(StrEnum):
    """Who pays a component: the acquirer (passed on to the merchant), the issuer, or each at the same rate."""

    ACQUIRER = "acquirer"
    ISSUER = "issuer"
    EACH = "each"


class Confidence(StrEnum):
    """How sure the table is of an entry: stated by the document, a reading of it, or not verified."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


def to_fen(value: Decimal) -> int:
    """Round an amount of fen to a whole fen, half up: ``Decimal('32.5')`` -> ``33``."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def rate_fee(amount_fen: int, rate_bp: Decimal, cap_fen: int | None) -> tuple[int, bool]:
    """The fee in fen of one payment at ``rate_bp`` (rounded half up) after the cap, and whether the cap cut it."""
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen < 0:
        raise ValueError(f"amount_fen must be a non-negative int, not {amount_fen!r}")
    fee = to_fen(Decimal(amount_fen) * rate_bp / BASIS_POINTS)
    if cap_fen is not None and fee > cap_fen:
        return cap_fen, True
    return fee, False


def card_types_overlap(first: CardType, second: CardType) -> bool:
    """Whether two card types can describe the same payment (``any`` overlaps both)."""
    return first == second or CardType.ANY in (first, second)


@dataclass(frozen=True)
class RegulatedComponent:
    """One version of one regulated component, for some merchant classes and a span of days."""

    id: str
    component: ComponentKind
    card_type: CardType
    side: Side
    rate_bp: Decimal | None
    """Ceiling in basis points; ``None`` when market-priced."""
    cap_fen: int | None
    valid_from: date
    valid_to: date | None
    """Last day in force (included); ``None`` while in force."""
    merchant_classes: frozenset[MerchantClass]
    source: str
    source_date: date
    confidence: Confidence = Confidence.HIGH
    note: str = ""

    def in_force(self, day: date) -> bool:
        """Whether the entry applies on ``day``."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def overlaps(self, other: RegulatedComponent) -> bool:
        """Whether both entries could price the same payment on the same day: two versions of one rule."""
        return (self.component == other.component and self.side == other.side
                and bool(self.merchant_classes & other.merchant_classes)
                and card_types_overlap(self.card_type, other.card_type)
                and (other.valid_to is None or self.valid_from <= other.valid_to)
                and (self.valid_to is None or other.valid_from <= self.valid_to))


@dataclass(frozen=True)
class ComponentFee:
    """What one regulated component charges one payment."""

    component: RegulatedComponent
    fee_fen: int
    capped: bool


def _date(value: Any, where: str, *, optional: bool = False) -> date | None:
    if value is None and optional:
        return None
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValueError(f"{where}: expected a date YYYY-MM-DD, not {value!r}")
    return value


def _enum(kind: type[E], value: Any, where: str) -> E:
    try:
        return kind(value)
    except ValueError as exc:
        raise ValueError(f"{where}: {value!r} is not one of {[item.value for item in kind]}") from exc


def _rate(value: Any, where: str) -> Decimal | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{where}: give rate_bp as a quoted decimal string such as \"3.25\", not {value!r}")
    try:
        rate = Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(f"{where}: rate_bp {value!r} is not a decimal number") from exc
    if not rate.is_finite() or rate < 0:
        raise ValueError(f"{where}: rate_bp must be a finite, non-negative number, not {value!r}")
    return rate


def _entry(raw: Any, source: Path) -> RegulatedComponent:
    if not isinstance(raw, dict):
        raise ValueError(f"{source}: each component is a mapping, not {raw!r}")
    where = f"{source}: component {raw.get('id', '?')}"
    unknown, missing = set(raw) - _FIELDS, _FIELDS - {"confidence", "note"} - set(raw)
    if unknown or missing:
        raise ValueError(f"{where}: unknown fields {sorted(unknown)}, missing fields {sorted(missing)}")
    if not isinstance(raw["id"], str) or not raw["id"] or not isinstance(raw["source"], str) or not raw["source"]:
        raise ValueError(f"{where}: `id` and `source` must be non-empty strings")
    cap = raw["cap_fen"]
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 0):
        raise ValueError(f"{where}: cap_fen must be a non-negative whole number of fen or null, not {cap!r}")
    classes = raw["merchant_classes"]
    if not isinstance(classes, list) or not classes or len(set(classes)) != len(classes):
        raise ValueError(f"{where}: merchant_classes must be a non-empty list without repeats")
    valid_from = _date(raw["valid_from"], where)
    valid_to = _date(raw["valid_to"], where, optional=True)
    assert valid_from is not None
    if valid_to is not None and valid_to < valid_from:
        raise ValueError(f"{where}: valid_to {valid_to} is before valid_from {valid_from}")
    confidence = _enum(Confidence, raw.get("confidence", "high"), where)
    note = raw.get("note") or ""
    if not isinstance(note, str) or (confidence != Confidence.HIGH and not note):
        raise ValueError(f"{where}: an entry of {confidence} confidence needs a `note` saying why")
    source_date = _date(raw["source_date"], where)
    assert source_date is not None
    return RegulatedComponent(
        id=raw["id"], component=_enum(ComponentKind, raw["component"], where),
        card_type=_enum(CardType, raw["card_type"], where), side=_enum(Side, raw["side"], where),
        rate_bp=_rate(raw["rate_bp"], where), cap_fen=cap, valid_from=valid_from, valid_to=valid_to,
        merchant_classes=frozenset(_enum(MerchantClass, item, where) for item in classes),
        source=raw["source"], source_date=source_date, confidence=confidence, note=note,
    )


def load_table(path: Path | None = None) -> tuple[RegulatedComponent, ...]:
    """Read and check a regulation table (``kb/fee_regulations.yaml`` by default); refuse overlapping versions."""
    source = REGULATIONS_FILE if path is None else path
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    if not isinstance(data, Mapping) or not isinstance(data.get("components"), list):
        raise ValueError(f"{source}: expected a mapping with a `components` list")
    entries = tuple(_entry(raw, source) for raw in data["components"])
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        if entry.id in seen:
            raise ValueError(f"{source}: component id {entry.id!r} is used twice")
        seen.add(entry.id)
        clash = next((other for other in entries[:index] if other.overlaps(entry)), None)
        if clash is not None:
            raise ValueError(f"{source}: {entry.id!r} overlaps {clash.id!r}: one component, side and merchant "
                             "class may have only one version in force on a day")
    return entries


@lru_cache(maxsize=1)
def regulations() -> tuple[RegulatedComponent, ...]:
    """The shipped regulation table, read and checked once."""
    return load_table()


def components_on(
    day: date, merchant_class: MerchantClass, card_type: CardType,
    table: tuple[RegulatedComponent, ...] | None = None,
) -> tuple[RegulatedComponent, ...]:
    """The regulated components in force on ``day`` for a merchant class and a payment's card type."""
    entries = regulations() if table is None else table
    return tuple(entry for entry in entries
                 if entry.in_force(day) and merchant_class in entry.merchant_classes
                 and card_types_overlap(entry.card_type, card_type))


def regulated_fee(
    amount_fen: int, card_type: CardType, day: date, merchant_class: MerchantClass = MerchantClass.STANDARD,
    side: Side = Side.ACQUIRER, table: tuple[RegulatedComponent, ...] | None = None,
) -> tuple[ComponentFee, ...]:
    """The most each priced component may charge one payment, for ``side`` (the merchant's by default).

    Market-priced components (the acquiring fee) have no ceiling and are left out; a day before the
    table begins (2016-09-06) has none in force and gives an empty result.
    """
    if card_type == CardType.ANY:
        raise ValueError("the regulated fee depends on the card: give debit or credit")
    fees = []
    for entry in components_on(day, merchant_class, card_type, table):
        if entry.rate_bp is None or entry.side not in (side, Side.EACH):
            continue
        fee, capped = rate_fee(amount_fen, entry.rate_bp, entry.cap_fen)
        fees.append(ComponentFee(entry, fee, capped))
    return tuple(fees)
