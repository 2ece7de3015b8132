"""Rate cards against a merchant's mix: per-payment caps and thresholds, totals, deposits, ranking, crossings."""

from __future__ import annotations

from dataclasses import fields
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from posops.fees.pricing import (
    EXAMPLE_CARDS,
    Bucket,
    Channel,
    CostBreakdown,
    Deposit,
    Mix,
    Period,
    PeriodicFee,
    Product,
    Rate,
    RateCard,
    Surcharge,
    Transaction,
    compare,
    cost,
    cost_curve,
    crossings,
    expected_fee,
    overcharge,
)
from posops.fees.regulation import CardType, MerchantClass

CREDIT = (Channel.CARD, CardType.CREDIT)
DEBIT = (Channel.CARD, CardType.DEBIT)
QR = (Channel.QR, CardType.ANY)


def card(provider: str, *rates: Rate, **extra: Any) -> RateCard:
    return RateCard(provider=provider, product=Product.POS_SMART, merchant_class=MerchantClass.STANDARD,
                    rates=rates, valid_from=date(2026, 1, 1), source="test", source_date=date(2026, 1, 1),
                    **extra)


def credit_only(provider: str, rate_bp: str, service_fen: int) -> RateCard:
    fee = (PeriodicFee("服务费", service_fen, Period.MONTH),) if service_fen else ()
    return card(provider, Rate(Channel.CARD, CardType.CREDIT, Decimal(rate_bp)), periodic_fees=fee)


SHOP = card(
    "Shop",
    Rate(Channel.CARD, CardType.CREDIT, Decimal("60")),
    Rate(Channel.CARD, CardType.DEBIT, Decimal("50"), cap_fen=2000),
    Rate(Channel.CARD, CardType.ANY, Decimal("70")),
    Rate(Channel.QR, CardType.ANY, Decimal("38"), threshold_fen=100_000),
    Rate(Channel.QR, CardType.ANY, Decimal("60")),
    surcharges=(Surcharge("秒到", 100, channel=Channel.CARD, card_type=CardType.CREDIT),),
    periodic_fees=(PeriodicFee("流量费", 3600, Period.YEAR), PeriodicFee("服务费", 2000, Period.MONTH)),
)


# --- one payment ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("channel", "card_type", "amount_fen", "fee_fen"), [
    (Channel.CARD, CardType.DEBIT, 100_000, 500),  # 0.5 % of 1,000 元, under the cap
    (Channel.CARD, CardType.DEBIT, 1_000_000, 2000),  # 0.5 % of 10,000 元 = 5,000 fen, capped at 2,000
    (Channel.CARD, CardType.DEBIT, 333, 2),  # 1.665 fen -> 2 (half up)
    (Channel.CARD, CardType.CREDIT, 1_000_000, 6000 + 100),  # 0.6 %, uncapped, plus the 1 元 秒到 surcharge
    (Channel.CARD, CardType.ANY, 100_000, 700),  # an unknown card type takes the card's `any` rate
    (Channel.QR, CardType.ANY, 100_000, 380),  # 0.38 % up to 1,000 元 included
    (Channel.QR, CardType.ANY, 100_001, 600),  # above it 0.6 %: 600.006 -> 600
])
def test_expected_fee_of_one_payment(channel: Channel, card_type: CardType, amount_fen: int, fee_fen: int) -> None:
    assert expected_fee(SHOP, channel, card_type, amount_fen) == fee_fen


def test_a_payment_without_a_rate_has_no_expected_fee() -> None:
    qr_only = card("QR", Rate(Channel.QR, CardType.ANY, Decimal("38")))
    with pytest.raises(ValueError, match="no rate"):
        expected_fee(qr_only, Channel.CARD, CardType.DEBIT, 10_000)


