"""Pydantic shapes of the fees API: rate cards, contracts, a merchant's mix, costs, the comparison and flags.

Money is whole fen (``int``) and rates are basis points written as decimal strings (``"60"`` is 0.60 %,
``"3.25"`` is 0.0325 %), never floats. Text meant for people comes in both languages (``…_zh``, ``…_en``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from posops.core.errors import RuleBroken
from posops.core.inputs import Count, Id, RequiredNote, code, one_line
from posops.core.schemas import InputModel
from posops.fees.pricing import Channel, Period, Product
from posops.fees.regulation import CardType, MerchantClass

MAX_FEN = 10**12
"""The largest amount in fen an input may carry (100 亿元): far above any shop's month."""
MAX_DAYS = 3660
RateBp = Annotated[str, code(12, r"^[0-9]{1,4}(\.[0-9]{1,6})?$", min_length=1)]
"""Basis points (万分之一) as an exact decimal string: ``"60"`` is 0.60 %, ``"3.25"`` is 0.0325 %."""
Fen = Annotated[int, Field(ge=0, le=MAX_FEN)]
"""An amount in whole fen (分)."""
Mcc = Annotated[str, code(4, r"^[0-9]{4}$", min_length=4)]
"""A merchant category code (MCC, ISO 18245), four digits such as ``5411``."""
FeeName = Annotated[str, one_line(64, min_length=1)]
Provider = Annotated[str, one_line(64, min_length=1)]
Source = Annotated[str, one_line(500, min_length=1)]


class MixSource(StrEnum):
    """Where a merchant's mix of payments comes from."""

    TRAFFIC = "traffic"
    """Approved purchases in the ISO 8583 traffic of the merchant's terminals."""
    STATEMENT = "statement"
    """The latest statement the merchant (or the desk) uploaded."""
    TYPED = "typed"
    """Monthly volumes typed in by hand."""


class FlagKind(StrEnum):
    """What a check found."""

    OVERCHARGE = "overcharge"
    """A statement line charged more than the contract's rate card allows."""
    MCC_MISMATCH = "mcc_mismatch"
    """Payments under another merchant category code than the registered one (跳码 risk): for the risk role."""


class FlagStatus(StrEnum):
    """Whether a flag still wants attention."""

    OPEN = "open"
    CLOSED = "closed"


# rate cards -----------------------------------------------------------------------------------------------


class RateIn(InputModel):
    """A percentage for one channel and card type, with an optional cap and threshold (see ``pricing.Rate``)."""

    channel: Channel
    card_type: CardType
    rate_bp: RateBp
    cap_fen: Fen | None = None
    threshold_fen: Fen | None = None
    """With a threshold the rate prices payments up to it (included); the rate without one prices the rest."""


class SurchargeIn(InputModel):
    """A fixed amount added to each payment it applies to, e.g. 秒到 / D0 settlement."""

    name: FeeName
    fen_per_transaction: Fen
    channel: Channel | None = None
    """``None``: both channels."""
    card_type: CardType = CardType.ANY


class PeriodicFeeIn(InputModel):
    """A fee billed every month or year whatever the volume (流量费, 服务费, annual fee)."""

    name: FeeName
    fen: Fen
    period: Period


class DepositIn(InputModel):
    """A deposit (押金), refunded once the merchant takes ``refund_volume_fen`` within ``within_days`` days."""

    fen: Fen
    refund_volume_fen: Fen
    within_days: int = Field(ge=1, le=MAX_DAYS)


class RateCardIn(InputModel):
    """A provider's offer for one product and merchant class, with its source; offers are never facts."""

    provider: Provider
    product: Product
    merchant_class: MerchantClass = MerchantClass.STANDARD
    rates: list[RateIn] = Field(min_length=1, max_length=50)
    surcharges: list[SurchargeIn] = Field(default_factory=list, max_length=20)
    periodic_fees: list[PeriodicFeeIn] = Field(default_factory=list, max_length=20)
    deposit: DepositIn | None = None
    valid_from: date
    valid_to: date | None = None
    """Last day offered (included); ``None`` while offered."""
    source: Source
    """Where the figures come from (a price list, a contract, a dealer's page)."""
    source_date: date
    is_example: bool = False
    """An example card, shown labelled as such: not any provider's real offer."""

    @field_validator("rates")
    @classmethod
    def _rates(cls, rates: list[RateIn]) -> list[RateIn]:
        keys = [(r.channel, r.card_type, r.threshold_fen) for r in rates]
        if len(set(keys)) != len(keys):
            raise RuleBroken("fees.error.duplicate_rate")
        if any(Decimal(rate.rate_bp) > 10_000 for rate in rates):
            raise RuleBroken("fees.error.rate_over_100")
        return rates

    @field_validator("valid_to")
    @classmethod
    def _valid_to(cls, valid_to: date | None, info: ValidationInfo) -> date | None:
        valid_from = info.data.get("valid_from")
        if valid_to is not None and valid_from is not None and valid_to < valid_from:
            raise RuleBroken("fees.error.valid_to_before_from")
        return valid_to


