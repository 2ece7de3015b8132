"""The demo's fees: the example rate cards, each merchant's contract, a statement with one overcharge, the checks.

As people would, through the fees service: the agent loads the example cards (labelled as
examples, not any provider's real offer). The demo merchant uploads last month's statement,
charged at example card B's rates except one debit payment, charged its rate with no cap (54 元
where the card caps at 20 元). Another merchant types in its typical month. The agent then puts
every merchant on a card with the merchant category code (MCC) it registered: the demo merchant
on a card that takes all its payments but is not the cheapest for its own mix (its comparison
shows the cheaper one), the others on example card A. Last, the risk team runs the checks on
every merchant: the overcharged line becomes a flag the demo merchant sees, and an MCC in a
terminal's traffic unlike the merchant's registered one (跳码 risk: ``demo_traffic`` gives the
wrong-PIN terminal's purchases 8398) a flag for the risk role.
"""
from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from posops.core.db import Database
from posops.demo_cast import People
from posops.fees import service as fees
from posops.fees.pricing import EXAMPLE_CARDS, Channel
from posops.fees.regulation import CardType, to_fen
from posops.fees.schemas import ContractIn, MixLine, VolumesIn
from posops.terminals.arrears import format_yuan
from posops.terminals.models import Merchant

REGISTERED_MCC = ("5411", "5812", "5311", "5732", "5499", "5812")
"""The MCC each demo merchant registered, in the order of ``demo.MERCHANTS``: a convenience store, a restaurant,
a department store, an electronics shop, a tea shop, a hot-pot restaurant."""
OVERCHARGED_FEN = 1_200_000
"""The demo statement's overcharged payment: 12,000 元 on a debit card, charged 0.45 % with no cap (54 元)."""
RATES_BP = {"debit": 45, "credit": 55, "qr": 38}
"""Example card B's rates, at which the statement charges every other payment (a debit payment capped at 20 元)."""


def _money(fen: int) -> str:
    return format_yuan(fen).replace(",", "")


def _fee(amount_fen: int, rate_bp: int) -> int:
    return to_fen(Decimal(amount_fen * rate_bp) / 10_000)


def _statement(rng: random.Random, today: date) -> bytes:
    """Last month's statement of the demo merchant, every fee at card B's rates but one debit payment's."""
    rows = ["date,channel,card_type,amount,charged"]
    for day in range(30, 0, -1):
        when = today - timedelta(days=day)
        for _ in range(rng.randint(1, 3)):
            card_type = rng.choice(("debit", "credit", "credit"))
            amount = rng.choice((1_200, 2_850, 3_600, 5_800, 9_900, 16_800, 32_000))
            fee = _fee(amount, RATES_BP[card_type])
            rows.append(f"{when.isoformat()},card,{card_type},{_money(amount)},"
                        f"{_money(min(fee, 2_000) if card_type == 'debit' else fee)}")
        if day % 3 == 0:
            amount = rng.choice((1_500, 2_600, 3_800))
            rows.append(f"{when.isoformat()},qr,any,{_money(amount)},{_money(_fee(amount, RATES_BP['qr']))}")
    overcharged = today - timedelta(days=12)
    rows.append(f"{overcharged.isoformat()},card,debit,{_money(OVERCHARGED_FEN)},"
                f"{_money(_fee(OVERCHARGED_FEN, RATES_BP['debit']))}")
    return ("\n".join(rows) + "\n").encode()


def _not_the_cheapest(db: Database, people: People, merchant_id: int) -> int | None:
    """A card that prices all of the merchant's payments but is not its cheapest (None when no two do)."""
    comparison = fees.compare_cards(db, people.agent, merchant_id)
    whole = [cost.card.id for cost in comparison.costs if not cost.unpriced_count]
    return whole[-1] if len(whole) > 1 else None


def load_fees(db: Database, merchants: list[Merchant], people: People, seed: int, today: date) -> int:
    """Load the example cards, the contracts, the demo merchant's statement and the risk team's checks; return
    how many flags the checks raised (none when the demo's fees were loaded before)."""
    rng = random.Random(f"{seed}:fees")
    stored, _ = fees.load_example_cards(db, people.agent)
    if len(stored) != len(EXAMPLE_CARDS) or not merchants:
        return 0
    first = next(card.id for card in stored if card.provider == EXAMPLE_CARDS[0].provider)
    shop = merchants[0]
    fees.import_statement(db, people.merchant, shop.id, _statement(rng, today),
                          source_name=f"对账单-{today:%Y%m}.csv")
    if len(merchants) > 1:
        # a restaurant that typed in its typical month instead
        fees.set_volumes(db, people.agent, merchants[1].id, VolumesIn(lines=[
            MixLine(channel=Channel.CARD, card_type=CardType.CREDIT, count=900, amount_fen=13_500_000),
            MixLine(channel=Channel.CARD, card_type=CardType.DEBIT, count=600, amount_fen=6_000_000),
            MixLine(channel=Channel.QR, card_type=CardType.ANY, count=1500, amount_fen=6_000_000)]))
    for index, merchant in enumerate(merchants):
        card = (_not_the_cheapest(db, people, merchant.id) or first) if merchant is shop else first
        fees.set_contract(db, people.agent, merchant.id, ContractIn(
            rate_card_id=card, registered_mcc=REGISTERED_MCC[index % len(REGISTERED_MCC)]))
    return sum(len(fees.check_merchant(db, people.risk, merchant.id)) for merchant in merchants)