def test_overcharge_beyond_the_tolerance_is_the_difference() -> None:
    payment = Transaction(Channel.CARD, CardType.DEBIT, 1_000_000)  # allowed: 2,000 fen (capped)
    assert overcharge(SHOP, payment, charged_fen=2001) == 0  # within the default 1 fen
    assert overcharge(SHOP, payment, charged_fen=2002) == 2
    assert overcharge(SHOP, payment, charged_fen=5000) == 3000  # the cap not applied: 0.5 % uncapped
    assert overcharge(SHOP, payment, charged_fen=1500) == 0  # charged less is no overcharge
    assert overcharge(SHOP, payment, charged_fen=2010, tolerance_fen=10) == 0


# --- mixes ---------------------------------------------------------------------------------------------------------


def test_monthly_volumes_are_spread_into_tickets_with_the_remainder_as_one_payment() -> None:
    mix = Mix.monthly({DEBIT: 1_050_000}, ticket_fen=100_000)
    assert mix.volumes[0].buckets == (Bucket(10, 100_000), Bucket(1, 50_000))
    assert (mix.count, mix.volume_fen) == (11, 1_050_000)


def test_transactions_keep_each_amount() -> None:
    mix = Mix.from_transactions([("card", "debit", 500), (Channel.CARD, CardType.DEBIT, 500), ("qr", "any", 120)])
    assert {(v.channel, v.card_type): v.buckets for v in mix.volumes} == {
        DEBIT: (Bucket(2, 500),), QR: (Bucket(1, 120),)}
    assert (mix.count, mix.volume_fen) == (3, 1120)


# --- a card's cost -------------------------------------------------------------------------------------------------


def test_every_component_of_a_months_cost_is_shown() -> None:
    mix = Mix.from_transactions(
        [(Channel.CARD, CardType.DEBIT, 5_000_000)] * 3  # 0.5 % = 25,000 fen each, capped at 2,000
        + [(Channel.CARD, CardType.DEBIT, 10_000)] * 10  # 50 fen each
        + [(Channel.CARD, CardType.CREDIT, 20_000)] * 5  # 120 fen each, plus 100 fen 秒到 each
        + [(Channel.QR, CardType.ANY, 200_000)] * 2  # above 1,000 元: 0.6 % = 1,200 fen each
    )
    breakdown = cost(SHOP, mix)
    lines = {(line.rate.channel, line.rate.card_type, line.rate.threshold_fen): line for line in breakdown.rate_lines}
    debit = lines[(Channel.CARD, CardType.DEBIT, None)]
    assert (debit.count, debit.amount_fen, debit.fee_fen, debit.capped_count) == (13, 15_100_000, 6500, 3)
    credit = lines[(Channel.CARD, CardType.CREDIT, None)]
    assert (credit.count, credit.fee_fen, credit.capped_count) == (5, 600, 0)
    assert lines[(Channel.QR, CardType.ANY, 100_000)].count == 0
    assert (lines[(Channel.QR, CardType.ANY, None)].count, lines[(Channel.QR, CardType.ANY, None)].fee_fen) == (2, 2400)
    assert [(s.count, s.fee_fen) for s in breakdown.surcharge_lines] == [(5, 500)]
    # rates 6,500 + 600 + 2,400, surcharges 500 = 10,000; 流量费 3,600 a year = 300 a month; 服务费 2,000 a month
    assert breakdown.month_total_fen == 10_000 + 300 + 2000
    assert breakdown.year_total_fen == 10_000 * 12 + 3600 + 2000 * 12
    # volume 15,100,000 + 100,000 + 400,000 = 15,600,000 fen; 12,300 / 15,600,000 = 0.000788461... -> 0.000788
    assert breakdown.volume_fen == 15_600_000
    assert breakdown.effective_rate == Decimal("0.000788")
    assert breakdown.unpriced_count == 0


def test_a_mix_of_three_months_is_costed_per_month() -> None:
    mix = Mix.monthly({CREDIT: 3_000_000}, ticket_fen=10_000)  # 300 payments of 100 元 over three months
    breakdown = cost(credit_only("C", "60", 2000), mix, months=3)
    # 300 x 60 fen = 18,000 fen over three months: 6,000 a month, 72,000 a year; plus 2,000 a month
    assert (breakdown.month_total_fen, breakdown.year_total_fen) == (6000 + 2000, 72_000 + 24_000)
    assert breakdown.effective_rate == Decimal("0.008000")  # 8,000 / 1,000,000 fen a month


