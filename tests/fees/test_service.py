"""Use cases of fees against a real database: the mix from traffic, the comparison, the checks, the audit."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from posops.core.audit import AuditEntity, history
from posops.core.db import Database
from posops.core.errors import Conflict, Forbidden, Invalid, NotFound
from posops.core.models import AuditEvent
from posops.fees import service as fees
from posops.fees.models import FeeFlag, FeeStatement, FeeStatementLine
from posops.fees.pricing import EXAMPLE_CARDS, Channel, Period, Product
from posops.fees.regulation import CardType, MerchantClass
from posops.fees.schemas import (
    ContractIn,
    FlagCloseIn,
    FlagKind,
    MixLine,
    MixSource,
    PeriodicFeeIn,
    RateCardIn,
    RateIn,
    VolumesIn,
)
from posops.iso8583.models import TerminalTrafficRecord
from tests.conftest import Fleet
from tests.fees.test_authorization import FOREIGN_MCC, REGISTERED_MCC, add_traffic, purchases


def _card(provider: str, credit_bp: str, *, monthly_fen: int = 0, debit_bp: str = "50",
          debit_cap_fen: int | None = 2000) -> RateCardIn:
    fee = [PeriodicFeeIn(name="服务费", fen=monthly_fen, period=Period.MONTH)] if monthly_fen else []
    return RateCardIn(provider=provider, product=Product.POS_SMART,
                      rates=[RateIn(channel=Channel.CARD, card_type=CardType.CREDIT, rate_bp=credit_bp),
                             RateIn(channel=Channel.CARD, card_type=CardType.DEBIT, rate_bp=debit_bp,
                                    cap_fen=debit_cap_fen)],
                      periodic_fees=fee, valid_from=date(2026, 1, 1), source="test price list",
                      source_date=date(2026, 1, 1))


def _volumes(credit_fen: int, ticket_fen: int = 20_000) -> VolumesIn:
    return VolumesIn(lines=[MixLine(channel=Channel.CARD, card_type=CardType.CREDIT, count=credit_fen // ticket_fen,
                                    amount_fen=credit_fen)])


def _contract(db: Database, fleet: Fleet, card_id: int, merchant_id: int | None = None) -> None:
    fees.set_contract(db, fleet.users["agent"], merchant_id or fleet.merchant_a,
                      ContractIn(rate_card_id=card_id, registered_mcc=REGISTERED_MCC))


# the mix ---------------------------------------------------------------------------------------------------


def test_the_mix_is_the_merchants_own_traffic_of_the_last_30_days(db: Database, fleet: Fleet) -> None:
    a0, a1 = fleet.terminals_a[0], fleet.terminals_a[1]
    add_traffic(db, a0, "90000000", purchases={
        "debit": purchases(3, 150_000, (10_000, 1, 5_000), (None, 2, 145_000)),
        "credit": purchases(2, 40_000, (None, 2, 40_000))})
    add_traffic(db, a1, "90000001", days_ago=3, purchases={
        "credit": purchases(1, 30_000, (None, 1, 30_000)), "unknown": purchases(4, 8_000)})
    add_traffic(db, a0, "90000000", days_ago=45, purchases={"credit": purchases(50, 5_000_000)})  # too old
    add_traffic(db, fleet.terminals_b[0], "90000003", purchases={"credit": purchases(9, 90_000)})  # merchant B's

    mix = fees.merchant_mix(db, fleet.users["merchant"], fleet.merchant_a)

    assert mix.source is MixSource.TRAFFIC
    lines = {(line.channel, line.card_type): (line.count, line.amount_fen) for line in mix.lines}
    assert lines == {(Channel.CARD, CardType.DEBIT): (3, 150_000), (Channel.CARD, CardType.CREDIT): (3, 70_000),
                     (Channel.CARD, CardType.ANY): (4, 8_000)}
    assert (mix.count, mix.volume_fen) == (10, 228_000)
    assert (mix.unknown_count, mix.unknown_amount_fen) == (4, 8_000)
    assert mix.period_days in (2, 3, 4)  # two logs of four hours on two days (a log may straddle midnight)
    assert mix.month_volume_fen == 228_000 * 30 // mix.period_days


def test_the_same_hours_imported_twice_count_once(db: Database, fleet: Fleet) -> None:
    for _ in range(2):
        add_traffic(db, fleet.terminals_a[0], "90000000", purchases={"credit": purchases(2, 40_000)})
    assert fees.merchant_mix(db, fleet.users["agent"], fleet.merchant_a).count == 2


def test_unknown_cards_are_priced_as_credit(db: Database, fleet: Fleet) -> None:
    card = fees.create_rate_card(db, fleet.users["agent"], _card("甲", "60", debit_bp="40"))
    _contract(db, fleet, card.id)
    add_traffic(db, fleet.terminals_a[0], "90000000", purchases={"unknown": purchases(1, 100_000)}, hours=1)
    cost = fees.merchant_cost(db, fleet.users["merchant"], fleet.merchant_a)
    period = fees.merchant_mix(db, fleet.users["merchant"], fleet.merchant_a).period_days
    (rate,) = [line for line in cost.lines if line.name == "rate"]
    assert "0.60%" in rate.label_zh  # the credit rate, not the debit one
    assert rate.fen == 600 * 30 // period


def test_without_traffic_the_mix_is_the_latest_statement_then_the_typed_month(db: Database, fleet: Fleet) -> None:
    merchant = fleet.users["merchant"]
    assert fees.merchant_mix(db, merchant, fleet.merchant_a).count == 0
    fees.set_volumes(db, merchant, fleet.merchant_a, _volumes(1_000_000))
    typed = fees.merchant_mix(db, merchant, fleet.merchant_a)
    assert (typed.source, typed.period_days, typed.volume_fen) == (MixSource.TYPED, 30, 1_000_000)
    fees.import_statement(db, merchant, fleet.merchant_a, b"date,channel,card_type,amount,charged\n"
                          b"2026-11-01,qr,any,12.50,0.05\n2026-11-10,card,credit,100.00,0.60\n")
    statement = fees.merchant_mix(db, merchant, fleet.merchant_a)
    assert (statement.source, statement.period_days, statement.volume_fen) == (MixSource.STATEMENT, 10, 11_250)
    with pytest.raises(NotFound):
        fees.merchant_mix(db, merchant, fleet.merchant_a, source=MixSource.TRAFFIC)


def test_a_merchant_sees_only_its_own_and_a_technician_none(db: Database, fleet: Fleet) -> None:
    with pytest.raises(NotFound):
        fees.merchant_mix(db, fleet.users["merchant"], fleet.merchant_b)
    with pytest.raises(Forbidden):
        fees.merchant_mix(db, fleet.users["technician"], fleet.merchant_a)
    with pytest.raises(Forbidden):
        fees.create_rate_card(db, fleet.users["merchant"], _card("甲", "60"))
    assert fees.list_rate_cards(db, fleet.users["technician"]) == []


# cost and comparison ---------------------------------------------------------------------------------------


def test_the_comparison_ranks_cards_cheapest_first_and_says_where_the_cheapest_changes(db: Database,
                                                                                       fleet: Fleet) -> None:
    desk = fleet.users["agent"]
    flat = fees.create_rate_card(db, desk, _card("按比例支付", "60"))
    fixed = fees.create_rate_card(db, desk, _card("月费支付", "50", monthly_fen=5000))
    _contract(db, fleet, fixed.id)
    # 0.60 % against 0.50 % and 50 元 a month: equal where 0.10 % of the volume is 50 元, at 50,000 元 a month
    fees.set_volumes(db, desk, fleet.merchant_a, _volumes(3_000_000))
    small = fees.compare_cards(db, fleet.users["merchant"], fleet.merchant_a)
    assert [(c.card.id, c.month_fen) for c in small.costs] == [(flat.id, 18_000), (fixed.id, 20_000)]
    assert [(x.volume_fen, x.from_card_id, x.to_card_id) for x in small.crossings] == [(5_000_000, flat.id, fixed.id)]
    assert small.current_card_id == fixed.id

    fees.set_volumes(db, desk, fleet.merchant_a, _volumes(10_000_000))
    large = fees.compare_cards(db, fleet.users["merchant"], fleet.merchant_a)
    assert [(c.card.id, c.month_fen) for c in large.costs] == [(fixed.id, 55_000), (flat.id, 60_000)]
    assert large.crossings == small.crossings
    series = {s.card_id: dict(zip(large.curve.volumes_fen, s.month_fen, strict=True)) for s in large.curve.series}
    assert series[fixed.id][0] == 5000 and series[flat.id][0] == 0
    assert max(large.curve.volumes_fen) >= 2 * 10_000_000


def test_the_cost_shows_each_component_the_deposit_and_the_regulated_part(db: Database, fleet: Fleet) -> None:
    stored, _ = fees.load_example_cards(db, fleet.users["admin"])
    card_a = next(c for c in stored if c.provider == "示例支付 A")
    _contract(db, fleet, card_a.id)
    fees.set_volumes(db, fleet.users["merchant"], fleet.merchant_a, VolumesIn(lines=[
        MixLine(channel=Channel.CARD, card_type=CardType.DEBIT, count=10, amount_fen=10_000_000)]))
    cost = fees.merchant_cost(db, fleet.users["merchant"], fleet.merchant_a)
    rate = [line for line in cost.lines if line.name == "rate"]
    periodic = [line for line in cost.lines if line.name == "periodic"]
    assert [(line.fen, line.detail_en) for line in rate] == [(20_000, "about 10 payments, 100,000.00 元 a month, "
                                                                      "cap hit 10 times")]
    assert [(line.label_zh, line.fen) for line in periodic] == [("流量费", 300)]
    assert (cost.month_fen, cost.year_fen) == (20_300, 243_600)
    assert cost.effective_rate == "0.002030"
    assert cost.deposit is not None and cost.deposit.refunded  # 30,000 元 within 90 days: 300,000 元 at this pace
    # 10,000 元 debit payments: the issuer fee caps at 13 元 and the acquirer's half of the network fee at 3.25 元
    assert {line.component.split("-")[0]: line.fen for line in cost.regulated.lines} == {"issuer": 13_000,
                                                                                         "network": 3_250}


def test_a_card_that_cannot_take_some_payments_comes_last_and_says_so(db: Database, fleet: Fleet) -> None:
    fees.load_example_cards(db, fleet.users["admin"])
    fees.set_volumes(db, fleet.users["merchant"], fleet.merchant_a, _volumes(1_000_000))
    comparison = fees.compare_cards(db, fleet.users["merchant"], fleet.merchant_a)
    assert comparison.costs[-1].card.product is Product.QR and comparison.costs[-1].unpriced_count == 50
    assert any(line.name == "unpriced" for line in comparison.costs[-1].lines)
    assert comparison.costs[-1].card.id not in {s.card_id for s in comparison.curve.series}
    # four days of a statement are priced fifteen times over as two months: the payments it cannot take are still two
    fees.import_statement(db, fleet.users["merchant"], fleet.merchant_a, b"date,channel,card_type,amount,charged\n"
                          b"2026-11-01,card,credit,100.00,0.60\n2026-11-04,card,debit,100.00,0.50\n")
    assert fees.compare_cards(db, fleet.users["merchant"], fleet.merchant_a).costs[-1].unpriced_count == 2


# checks ----------------------------------------------------------------------------------------------------


OVERCHARGED = ("date,channel,card_type,amount_fen,charged_fen\n"
               "2026-11-02,card,debit,100000,500\n"      # 0.5 % of 1,000 元: 5 元, as agreed
               "2026-11-03,card,debit,1000000,3000\n"    # capped at 20 元 but charged 30 元
               "2026-11-04,card,debit,1000000,2001\n")   # one fen over: rounding, not an overcharge
OVERCHARGED_BYTES = OVERCHARGED.encode()


def test_an_overcharged_statement_line_is_flagged_once(db: Database, fleet: Fleet) -> None:
    card = fees.create_rate_card(db, fleet.users["agent"], _card("甲", "60"))
    fees.import_statement(db, fleet.users["merchant"], fleet.merchant_a, OVERCHARGED_BYTES)  # before the contract
    _contract(db, fleet, card.id)

    first = fees.check_merchant(db, fleet.users["agent"], fleet.merchant_a)
    again = fees.check_merchant(db, fleet.users["risk"], fleet.merchant_a)

    assert [(f.kind, f.amount_fen) for f in first] == [(FlagKind.OVERCHARGE, 1000)]
    assert "第 3 行" in first[0].detail_zh and "10.00 元" in first[0].detail_zh
    assert again == []
    assert [f.id for f in fees.list_flags(db, fleet.users["merchant"])] == [first[0].id]
    assert fees.list_flags(db, fleet.users["merchant_b"]) == []


def test_a_statement_is_checked_as_it_is_imported_under_a_contract(db: Database, fleet: Fleet) -> None:
    card = fees.create_rate_card(db, fleet.users["agent"], _card("甲", "60"))
    _contract(db, fleet, card.id)
    statement = fees.import_statement(db, fleet.users["merchant"], fleet.merchant_a, OVERCHARGED_BYTES)
    assert (statement.line_count, statement.overcharged_lines, statement.overcharge_fen) == (3, 1, 1000)
    assert fees.check_merchant(db, fleet.users["agent"], fleet.merchant_a) == []


def test_a_foreign_mcc_is_flagged_to_risk_and_not_shown_to_the_merchant(db: Database, fleet: Fleet) -> None:
    card = fees.create_rate_card(db, fleet.users["agent"], _card("甲", "60"))
    _contract(db, fleet, card.id)
    add_traffic(db, fleet.terminals_a[1], "90000001", purchases={"credit": purchases(12, 120_000)},
                mccs={REGISTERED_MCC: 9, FOREIGN_MCC: 3})
    add_traffic(db, fleet.terminals_a[0], "90000000", purchases={"credit": purchases(5, 50_000)},
                mccs={REGISTERED_MCC: 5})

    found = fees.check_merchant(db, fleet.users["risk"], fleet.merchant_a)

    assert [(f.kind, f.terminal_id) for f in found] == [(FlagKind.MCC_MISMATCH, fleet.terminals_a[1])]
    assert FOREIGN_MCC in found[0].detail_zh and "跳码" in found[0].detail_zh
    assert [f.id for f in fees.list_flags(db, fleet.users["risk"], kind=FlagKind.MCC_MISMATCH)] == [found[0].id]
    assert fees.list_flags(db, fleet.users["merchant"]) == []
    assert fees.list_flags(db, fleet.users["merchant"], kind=FlagKind.MCC_MISMATCH) == []
    assert fees.check_merchant(db, fleet.users["risk"], fleet.merchant_a) == []
    with pytest.raises(Forbidden):
        fees.check_merchant(db, fleet.users["merchant"], fleet.merchant_a)


def test_the_checks_need_a_contract_and_flags_close_once(db: Database, fleet: Fleet) -> None:
    with pytest.raises(Conflict):
        fees.check_merchant(db, fleet.users["risk"], fleet.merchant_a)
    card = fees.create_rate_card(db, fleet.users["agent"], _card("甲", "60"))
    _contract(db, fleet, card.id)
    fees.import_statement(db, fleet.users["agent"], fleet.merchant_a, OVERCHARGED_BYTES)
    (flag,) = fees.list_flags(db, fleet.users["agent"])
    with pytest.raises(Forbidden):  # an overcharge is the desk's to settle
        fees.close_flag(db, fleet.users["risk"], flag.id, FlagCloseIn(note="x"))
    closed = fees.close_flag(db, fleet.users["agent"], flag.id, FlagCloseIn(note="已退还 10 元"))
    assert (closed.status, closed.closed_by) == ("closed", "agent")
    with pytest.raises(Conflict):
        fees.close_flag(db, fleet.users["agent"], flag.id, FlagCloseIn(note="again"))
    assert fees.list_flags(db, fleet.users["agent"]) == []
    assert [e.action for e in _history(db, AuditEntity.FEE_FLAG, flag.id)] == ["create", "close"]


def test_a_bad_statement_row_is_refused_with_its_line_and_nothing_is_stored(db: Database, fleet: Fleet) -> None:
    content = (b"date,channel,card_type,amount_fen,charged_fen\n"
               b"2026-11-02,card,debit,100000,500\n"
               b"2026-11-03,bank,debit,100000,500\n"        # no such channel
               b"2026-11-04,card,credit,,500\n"             # no amount
               b"2026-13-01,qr,any,100000,380\n")  # no such day
    with pytest.raises(Invalid) as refused:
        fees.import_statement(db, fleet.users["merchant"], fleet.merchant_a, content)
    assert [(p.line, p.field) for p in refused.value.problems] == [(3, "channel"), (4, "amount_fen"), (5, "date")]
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(FeeStatement)) == 0
        assert session.scalar(select(func.count()).select_from(FeeStatementLine)) == 0


def test_a_statement_with_unknown_columns_or_no_rows_is_refused(db: Database, fleet: Fleet) -> None:
    for content, field in ((b"date,channel,fee\n2026-11-01,card,1\n", "header"),
                           (b"date,channel,card_type,amount_fen,charged_fen\n", "file")):
        with pytest.raises(Invalid) as refused:
            fees.import_statement(db, fleet.users["agent"], fleet.merchant_a, content)
        assert [p.field for p in refused.value.problems] == [field]


# rate cards ------------------------------------------------------------------------------------------------


def _history(db: Database, entity: AuditEntity, entity_id: int) -> list[AuditEvent]:
    with db.transaction() as session:
        return history(session, entity, entity_id)


def test_rate_card_changes_are_audited_with_before_and_after(db: Database, fleet: Fleet) -> None:
    desk = fleet.users["agent"]
    card = fees.create_rate_card(db, desk, _card("甲", "60"))
    fees.update_rate_card(db, desk, card.id, _card("甲", "55"))
    fees.delete_rate_card(db, fleet.users["admin"], card.id)
    events = _history(db, AuditEntity.RATE_CARD, card.id)
    assert [(e.action, e.actor) for e in events] == [("create", "agent"), ("update", "agent"), ("delete", "admin")]
    assert events[1].before is not None and events[1].after is not None
    assert events[1].before["parts"]["rates"][0]["rate_bp"] == "60"
    assert events[1].after["parts"]["rates"][0]["rate_bp"] == "55"
    with pytest.raises(NotFound):
        fees.get_rate_card(db, desk, card.id)


def test_a_card_a_merchant_is_on_cannot_be_removed_and_a_duplicate_is_refused(db: Database, fleet: Fleet) -> None:
    card = fees.create_rate_card(db, fleet.users["agent"], _card("甲", "60"))
    _contract(db, fleet, card.id)
    with pytest.raises(Conflict):
        fees.delete_rate_card(db, fleet.users["agent"], card.id)
    with pytest.raises(Conflict):
        fees.create_rate_card(db, fleet.users["agent"], _card("甲", "50"))
    assert [e.action for e in _history(db, AuditEntity.MERCHANT, fleet.merchant_a)] == ["fee_contract"]


def test_the_example_cards_load_once_labelled_as_examples(db: Database, fleet: Fleet) -> None:
    first, skipped = fees.load_example_cards(db, fleet.users["admin"])
    again, skipped_again = fees.load_example_cards(db, fleet.users["admin"])
    assert (len(first), skipped, len(again), skipped_again) == (len(EXAMPLE_CARDS), 0, 0, len(EXAMPLE_CARDS))
    assert all(card.is_example and "example" in card.source for card in first)
    listed = fees.list_rate_cards(db, fleet.users["merchant"])
    assert {card.provider for card in listed} == {card.provider for card in EXAMPLE_CARDS}
    assert [Decimal(r.rate_bp) for r in listed[0].rates] == [r.rate_bp for r in EXAMPLE_CARDS[0].rates]


def test_expired_cards_are_listed_only_when_asked(db: Database, fleet: Fleet) -> None:
    old = _card("旧支付", "60").model_copy(update={"valid_from": date(2020, 1, 1), "valid_to": date(2021, 1, 1)})
    fees.create_rate_card(db, fleet.users["agent"], old)
    assert fees.list_rate_cards(db, fleet.users["agent"]) == []
    (listed,) = fees.list_rate_cards(db, fleet.users["agent"], include_expired=True)
    assert not listed.in_force and listed.merchant_class is MerchantClass.STANDARD


def test_a_flag_row_is_unique_per_kind_merchant_and_subject(db: Database, fleet: Fleet) -> None:
    card = fees.create_rate_card(db, fleet.users["agent"], _card("甲", "60"))
    _contract(db, fleet, card.id)
    fees.import_statement(db, fleet.users["agent"], fleet.merchant_a, OVERCHARGED_BYTES)
    with db.transaction() as session:
        subjects = list(session.scalars(select(FeeFlag.subject)))
    assert len(subjects) == len(set(subjects)) == 1


def test_codes_past_the_analysis_limit_are_flagged_as_foreign_too(db: Database, fleet: Fleet) -> None:
    card = fees.create_rate_card(db, fleet.users["agent"], _card("甲", "60"))
    _contract(db, fleet, card.id)
    record = add_traffic(db, fleet.terminals_a[0], "90000000", purchases={"credit": purchases(9, 90_000)},
                         mccs={REGISTERED_MCC: 7})
    with db.transaction() as session:
        row = session.get(TerminalTrafficRecord, record)
        assert row is not None
        row.summary = {**row.summary, "mccs_other": 2}
    (flag,) = fees.check_merchant(db, fleet.users["risk"], fleet.merchant_a)
    assert flag.kind is FlagKind.MCC_MISMATCH and "2 more transaction(s)" in flag.detail_en
