"""The regulated fee table: caps, uncapped credit, the acquirer's half of the network fee, the 2021 cut's dates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from posops.fees.regulation import (
    CardType,
    ComponentKind,
    Confidence,
    MerchantClass,
    Side,
    components_on,
    load_table,
    regulated_fee,
    regulations,
)

HUNDRED_THOUSAND_YUAN = 10_000_000  # 100,000 元 in fen
THOUSAND_YUAN = 100_000  # 1,000 元 in fen


def fees(amount_fen: int, card_type: CardType, day: date, merchant_class: MerchantClass = MerchantClass.STANDARD,
         side: Side = Side.ACQUIRER) -> dict[ComponentKind, tuple[int, bool]]:
    return {fee.component.component: (fee.fee_fen, fee.capped)
            for fee in regulated_fee(amount_fen, card_type, day, merchant_class, side)}


# --- the shipped table ---------------------------------------------------------------------------------------------


def test_shipped_table_is_read_once_and_every_uncertain_entry_says_why() -> None:
    table = regulations()
    assert table is regulations()
    assert len({entry.id for entry in table}) == len(table)
    assert all(entry.note for entry in table if entry.confidence != Confidence.HIGH)
    assert all(isinstance(entry.rate_bp, Decimal) for entry in table if entry.component != ComponentKind.ACQUIRING_FEE)


def test_acquiring_fee_is_in_force_but_market_priced() -> None:
    in_force = components_on(date(2023, 5, 1), MerchantClass.STANDARD, CardType.CREDIT)
    acquiring = [entry for entry in in_force if entry.component == ComponentKind.ACQUIRING_FEE]
    assert len(acquiring) == 1 and acquiring[0].rate_bp is None and acquiring[0].cap_fen is None
    assert ComponentKind.ACQUIRING_FEE not in fees(THOUSAND_YUAN, CardType.CREDIT, date(2023, 5, 1))


def test_nothing_is_in_force_before_the_2016_notice() -> None:
    assert components_on(date(2016, 9, 5), MerchantClass.STANDARD, CardType.DEBIT) == ()
    assert regulated_fee(THOUSAND_YUAN, CardType.DEBIT, date(2016, 9, 5)) == ()
    assert components_on(date(2016, 9, 6), MerchantClass.STANDARD, CardType.DEBIT) != ()


# --- the 2016 arithmetic -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("day", [date(2016, 9, 6), date(2019, 1, 1), date(2022, 6, 1), date(2026, 3, 1)])
def test_debit_issuer_fee_of_a_100000_yuan_purchase_is_capped_at_13_yuan(day: date) -> None:
    # 0.35 % of 10,000,000 fen is 35,000 fen (350 元; 31,500 fen at the 2021 cut), far above the 1,300 fen cap
    assert fees(HUNDRED_THOUSAND_YUAN, CardType.DEBIT, day)[ComponentKind.ISSUER_FEE] == (1300, True)


@pytest.mark.parametrize("day", [date(2016, 9, 6), date(2022, 6, 1), date(2026, 3, 1)])
def test_credit_issuer_fee_is_uncapped(day: date) -> None:
    # 0.45 % of 10,000,000 fen = 45,000 fen = 450 元, no cap; the 2021 cut did not touch standard credit
    assert fees(HUNDRED_THOUSAND_YUAN, CardType.CREDIT, day)[ComponentKind.ISSUER_FEE] == (45_000, False)


@pytest.mark.parametrize("card_type", [CardType.DEBIT, CardType.CREDIT])
def test_network_fee_acquirer_half_is_capped_at_3_25_yuan(card_type: CardType) -> None:
    # 0.0325 % of 10,000,000 fen = 3,250 fen, capped at 325 fen (half of the 6.5 元 total cap)
    assert fees(HUNDRED_THOUSAND_YUAN, card_type, date(2026, 3, 1))[ComponentKind.NETWORK_FEE] == (325, True)


def test_issuer_side_pays_only_its_half_of_the_network_fee() -> None:
    # the issuer receives the issuer fee, so its side owes only the network fee's other half (325 fen capped)
    issuer_side = fees(HUNDRED_THOUSAND_YUAN, CardType.DEBIT, date(2026, 3, 1), side=Side.ISSUER)
    assert issuer_side == {ComponentKind.NETWORK_FEE: (325, True)}


def test_fees_round_half_up_to_the_fen() -> None:
    # network fee: 100,000 fen x 0.0325 % = 32.5 fen -> 33 (half up; half-even would give 32)
    assert fees(THOUSAND_YUAN, CardType.CREDIT, date(2019, 1, 1))[ComponentKind.NETWORK_FEE] == (33, False)


def test_card_type_any_is_refused() -> None:
    with pytest.raises(ValueError, match="debit or credit"):
        regulated_fee(THOUSAND_YUAN, CardType.ANY, date(2026, 3, 1))


# --- 银发〔2021〕169号: only inside its dates, only for the classes it names ----------------------------------------


@pytest.mark.parametrize(("day", "issuer_fen", "network_fen"), [
    (date(2021, 9, 29), 350, 33),  # the day before: 0.35 % of 100,000 fen; network 32.5 -> 33
    (date(2021, 9, 30), 315, 29),  # the first day: 9折 -> 0.315 % = 315; network 0.02925 % = 29.25 -> 29
    (date(2024, 9, 29), 315, 29),  # the last day of the three years
    (date(2024, 9, 30), 350, 33),  # the day after: the 2016 ceilings again
])
def test_2021_cut_of_standard_debit_applies_only_inside_its_dates(day: date, issuer_fen: int, network_fen: int) -> None:
    got = fees(THOUSAND_YUAN, CardType.DEBIT, day)
    assert got == {ComponentKind.ISSUER_FEE: (issuer_fen, False), ComponentKind.NETWORK_FEE: (network_fen, False)}


@pytest.mark.parametrize(("merchant_class", "card_type", "issuer_fen", "network_fen"), [
    (MerchantClass.STANDARD, CardType.DEBIT, 315, 29),  # 9折: 0.315 %, 0.02925 % (29.25 -> 29)
    (MerchantClass.STANDARD, CardType.CREDIT, 450, 33),  # not named for credit: 0.45 %, 0.0325 % (32.5 -> 33)
    (MerchantClass.PREFERENTIAL, CardType.DEBIT, 273, 25),  # 7.8折: 0.273 %, 0.02535 % (25.35 -> 25)
    (MerchantClass.PREFERENTIAL, CardType.CREDIT, 351, 25),  # 7.8折 of 0.45 % = 0.351 %
    (MerchantClass.EXEMPT, CardType.DEBIT, 0, 0),  # 减免类: both fees waived since 2016
    (MerchantClass.EXEMPT, CardType.CREDIT, 0, 0),
])
def test_2021_cut_applies_only_to_the_classes_it_names(
    merchant_class: MerchantClass, card_type: CardType, issuer_fen: int, network_fen: int,
) -> None:
    got = fees(THOUSAND_YUAN, card_type, date(2022, 6, 1), merchant_class)
    assert got == {ComponentKind.ISSUER_FEE: (issuer_fen, False), ComponentKind.NETWORK_FEE: (network_fen, False)}


def test_exempt_class_pays_nothing_even_before_2021() -> None:
    assert fees(HUNDRED_THOUSAND_YUAN, CardType.CREDIT, date(2018, 1, 1), MerchantClass.EXEMPT) == {
        ComponentKind.ISSUER_FEE: (0, False), ComponentKind.NETWORK_FEE: (0, False)}


def test_fees_are_int_and_rates_decimal() -> None:
    for fee in regulated_fee(THOUSAND_YUAN, CardType.DEBIT, date(2022, 6, 1)):
        assert type(fee.fee_fen) is int
        assert type(fee.component.rate_bp) is Decimal


# --- the loader refuses what would make two answers possible ------------------------------------------------------

ENTRY = """
  - id: {id}
    component: issuer_fee
    card_type: {card_type}
    side: acquirer
    rate_bp: {rate}
    cap_fen: 1300
    valid_from: {start}
    valid_to: {end}
    merchant_classes: [{classes}]
    source: 发改价格〔2016〕557号
    source_date: 2016-03-14