def test_a_yearly_fee_not_divisible_by_twelve_is_rounded_in_the_month_only() -> None:
    yearly = card("Y", Rate(Channel.CARD, CardType.CREDIT, Decimal("0")),
                  periodic_fees=(PeriodicFee("年费", 5000, Period.YEAR),))
    breakdown = cost(yearly, Mix.monthly({CREDIT: 10_000}, ticket_fen=10_000))
    assert (breakdown.month_total_fen, breakdown.year_total_fen) == (417, 5000)  # 416.67 -> 417; the year exact


def test_payments_without_a_rate_are_counted_apart() -> None:
    qr_only = card("QR", Rate(Channel.QR, CardType.ANY, Decimal("38")))
    breakdown = cost(qr_only, Mix.monthly({QR: 100_000, DEBIT: 50_000}, ticket_fen=50_000))
    assert (breakdown.unpriced_count, breakdown.unpriced_amount_fen, breakdown.month_total_fen) == (1, 50_000, 380)


def test_no_float_anywhere_in_a_breakdown() -> None:
    breakdown = cost(SHOP, Mix.monthly({CREDIT: 1_234_567, DEBIT: 7_654_321, QR: 99_999}, ticket_fen=33_333))

    def check(value: object) -> None:
        assert not isinstance(value, float)
        if isinstance(value, tuple):
            for item in value:
                check(item)
        elif hasattr(value, "__dataclass_fields__"):
            for field in fields(value):  # type: ignore[arg-type]
                check(getattr(value, field.name))

    check(breakdown)
    assert type(breakdown.month_total_fen) is int and type(breakdown.year_total_fen) is int
    assert type(breakdown.effective_rate) is Decimal
    assert all(type(line.fee_fen) is int for line in breakdown.rate_lines)


def test_a_float_rate_or_amount_is_refused() -> None:
    with pytest.raises(TypeError, match="Decimal"):
        Rate(Channel.CARD, CardType.CREDIT, 0.6)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Mix.from_transactions([(Channel.CARD, CardType.CREDIT, 100.0)])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        PeriodicFee("流量费", 36.0, Period.YEAR)  # type: ignore[arg-type]


# --- the deposit ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("within_days", "monthly_fen", "refunded"), [
    (30, 3_000_000, True),  # exactly the refund volume within a 30-day month
    (30, 2_999_999, False),  # one fen below
    (90, 1_000_000, True),  # three months of 1,000,000 fen reach 3,000,000
    (90, 999_999, False),  # 2,999,997 within 90 days
])
def test_deposit_is_refunded_exactly_at_the_threshold(within_days: int, monthly_fen: int, refunded: bool) -> None:
    deposit = Deposit(fen=9900, refund_volume_fen=3_000_000, within_days=within_days)
    rated = card("D", Rate(Channel.CARD, CardType.CREDIT, Decimal("60")), deposit=deposit)
    outcome = cost(rated, Mix.monthly({CREDIT: monthly_fen}, ticket_fen=10_000)).deposit
    assert outcome is not None
    assert outcome.volume_within_days_fen == monthly_fen * within_days // 30
    assert outcome.refunded is refunded
    assert outcome.kept_fen == (0 if refunded else 9900)


# --- comparing cards: the cheapest changes with volume --------------------------------------------------------------

LOW_FIXED = credit_only("Alpha", "60", 0)  # 0.6 %, nothing fixed
LOW_RATE = credit_only("Beta", "50", 6000)  # 0.5 %, 60 元 a month
NEVER = credit_only("Gamma", "55", 10_000)  # dearer than Beta at every volume


def credit_month(volume_fen: int) -> Mix:
    return Mix.monthly({CREDIT: volume_fen}, ticket_fen=10_000)


