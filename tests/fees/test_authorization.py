"""Every fees API route against every role: the desk changes, risk reads and checks, a merchant sees its own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from posops.core.db import Database, utcnow
from posops.fees import service as fees
from posops.fees.pricing import EXAMPLE_CARDS
from posops.fees.schemas import ContractIn, FlagKind
from posops.iso8583.models import TerminalTrafficRecord, TrafficAnalysis
from tests import authorization as matrix
from tests.conftest import Fleet

ROLES = ["merchant", "agent", "risk", "technician", "admin"]
REGISTERED_MCC = "5411"
FOREIGN_MCC = "5812"


def add_traffic(db: Database, terminal_id: int, tid: str, *, purchases: dict[str, Any],
                mccs: dict[str, int] | None = None, days_ago: float = 1, hours: float = 4) -> int:
    """Store one analysed log of a terminal whose summary carries ``purchases`` and ``mccs`` (no card data)."""
    last = utcnow() - timedelta(days=days_ago)
    first = last - timedelta(hours=hours)
    with db.transaction() as session:
        analysis = TrafficAnalysis(source_name="host.log", analysed_by="agent", frames=10, malformed=0,
                                   matched_terminals=1, traffic_started=first, traffic_ended=last)
        session.add(analysis)
        session.flush()
        record = TerminalTrafficRecord(analysis_id=analysis.id, terminal_id=terminal_id, tid=tid, first_seen=first,
                                       last_seen=last, summary={"purchases": purchases, "mccs": mccs or {}})
        session.add(record)
        session.flush()
        return record.id


def purchases(count: int, amount_fen: int, *buckets: tuple[int | None, int, int]) -> dict[str, Any]:
    """One card class's approved purchases, with ``(upto_fen, count, amount_fen)`` buckets."""
    return {"count": count, "amount_fen": amount_fen,
            "buckets": [{"upto_fen": upto, "count": n, "amount_fen": a} for upto, n, a in buckets]}


STATEMENT = (b"date,channel,card_type,amount_fen,charged_fen\n"
             b"2026-11-02,card,debit,100000,500\n"
             b"2026-11-03,card,debit,1000000,3000\n")
"""Two debit payments on example card A (0.5 %, capped at 20 元): the second charged 30 元, 10 元 too much."""


@dataclass
class Feed:
    """The example cards, a spare card, merchant A's contract, statement and traffic, and one flag of each kind."""

    cards: list[int]
    spare: int
    statement: int
    overcharge: int
    mcc: int


@pytest.fixture
def feed(db: Database, fleet: Fleet) -> Fleet:
    """The fleet with fee records in the states the routes act on (ids on ``fleet.fee_feed``)."""
    desk = fleet.users["agent"]
    fees.load_example_cards(db, desk)  # another fixture of the same fleet may have loaded them already
    examples = {card.provider: card.id for card in fees.list_rate_cards(db, desk) if card.is_example}
    cards = [examples[card.provider] for card in EXAMPLE_CARDS]
    spare = fees.create_rate_card(db, desk, fees.card_in(EXAMPLE_CARDS[0]).model_copy(
        update={"provider": "备用支付", "is_example": False})).id
    fees.set_contract(db, desk, fleet.merchant_a, ContractIn(rate_card_id=cards[0], registered_mcc=REGISTERED_MCC))
    add_traffic(db, fleet.terminals_a[0], "90000000",
                purchases={"debit": purchases(20, 400_000, (None, 20, 400_000)),
                           "credit": purchases(10, 600_000, (None, 10, 600_000))},
                mccs={REGISTERED_MCC: 28, FOREIGN_MCC: 2})
    statement = fees.import_statement(db, desk, fleet.merchant_a, STATEMENT)
    fees.check_merchant(db, fleet.users["risk"], fleet.merchant_a)
    flags = {flag.kind: flag.id for flag in fees.list_flags(db, desk)}
    fleet.fee_feed = Feed(cards, spare, statement.id, flags[FlagKind.OVERCHARGE],  # type: ignore[attr-defined]
                      flags[FlagKind.MCC_MISMATCH])
    return fleet


def _f(fleet: Fleet) -> Feed:
    found: Feed = fleet.fee_feed  # type: ignore[attr-defined]
    return found


def _expect(merchant: int, agent: int, risk: int, technician: int, admin: int) -> dict[str, int]:
    return dict(zip(ROLES, (merchant, agent, risk, technician, admin), strict=True))


def _card_body(provider: str) -> dict[str, Any]:
    body = fees.card_in(EXAMPLE_CARDS[1]).model_dump(mode="json")
    return {"json": {**body, "provider": provider, "is_example": False}}