class RateCardOut(BaseModel):
    """A stored rate card."""

    id: int
    provider: str
    product: Product
    merchant_class: MerchantClass
    rates: list[RateIn]
    surcharges: list[SurchargeIn]
    periodic_fees: list[PeriodicFeeIn]
    deposit: DepositIn | None
    valid_from: date
    valid_to: date | None
    source: str
    source_date: date
    is_example: bool
    in_force: bool
    """Offered today."""
    created_by: str
    created_at: datetime
    updated_at: datetime


# contracts ------------------------------------------------------------------------------------------------


class ContractIn(InputModel):
    """The card a merchant is on, the class it is priced in, and the category code it was registered with."""

    rate_card_id: Id
    merchant_class: MerchantClass = MerchantClass.STANDARD
    registered_mcc: Mcc


class ContractOut(BaseModel):
    """A merchant's contract."""

    merchant_id: int
    rate_card_id: int
    merchant_class: MerchantClass
    registered_mcc: str
    card: RateCardOut
    updated_by: str
    updated_at: datetime


# a merchant's mix -----------------------------------------------------------------------------------------


class MixLine(InputModel):
    """Payments of one channel and card type: how many and their total in fen."""

    channel: Channel
    card_type: CardType
    count: Count
    amount_fen: Fen


class VolumesIn(InputModel):
    """A typical month typed in by hand, one line per channel and card type."""

    lines: list[MixLine] = Field(min_length=1, max_length=10)

    @field_validator("lines")
    @classmethod
    def _lines(cls, lines: list[MixLine]) -> list[MixLine]:
        keys = [(line.channel, line.card_type) for line in lines]
        if len(set(keys)) != len(keys):
            raise RuleBroken("fees.error.duplicate_volume")
        if any((line.count == 0) != (line.amount_fen == 0) for line in lines):
            raise RuleBroken("fees.error.count_without_amount")
        return lines


class MixOut(BaseModel):
    """A merchant's payments over ``period_days`` days, by channel and card type.

    Traffic tells debit from credit by the card's BIN. Card payments whose type is unknown (a line with
    ``channel: card, card_type: any``) are priced as credit, the dearer and uncapped rate, so that a cost
    is never understated; ``unknown_count`` and ``unknown_amount_fen`` say how many were.
    """

    source: MixSource
    period_days: int
    lines: list[MixLine]
    volume_fen: int
    count: int
    month_volume_fen: int
    """The volume of a 30-day month at this pace."""
    unknown_count: int = 0
    unknown_amount_fen: int = 0
    statement_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


CHANNEL_WORDS = {"card": Channel.CARD, "刷卡": Channel.CARD, "银行卡": Channel.CARD,
                 "qr": Channel.QR, "扫码": Channel.QR, "二维码": Channel.QR}
"""How a statement may name a channel."""
CARD_TYPE_WORDS = {"debit": CardType.DEBIT, "借记卡": CardType.DEBIT, "借记": CardType.DEBIT,
                   "credit": CardType.CREDIT, "信用卡": CardType.CREDIT, "贷记卡": CardType.CREDIT,
                   "贷记": CardType.CREDIT, "any": CardType.ANY, "unknown": CardType.ANY, "未知": CardType.ANY,
                   "": CardType.ANY}
"""How a statement may name a card type; ``any`` (or nothing) is a card of unknown type, or a QR payment."""
STATEMENT_COLUMNS = {"日期": "date", "渠道": "channel", "卡种": "card_type", "金额": "amount", "手续费": "charged"}
"""Chinese column names a statement may use instead of the English ones."""
YuanText = Annotated[str, code(20, r"^[0-9][0-9,]{0,15}(\.[0-9]{1,2})?$", min_length=1)]
"""An amount in 元 with at most two decimals (``1234.50``, ``1,234.5``)."""


def _word(words: dict[str, StrEnum], value: object, key: str) -> StrEnum:
    text = str(value).strip().lower() if value is not None else ""
    if text not in words:
        raise RuleBroken(key, expected=", ".join(sorted({str(v) for v in words.values()})))
    return words[text]


def yuan_fen(text: str) -> int:
    """An amount in 元 with at most two decimals as whole fen: ``"12.30"`` -> ``1230``."""
    return int(Decimal(text.replace(",", "")) * 100)