def test_cheapest_card_changes_at_the_crossing_volume() -> None:
    cards = (NEVER, LOW_RATE, LOW_FIXED)
    # Alpha = 0.006 V, Beta = 6,000 + 0.005 V: equal where 0.001 V = 6,000, V = 6,000,000 fen (60,000 元)
    found = crossings(cards, credit_month(1_000_000))
    assert [(c.volume_fen, c.below.provider, c.above.provider) for c in found] == [(6_000_000, "Alpha", "Beta")]
    # 59,000 元: Alpha 590 x 60 = 35,400; Beta 6,000 + 590 x 50 = 35,500; Gamma 10,000 + 590 x 55 = 42,450
    below = compare(cards, credit_month(5_900_000))
    assert [(x.card.provider, x.month_total_fen) for x in below] == [
        ("Alpha", 35_400), ("Beta", 35_500), ("Gamma", 42_450)]
    # 61,000 元: Beta 6,000 + 30,500 = 36,500; Alpha 36,600; Gamma 10,000 + 33,550 = 43,550
    above = compare(cards, credit_month(6_100_000))
    assert [(x.card.provider, x.month_total_fen) for x in above] == [
        ("Beta", 36_500), ("Alpha", 36_600), ("Gamma", 43_550)]
    # at 60,000 元 both cost 36,000 fen: the tie goes to the provider's name
    assert [x.card.provider for x in compare(cards, credit_month(6_000_000))][:2] == ["Alpha", "Beta"]


def test_three_cards_cross_twice() -> None:
    high_fixed = credit_only("Delta", "40", 30_000)  # 0.4 %, 300 元 a month
    # Beta/Delta: 24,000 = 0.001 V -> V = 24,000,000 fen; Alpha/Delta (15,000,000) lies above Beta's line
    found = crossings((LOW_FIXED, LOW_RATE, high_fixed), credit_month(1_000_000))
    assert [(c.volume_fen, c.below.provider, c.above.provider) for c in found] == [
        (6_000_000, "Alpha", "Beta"), (24_000_000, "Beta", "Delta")]


def test_cost_curve_scales_the_mix() -> None:
    curve = cost_curve((LOW_FIXED, LOW_RATE), credit_month(1_000_000), [0, 5_900_000, 6_000_000, 6_100_000])
    assert [series.card.provider for series in curve] == ["Alpha", "Beta"]
    assert curve[0].month_fen == (0, 35_400, 36_000, 36_600)  # 0.6 % of each volume
    assert curve[1].month_fen == (6000, 35_500, 36_000, 36_500)  # 6,000 + 0.5 %


def test_payments_a_card_cannot_price_put_it_last() -> None:
    qr_only = card("Aardvark", Rate(Channel.QR, CardType.ANY, Decimal("38")))
    ranked = compare((LOW_RATE, qr_only), credit_month(1_000_000))
    assert [x.card.provider for x in ranked] == ["Beta", "Aardvark"]  # Aardvark's 0 fen prices nothing
    assert crossings((LOW_RATE, qr_only), credit_month(1_000_000)) == ()


# --- the example cards ----------------------------------------------------------------------------------------------


def test_example_cards_are_labelled_as_examples() -> None:
    assert len(EXAMPLE_CARDS) in (2, 3)
    for example in EXAMPLE_CARDS:
        assert example.is_example
        assert "example" in example.source and "low confidence" in example.source


def test_the_cheapest_example_card_changes_with_volume() -> None:
    def shop(volume_fen: int) -> Mix:  # 60 % credit, 20 % debit, 20 % QR at 200 元 a payment
        return Mix.monthly({CREDIT: volume_fen * 6 // 10, DEBIT: volume_fen * 2 // 10, QR: volume_fen * 2 // 10},
                           ticket_fen=20_000)

    small, large = compare(EXAMPLE_CARDS, shop(1_000_000))[0], compare(EXAMPLE_CARDS, shop(20_000_000))[0]
    assert small.card != large.card
    assert isinstance(small, CostBreakdown) and small.unpriced_count == 0 and large.unpriced_count == 0