EVERYONE = _expect(200, 200, 200, 200, 200)
DESK = _expect(403, 200, 403, 403, 200)
OWN = _expect(200, 200, 200, 403, 200)
"""A merchant's own fee records: the merchant, the desk and risk read them; technicians do not."""
OTHERS = _expect(404, 200, 200, 403, 200)
"""Another merchant's: as if it did not exist to merchant A."""
OWN_WRITE = _expect(200, 200, 403, 403, 200)
CHECKERS = _expect(403, 200, 200, 403, 200)
VOLUMES = {"json": {"lines": [{"channel": "card", "card_type": "credit", "count": 100, "amount_fen": 2_000_000}]}}


def _merchant(fleet: Fleet, what: str, *, other: bool = False) -> str:
    return f"/api/v1/fees/merchants/{fleet.merchant_b if other else fleet.merchant_a}/{what}"


ROUTES: list[matrix.Route] = [
    ("rate cards", "GET", lambda f: "/api/v1/fees/rate-cards?include_expired=true", lambda f: {}, EVERYONE),
    ("create card", "POST", lambda f: "/api/v1/fees/rate-cards", lambda f: _card_body("新支付"),
     _expect(403, 201, 403, 403, 201)),
    ("rate card", "GET", lambda f: f"/api/v1/fees/rate-cards/{_f(f).cards[0]}", lambda f: {}, EVERYONE),
    ("update card", "PUT", lambda f: f"/api/v1/fees/rate-cards/{_f(f).spare}", lambda f: _card_body("备用支付"), DESK),
    ("contract", "GET", lambda f: _merchant(f, "contract"), lambda f: {}, OWN),
    ("set contract", "PUT", lambda f: _merchant(f, "contract"),
     lambda f: {"json": {"rate_card_id": _f(f).cards[1], "registered_mcc": REGISTERED_MCC}}, DESK),
    ("mix", "GET", lambda f: _merchant(f, "mix"), lambda f: {}, OWN),
    ("another merchant's mix", "GET", lambda f: _merchant(f, "mix", other=True), lambda f: {}, OTHERS),
    ("volumes", "PUT", lambda f: _merchant(f, "volumes"), lambda f: VOLUMES, OWN_WRITE),
    ("another merchant's volumes", "PUT", lambda f: _merchant(f, "volumes", other=True), lambda f: VOLUMES,
     _expect(404, 200, 403, 403, 200)),
    ("statements", "GET", lambda f: _merchant(f, "statements"), lambda f: {}, OWN),
    ("import statement", "POST", lambda f: _merchant(f, "statements"),
     lambda f: {"content": STATEMENT, "headers": {"Content-Type": "text/csv"}}, _expect(201, 201, 403, 403, 201)),
    ("cost", "GET", lambda f: _merchant(f, "cost"), lambda f: {}, OWN),
    ("cost of another card", "GET", lambda f: _merchant(f, f"cost?card_id={_f(f).cards[1]}"), lambda f: {}, OWN),
    ("comparison", "GET", lambda f: _merchant(f, "comparison"), lambda f: {}, OWN),
    ("another merchant's comparison", "GET", lambda f: _merchant(f, "comparison", other=True), lambda f: {},
     OTHERS),
    ("checks", "POST", lambda f: _merchant(f, "checks"), lambda f: {}, CHECKERS),
    ("flags", "GET", lambda f: "/api/v1/fees/flags?status=all", lambda f: {}, OWN),
    ("close an MCC flag", "POST", lambda f: f"/api/v1/fees/flags/{_f(f).mcc}/close",
     lambda f: {"json": {"note": "已核实：外卖档口另行登记"}}, CHECKERS),
    # risk closes MCC flags only; the overcharge is the desk's
    ("close an overcharge", "POST", lambda f: f"/api/v1/fees/flags/{_f(f).overcharge}/close",
     lambda f: {"json": {"note": "已退还多收部分"}}, _expect(403, 200, 403, 403, 200)),
    ("delete card", "DELETE", lambda f: f"/api/v1/fees/rate-cards/{_f(f).spare}", lambda f: {}, DESK),
]


@pytest.mark.parametrize("role", ROLES)
def test_every_api_route_answers_each_role_as_designed(client: TestClient, feed: Fleet, role: str) -> None:
    matrix.check_routes_answer_role(client, feed, role, ROUTES)


def test_anonymous_callers_get_401_on_every_api_route(client: TestClient, feed: Fleet) -> None:
    matrix.check_routes_refuse_anonymous(client, feed, ROUTES)
