"""The demo's fees on the test fleet: the demo merchant on a card that is not its cheapest, one overcharge flagged."""

from __future__ import annotations

from sqlalchemy import select

from posops.core.db import Database, utcnow
from posops.demo_cast import People
from posops.demo_fees import OVERCHARGED_FEN, load_fees
from posops.fees import service as fees
from posops.fees.schemas import FlagKind
from posops.terminals.models import Merchant
from tests.conftest import Fleet
from tests.fees.test_authorization import add_traffic, purchases


def _people(fleet: Fleet) -> People:
    users = fleet.users
    return People(agent=users["agent"], checker=users["agent"], risk=users["risk"], merchant=users["merchant"])


def _merchants(db: Database, fleet: Fleet) -> list[Merchant]:
    with db.transaction() as session:
        return list(session.scalars(select(Merchant).where(Merchant.id.in_((fleet.merchant_a, fleet.merchant_b)))
                                    .order_by(Merchant.id)))


def test_the_demo_merchant_compares_its_card_and_sees_its_one_overcharge(db: Database, fleet: Fleet) -> None:
    flags = load_fees(db, _merchants(db, fleet), _people(fleet), 8583, utcnow().date())

    comparison = fees.compare_cards(db, fleet.users["merchant"], fleet.merchant_a)
    assert comparison.mix.source == "statement"
    assert comparison.current_card_id is not None and comparison.current_card_id != comparison.costs[0].card.id
    assert all(cost.card.is_example for cost in comparison.costs)
    (overcharge,) = fees.list_flags(db, fleet.users["merchant"])
    assert overcharge.kind is FlagKind.OVERCHARGE and overcharge.amount_fen == OVERCHARGED_FEN * 45 // 10_000 - 2000
    assert flags == 1
    assert fees.merchant_mix(db, fleet.users["agent"], fleet.merchant_b).source == "typed"
    assert load_fees(db, _merchants(db, fleet), _people(fleet), 8583, utcnow().date()) == 0  # loaded once


def test_a_demo_terminal_trading_under_another_mcc_is_flagged_to_risk(db: Database, fleet: Fleet) -> None:
    add_traffic(db, fleet.terminals_a[0], "90000000", purchases={"credit": purchases(5, 50_000)},
                mccs={"5411": 4, "5999": 1})
    assert load_fees(db, _merchants(db, fleet), _people(fleet), 8583, utcnow().date()) == 2  # and the overcharge
    (flag,) = fees.list_flags(db, fleet.users["risk"], kind=FlagKind.MCC_MISMATCH)
    assert flag.terminal_id == fleet.terminals_a[0] and "5999" in flag.detail_en