class StatementRow(InputModel):
    """One row of a statement CSV: day, channel, card type, the amount (fen or 元) and the fee charged (fen or 元)."""

    date: date
    channel: Channel
    card_type: CardType = CardType.ANY
    amount_fen: Fen | None = None
    amount: YuanText | None = None
    charged_fen: Fen | None = None
    charged: YuanText | None = None

    @field_validator("channel", mode="before")
    @classmethod
    def _channel(cls, value: object) -> StrEnum:
        return _word(dict(CHANNEL_WORDS), value, "fees.error.channel_word")

    @field_validator("card_type", mode="before")
    @classmethod
    def _card_type(cls, value: object) -> StrEnum:
        return _word(dict(CARD_TYPE_WORDS), value, "fees.error.card_type_word")

    def fen(self, name: str) -> int | None:
        """The ``amount`` or ``charged`` of the row in fen, whichever column gave it (None when neither did)."""
        in_fen, in_yuan = getattr(self, f"{name}_fen"), getattr(self, name)
        return in_fen if in_fen is not None else None if in_yuan is None else yuan_fen(in_yuan)


class StatementOut(BaseModel):
    """An imported statement: its lines' dates, totals, and what the overcharge check found in it."""

    id: int
    merchant_id: int
    source_name: str
    imported_by: str
    imported_at: datetime
    first_date: date
    last_date: date
    line_count: int
    amount_fen: int
    charged_fen: int
    overcharged_lines: int
    """Lines charged more than the contract's card allows (0 without a contract)."""
    overcharge_fen: int


# costs and the comparison ---------------------------------------------------------------------------------


class CostLine(BaseModel):
    """One component of a month's cost: a rate, a surcharge, a periodic fee, or payments the card cannot price."""

    name: str
    """``rate``, ``surcharge``, ``periodic`` or ``unpriced``."""
    label_zh: str
    label_en: str
    fen: int
    """What it costs in a month."""
    detail_zh: str
    detail_en: str


class DepositOut(BaseModel):
    """The deposit and whether it comes back at this volume."""

    fen: int
    refunded: bool
    refund_volume_fen: int
    within_days: int
    volume_within_days_fen: int
    """The volume taken within the refund's days at this pace."""
    condition_zh: str
    condition_en: str


class RegulatedLine(BaseModel):
    """One regulated component (发卡行服务费, 网络服务费) on the mix's card payments, at its ceiling."""

    component: str
    label_zh: str
    label_en: str
    rate_bp: str
    cap_fen: int | None
    fen: int
    """The most it takes in a month of this mix."""
    source: str
    confidence: str


class RegulatedOut(BaseModel):
    """The regulated part of the card payments' fee, for reference: the rest is the acquirer's (market-priced)."""

    on: date
    merchant_class: MerchantClass
    month_fen: int
    lines: list[RegulatedLine]
    note_zh: str
    note_en: str


class CostOut(BaseModel):
    """What one card costs the merchant for one mix: month and year, the effective rate, every component."""

    card: RateCardOut
    month_fen: int
    year_fen: int
    effective_rate: str | None
    """The month's total over the month's volume as a decimal fraction (``"0.005420"`` is 0.542 %)."""
    lines: list[CostLine]
    deposit: DepositOut | None
    regulated: RegulatedOut
    unpriced_count: int
    """Payments of the mix the card has no rate for (left out of the totals: the card does not fit)."""


class SeriesOut(BaseModel):
    """One card's month cost at each monthly volume of the chart."""

    card_id: int
    label: str
    label_en: str
    month_fen: list[int]


class CurveOut(BaseModel):
    """Cost against monthly volume, the mix's shape kept: one series per card that prices the whole mix."""

    volumes_fen: list[int]
    series: list[SeriesOut]


class CrossingOut(BaseModel):
    """A monthly volume where the cheapest card changes: ``from_card_id`` below it, ``to_card_id`` above."""

    volume_fen: int
    from_card_id: int
    to_card_id: int


class ComparisonOut(BaseModel):
    """Every card in force for the merchant's mix, cheapest first, with the chart and where the lines cross."""

    mix: MixOut
    costs: list[CostOut]
    curve: CurveOut
    crossings: list[CrossingOut]
    current_card_id: int | None


# flags ----------------------------------------------------------------------------------------------------


class FlagOut(BaseModel):
    """Something a check found: an overcharge for the merchant and the desk, a foreign MCC for the risk role."""

    id: int
    merchant_id: int
    terminal_id: int | None
    kind: FlagKind
    detail_zh: str
    detail_en: str
    amount_fen: int | None
    seen_at: datetime
    status: FlagStatus
    closed_by: str | None = None
    closed_at: datetime | None = None
    note: str = ""


class FlagCloseIn(InputModel):
    """Close a flag, saying what was done."""

    note: RequiredNote
