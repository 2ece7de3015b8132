"""Providers' rate cards and what a merchant's own mix of payments costs under each, in exact fen.

Money is integer fen and rates ``Decimal`` basis points; nothing here is a float. A rate prices each payment
(rounded half up to the fen, then capped); a mix carries its payments' amounts, so caps and thresholds apply
payment by payment.

>>> mix = Mix.monthly({(Channel.CARD, CardType.CREDIT): 3_000_000, (Channel.CARD, CardType.DEBIT): 1_000_000,
...                    (Channel.QR, CardType.ANY): 1_000_000}, ticket_fen=20_000)
>>> a, b, c = EXAMPLE_CARDS
>>> [(x.card.provider, x.month_total_fen, x.unpriced_count) for x in compare(EXAMPLE_CARDS, mix)]
[('示例支付 A', 27100, 0), ('示例支付 B', 27300, 0), ('示例支付 C', 8800, 200)]
>>> str(cost(a, mix).effective_rate)
'0.005420'
>>> [(x.volume_fen, x.below.provider, x.above.provider) for x in crossings(EXAMPLE_CARDS, mix)]
[(5500000, '示例支付 A', '示例支付 B')]
>>> overcharge(a, Transaction(Channel.CARD, CardType.DEBIT, 1_000_000), charged_fen=3000)
1000
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from itertools import pairwise
from typing import Any, NamedTuple

from posops.fees.regulation import CardType, MerchantClass, rate_fee, to_fen

DAYS_PER_MONTH = 30
"""A month's days when a deposit's refund condition ("volume X within Y days") is met at a monthly volume."""
RATE_PLACES = Decimal("0.000001")
"""Effective rates are shown to a hundredth of a basis point."""


class Channel(StrEnum):
    """How a payment is taken: a card read by the terminal, or a QR code."""

    CARD = "card"
    QR = "qr"


class Product(StrEnum):
    """The product a rate card is for: 电签 (smart POS), 传统 (classic POS) or 扫码 (QR only)."""

    POS_SMART = "pos_smart"
    POS_CLASSIC = "pos_classic"
    QR = "qr"


class Period(StrEnum):
    """How often a periodic fee is billed."""

    MONTH = "month"
    YEAR = "year"


def _fen(name: str, value: Any, *, positive: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int (fen, counts or days), not {type(value).__name__}")
    if value < (1 if positive else 0):
        raise ValueError(f"{name} must be {'positive' if positive else 'non-negative'}, not {value}")


@dataclass(frozen=True)
class Rate:
    """A percentage for one channel and card type, with an optional cap and an optional threshold.

    With ``threshold_fen`` the rate prices payments up to that amount (included); the rate of the same channel
    and card type without a threshold prices the larger ones. ``card_type=any`` serves card types with no rate
    of their own.
    """

    channel: Channel
    card_type: CardType
    rate_bp: Decimal
    cap_fen: int | None = None
    threshold_fen: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.rate_bp, Decimal):
            raise TypeError(f"rate_bp must be a Decimal (exact basis points), not {type(self.rate_bp).__name__}")
        if not self.rate_bp.is_finite() or self.rate_bp < 0:
            raise ValueError(f"rate_bp must be finite and non-negative, not {self.rate_bp}")
        for name in ("cap_fen", "threshold_fen"):
            if getattr(self, name) is not None:
                _fen(name, getattr(self, name))


@dataclass(frozen=True)
class Surcharge:
    """A fixed amount added to each payment it applies to, e.g. 秒到 / D0 settlement."""

    name: str
    fen_per_transaction: int
    channel: Channel | None = None
    """``None`` applies to both channels."""
    card_type: CardType = CardType.ANY

    def __post_init__(self) -> None:
        _fen("fen_per_transaction", self.fen_per_transaction)

    def applies(self, channel: Channel, card_type: CardType) -> bool:
        """Whether a payment pays the surcharge: one for a card type applies only to payments known to be of it."""
        return self.channel in (None, channel) and self.card_type in (CardType.ANY, card_type)


@dataclass(frozen=True)
class PeriodicFee:
    """A fee billed every month or every year whatever the volume, e.g. 流量费 or a service fee."""

    name: str
    fen: int
    period: Period

    def __post_init__(self) -> None:
        _fen("fen", self.fen)

    @property
    def month_fen(self) -> int:
        """The fee's share of one month; a yearly fee's twelfth is rounded half up to the fen."""
        return self.fen if self.period == Period.MONTH else to_fen(Decimal(self.fen) / 12)

    @property
    def year_fen(self) -> int:
        """What the fee costs in a year."""
        return self.fen * 12 if self.period == Period.MONTH else self.fen


@dataclass(frozen=True)
class Deposit:
    """A deposit (押金) refunded once the merchant takes ``refund_volume_fen`` within ``within_days`` days."""

    fen: int
    refund_volume_fen: int
    within_days: int

    def __post_init__(self) -> None:
        _fen("fen", self.fen)
        _fen("refund_volume_fen", self.refund_volume_fen)
        _fen("within_days", self.within_days, positive=True)


@dataclass(frozen=True)
class RateCard:
    """A provider's offer for one product and merchant class, valid over a span of days, with its source."""

    provider: str
    product: Product
    merchant_class: MerchantClass
    rates: tuple[Rate, ...]
    valid_from: date
    source: str
    source_date: date
    surcharges: tuple[Surcharge, ...] = ()
    periodic_fees: tuple[PeriodicFee, ...] = ()
    deposit: Deposit | None = None
    valid_to: date | None = None
    is_example: bool = False

    def __post_init__(self) -> None:
        for name in ("rates", "surcharges", "periodic_fees"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        keys = [(rate.channel, rate.card_type, rate.threshold_fen) for rate in self.rates]
        if len(set(keys)) != len(keys):
            raise ValueError(f"{self.provider} {self.product}: two rates for one channel, card type and threshold")
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError(f"{self.provider} {self.product}: valid_to is before valid_from")

    def in_force(self, day: date) -> bool:
        """Whether the card is offered on ``day``."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def rate_for(self, channel: Channel, card_type: CardType, amount_fen: int) -> Rate | None:
        """The rate that prices a payment, or ``None`` when the card has none for it."""
        for wanted in dict.fromkeys((card_type, CardType.ANY)):
            rates = [rate for rate in self.rates if rate.channel == channel and rate.card_type == wanted]
            if rates:
                tiers = sorted((rate for rate in rates if rate.threshold_fen is not None and
                                amount_fen <= rate.threshold_fen), key=lambda rate: rate.threshold_fen or 0)
                return tiers[0] if tiers else next((rate for rate in rates if rate.threshold_fen is None), None)
        return None


class Transaction(NamedTuple):
    """One payment: its channel, card type and amount in fen."""

    channel: Channel
    card_type: CardType
    amount_fen: int


@dataclass(frozen=True)
class Bucket:
    """``count`` payments of ``amount_fen_each`` each."""

    count: int
    amount_fen_each: int

    def __post_init__(self) -> None:
        _fen("count", self.count)
        _fen("amount_fen_each", self.amount_fen_each)


@dataclass(frozen=True)
class Volume:
    """The payments of one channel and card type, as buckets of equal amounts."""

    channel: Channel
    card_type: CardType
    buckets: tuple[Bucket, ...]

    @property
    def count(self) -> int:
        """Number of payments."""
        return sum(bucket.count for bucket in self.buckets)

    @property
    def amount_fen(self) -> int:
        """Their total amount in fen."""
        return sum(bucket.count * bucket.amount_fen_each for bucket in self.buckets)


@dataclass(frozen=True)
class Mix:
    """A merchant's payments over some months, by channel and card type, with their amounts."""

    volumes: tuple[Volume, ...]

    @property
    def count(self) -> int:
        """Number of payments."""
        return sum(volume.count for volume in self.volumes)

    @property
    def volume_fen(self) -> int:
        """Their total amount in fen."""
        return sum(volume.amount_fen for volume in self.volumes)

    @classmethod
    def from_transactions(cls, transactions: Iterable[tuple[Channel | str, CardType | str, int]]) -> Mix:
        """The mix of actual payments, each kept at its own amount."""
        counts: dict[tuple[Channel, CardType], Counter[int]] = {}
        for channel, card_type, amount_fen in transactions:
            _fen("amount_fen", amount_fen)
            counts.setdefault((Channel(channel), CardType(card_type)), Counter())[amount_fen] += 1
        return cls(tuple(Volume(channel, card_type, tuple(Bucket(n, amount) for amount, n in sorted(amounts.items())))
                         for (channel, card_type), amounts in sorted(counts.items())))

    @classmethod
    def monthly(cls, volumes: Mapping[tuple[Channel, CardType], int],
                ticket_fen: int | Mapping[tuple[Channel, CardType], int]) -> Mix:
        """A typed-in month: each volume spread into payments of a typical ticket, the remainder as one more."""
        result = []
        for key, amount_fen in sorted(volumes.items()):
            ticket = ticket_fen if isinstance(ticket_fen, int) else ticket_fen[key]
            _fen("amount_fen", amount_fen)
            _fen("ticket_fen", ticket, positive=True)
            whole, rest = divmod(amount_fen, ticket)
            buckets = tuple(bucket for bucket in (Bucket(whole, ticket), Bucket(1, rest)) if bucket.count and
                            bucket.amount_fen_each)
            result.append(Volume(Channel(key[0]), CardType(key[1]), buckets))
        return cls(tuple(result))


@dataclass(frozen=True)
class RateLine:
    """What one rate charged the mix: payments, their amount, the fee, and how many payments hit the cap."""

    rate: Rate
    count: int
    amount_fen: int
    fee_fen: int
    capped_count: int


@dataclass(frozen=True)
class SurchargeLine:
    """What one surcharge added over the mix."""

    surcharge: Surcharge
    count: int
    fee_fen: int


@dataclass(frozen=True)
class DepositOutcome:
    """Whether the deposit comes back at the mix's monthly volume, counted over the refund's days."""

    deposit: Deposit
    volume_within_days_fen: int
    """The volume taken within the refund's days at this monthly volume (a month is 30 days), rounded down."""
    refunded: bool

    @property
    def kept_fen(self) -> int:
        """What the merchant loses: the deposit when it is not refunded."""
        return 0 if self.refunded else self.deposit.fen


@dataclass(frozen=True)
class CostBreakdown:
    """Every component of a card's cost for a mix, the month's and the year's totals, and the effective rate."""

    card: RateCard
    months: int
    """How many months the mix spans; lines are the mix's, totals are per month and per year."""
    count: int
    volume_fen: int
    rate_lines: tuple[RateLine, ...]
    surcharge_lines: tuple[SurchargeLine, ...]
    periodic_fees: tuple[PeriodicFee, ...]
    deposit: DepositOutcome | None
    unpriced_count: int
    """Payments the card has no rate for (left out of the totals)."""
    unpriced_amount_fen: int
    month_total_fen: int
    year_total_fen: int
    effective_rate: Decimal | None
    """The month's total over the month's volume; ``None`` without volume."""


def _price(card: RateCard, mix: Mix) -> tuple[tuple[RateLine, ...], tuple[SurchargeLine, ...], int, int]:
    lines = [[0, 0, 0, 0] for _ in card.rates]  # count, amount, fee, capped count
    extra = [0 for _ in card.surcharges]
    unpriced = [0, 0]
    for volume in mix.volumes:
        for bucket in volume.buckets:
            rate = card.rate_for(volume.channel, volume.card_type, bucket.amount_fen_each)
            if rate is None:
                unpriced[0] += bucket.count
                unpriced[1] += bucket.count * bucket.amount_fen_each
                continue
            fee, capped = rate_fee(bucket.amount_fen_each, rate.rate_bp, rate.cap_fen)
            line = lines[card.rates.index(rate)]
            line[0] += bucket.count
            line[1] += bucket.count * bucket.amount_fen_each
            line[2] += bucket.count * fee
            line[3] += bucket.count if capped else 0
            for index, surcharge in enumerate(card.surcharges):
                if surcharge.applies(volume.channel, volume.card_type):
                    extra[index] += bucket.count
    return (tuple(RateLine(rate, *figures) for rate, figures in zip(card.rates, lines, strict=True)),
            tuple(SurchargeLine(s, n, n * s.fen_per_transaction) for s, n in zip(card.surcharges, extra, strict=True)),
            unpriced[0], unpriced[1])


def cost(card: RateCard, mix: Mix, months: int = 1) -> CostBreakdown:
    """What ``card`` costs a merchant whose payments over ``months`` months are ``mix``."""
    _fen("months", months, positive=True)
    rate_lines, surcharge_lines, unpriced_count, unpriced_amount = _price(card, mix)
    transactions_fen = Decimal(sum(line.fee_fen for line in rate_lines) + sum(s.fee_fen for s in surcharge_lines))
    month_total = to_fen(transactions_fen / months) + sum(fee.month_fen for fee in card.periodic_fees)
    year_total = to_fen(transactions_fen * 12 / months) + sum(fee.year_fen for fee in card.periodic_fees)
    volume = mix.volume_fen
    outcome = None
    if card.deposit is not None:
        reached = volume * card.deposit.within_days // (DAYS_PER_MONTH * months)
        outcome = DepositOutcome(card.deposit, reached, reached >= card.deposit.refund_volume_fen)
    effective = (Decimal(month_total * months) / volume).quantize(RATE_PLACES, ROUND_HALF_UP) if volume else None
    return CostBreakdown(card, months, mix.count, volume, rate_lines, surcharge_lines, card.periodic_fees, outcome,
                         unpriced_count, unpriced_amount, month_total, year_total, effective)


def compare(cards: Iterable[RateCard], mix: Mix, months: int = 1) -> tuple[CostBreakdown, ...]:
    """Every card's cost for the mix, cheapest month first; cards missing a rate for some payments come last."""
    return tuple(sorted((cost(card, mix, months) for card in cards), key=lambda x: (
        x.unpriced_count > 0, x.month_total_fen, x.card.provider, x.card.product)))


@dataclass(frozen=True)
class CostSeries:
    """One card's month cost at each monthly volume of a chart."""

    card: RateCard
    volumes_fen: tuple[int, ...]
    month_fen: tuple[int, ...]


@dataclass(frozen=True)
class Crossing:
    """A monthly volume where the cheapest card changes: ``below`` is cheapest under it, ``above`` over it."""

    volume_fen: int
    below: RateCard
    above: RateCard


def _line(card: RateCard, mix: Mix) -> tuple[int, Decimal]:
    """Month cost as fixed fen plus fen per fen of monthly volume, scaling the mix's payments in proportion."""
    if not mix.volume_fen:
        raise ValueError("an empty mix cannot be scaled to other volumes")
    rate_lines, surcharge_lines, _, _ = _price(card, mix)
    variable = sum(line.fee_fen for line in rate_lines) + sum(s.fee_fen for s in surcharge_lines)
    return sum(fee.month_fen for fee in card.periodic_fees), Decimal(variable) / mix.volume_fen


def cost_curve(cards: Sequence[RateCard], mix: Mix, volumes_fen: Sequence[int]) -> tuple[CostSeries, ...]:
    """Each card's month cost at each monthly volume, the mix's shape (channels, card types, tickets) kept."""
    series = []
    for card in cards:
        fixed, per_fen = _line(card, mix)
        series.append(CostSeries(card, tuple(volumes_fen), tuple(fixed + to_fen(per_fen * v) for v in volumes_fen)))
    return tuple(series)


def crossings(cards: Sequence[RateCard], mix: Mix) -> tuple[Crossing, ...]:
    """The monthly volumes where the cheapest card changes, among cards that price every payment of the mix."""
    priced = [card for card in cards if _price(card, mix)[2] == 0]
    lines = [(card, *_line(card, mix)) for card in priced]
    points = sorted({Decimal(fa - fb) / (sb - sa) for _, fa, sa in lines for _, fb, sb in lines
                     if sa != sb and Decimal(fa - fb) / (sb - sa) > 0})

    def cheapest(volume: Decimal) -> RateCard:
        return min(lines, key=lambda line: (line[1] + line[2] * volume, line[0].provider, line[0].product))[0]

    probes = [points[0] / 2, *((a + b) / 2 for a, b in pairwise(points)),
              points[-1] * 2] if points else []
    return tuple(Crossing(to_fen(point), cheapest(low), cheapest(high))
                 for point, low, high in zip(points, probes, probes[1:], strict=False)
                 if cheapest(low) != cheapest(high))


def expected_fee(card: RateCard, channel: Channel, card_type: CardType, amount_fen: int) -> int:
    """What the card lets the provider charge one payment: its rate's fee (capped) plus its surcharges."""
    rate = card.rate_for(channel, card_type, amount_fen)
    if rate is None:
        raise ValueError(f"{card.provider} {card.product} has no rate for {channel}/{card_type} payments")
    fee, _ = rate_fee(amount_fen, rate.rate_bp, rate.cap_fen)
    return fee + sum(s.fen_per_transaction for s in card.surcharges if s.applies(channel, card_type))


def overcharge(card: RateCard, transaction: Transaction, charged_fen: int, tolerance_fen: int = 1) -> int:
    """How much more than the card allows a payment was charged; 0 when within ``tolerance_fen`` or less."""
    _fen("charged_fen", charged_fen)
    excess = charged_fen - expected_fee(card, transaction.channel, transaction.card_type, transaction.amount_fen)
    return excess if excess > tolerance_fen else 0


_EXAMPLE_SOURCE = ("example — market offers seen in 2024–2026 dealer pages, low confidence, "
                   "to be entered by the provider")
_QR_RATES = (Rate(Channel.QR, CardType.ANY, Decimal("38"), threshold_fen=100_000),
             Rate(Channel.QR, CardType.ANY, Decimal("60")))

EXAMPLE_CARDS: tuple[RateCard, ...] = (
    RateCard(
        provider="示例支付 A", product=Product.POS_SMART, merchant_class=MerchantClass.STANDARD,
        rates=(Rate(Channel.CARD, CardType.CREDIT, Decimal("60")),
               Rate(Channel.CARD, CardType.DEBIT, Decimal("50"), cap_fen=2000), *_QR_RATES),
        periodic_fees=(PeriodicFee("流量费", 3600, Period.YEAR),),
        deposit=Deposit(fen=9900, refund_volume_fen=3_000_000, within_days=90),
        valid_from=date(2026, 1, 1), source=_EXAMPLE_SOURCE, source_date=date(2026, 1, 1), is_example=True,
    ),
    RateCard(
        provider="示例支付 B", product=Product.POS_CLASSIC, merchant_class=MerchantClass.STANDARD,
        rates=(Rate(Channel.CARD, CardType.CREDIT, Decimal("55")),
               Rate(Channel.CARD, CardType.DEBIT, Decimal("45"), cap_fen=2000), *_QR_RATES),
        periodic_fees=(PeriodicFee("流量费", 6000, Period.YEAR), PeriodicFee("服务费", 2000, Period.MONTH)),
        deposit=Deposit(fen=29900, refund_volume_fen=10_000_000, within_days=90),
        valid_from=date(2026, 1, 1), source=_EXAMPLE_SOURCE, source_date=date(2026, 1, 1), is_example=True,
    ),
    RateCard(
        provider="示例支付 C", product=Product.QR, merchant_class=MerchantClass.STANDARD, rates=_QR_RATES,
        surcharges=(Surcharge("秒到 (D0)", 100, channel=Channel.QR),),
        valid_from=date(2026, 1, 1), source=_EXAMPLE_SOURCE, source_date=date(2026, 1, 1), is_example=True,
    ),
)
"""Example cards only, labelled as such: the lower-rate card B, with its monthly service fee, is cheaper than A
above a monthly volume (55,000 元 on a typical shop's mix); C takes QR payments only."""