"""


def table(tmp_path: Path, *entries: dict[str, str], extra: str = "") -> Path:
    text = "components:\n" + "".join(ENTRY.format(**{"card_type": "debit", "rate": '"35"', "end": "null",
                                                     "classes": "standard", **entry}) + extra for entry in entries)
    path = tmp_path / "fees.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_adjacent_versions_and_other_classes_are_accepted(tmp_path: Path) -> None:
    entries = load_table(table(
        tmp_path,
        {"id": "a", "start": "2016-09-06", "end": "2021-09-29"},
        {"id": "b", "start": "2021-09-30", "rate": '"31.5"'},
        {"id": "c", "start": "2016-09-06", "classes": "preferential"},
        {"id": "d", "start": "2016-09-06", "card_type": "credit"},
    ))
    assert [entry.rate_bp for entry in entries] == [Decimal("35"), Decimal("31.5"), Decimal("35"), Decimal("35")]
    day_of_b = components_on(date(2021, 9, 30), MerchantClass.STANDARD, CardType.DEBIT, entries)
    assert [entry.id for entry in day_of_b] == ["b"]


@pytest.mark.parametrize("second", [
    {"id": "b", "start": "2021-09-29"},  # shares 2021-09-29 with the first
    {"id": "b", "start": "2018-01-01", "end": "2018-12-31"},  # inside it
    {"id": "b", "start": "2021-01-01", "card_type": "any"},  # `any` covers debit
    {"id": "b", "start": "2021-01-01", "classes": "exempt, standard"},  # shares the standard class
])
def test_overlapping_versions_are_refused(tmp_path: Path, second: dict[str, str]) -> None:
    path = table(tmp_path, {"id": "a", "start": "2016-09-06", "end": "2021-09-29"}, second)
    with pytest.raises(ValueError, match="overlaps 'a'"):
        load_table(path)


@pytest.mark.parametrize(("entry", "extra", "message"), [
    ({"id": "a", "start": "2016-09-06", "rate": "0.35"}, "", "quoted decimal string"),  # a YAML float
    ({"id": "a", "start": "2016-09-06", "rate": '"a lot"'}, "", "not a decimal number"),
    ({"id": "a", "start": "2016-09-06", "end": "2016-01-01"}, "", "before valid_from"),
    ({"id": "a", "start": "2016-09-06", "classes": "vip"}, "", "not one of"),
    ({"id": "a", "start": "2016-09-06"}, "    confidence: low\n", "needs a `note`"),
    ({"id": "a", "start": "2016-09-06"}, "    rate: 1\n", "unknown fields"),
])
def test_malformed_entries_are_refused(tmp_path: Path, entry: dict[str, str], extra: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_table(table(tmp_path, entry, extra=extra))


def test_a_repeated_id_is_refused(tmp_path: Path) -> None:
    path = table(tmp_path, {"id": "a", "start": "2016-09-06"}, {"id": "a", "start": "2016-09-06", "classes": "exempt"})
    with pytest.raises(ValueError, match="used twice"):
        load_table(path)
