"""The fees API as the desk and a merchant use it: rate cards validated, statements uploaded, costs compared."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from posops.core.db import Database
from posops.fees import service as fees
from posops.fees.pricing import EXAMPLE_CARDS
from tests.conftest import Fleet
from tests.fees.test_authorization import REGISTERED_MCC, STATEMENT, add_traffic, purchases
from tests.helpers import error_fields
from tests.terminals.flows import ok


def _card(**changes: Any) -> dict[str, Any]:
    body = fees.card_in(EXAMPLE_CARDS[0]).model_dump(mode="json")
    return {**body, "provider": "测试支付", "is_example": False, **changes}


def _contract(client: TestClient, fleet: Fleet) -> int:
    card = ok(client.post("/api/v1/fees/rate-cards", json=_card(), headers=fleet.headers("agent")), 201)["id"]
    ok(client.put(f"/api/v1/fees/merchants/{fleet.merchant_a}/contract", headers=fleet.headers("agent"),
                  json={"rate_card_id": card, "registered_mcc": REGISTERED_MCC}))
    return int(card)


@pytest.mark.parametrize(("changes", "field"), [
    ({"rates": [{"channel": "card", "card_type": "credit", "rate_bp": "0.6%"}]}, "rates.0.rate_bp"),
    ({"rates": [{"channel": "card", "card_type": "credit", "rate_bp": 60}]}, "rates.0.rate_bp"),
    ({"rates": [{"channel": "nfc", "card_type": "credit", "rate_bp": "60"}]}, "rates.0.channel"),
    ({"rates": []}, "rates"),
    ({"deposit": {"fen": -1, "refund_volume_fen": 0, "within_days": 90}}, "deposit.fen"),
    ({"valid_from": "2026-06-01", "valid_to": "2026-01-01"}, "valid_to"),
    ({"rates": [{"channel": "card", "card_type": "credit", "rate_bp": "60"}] * 2}, "rates"),
    ({"provider": "x" * 65}, "provider"),
    ({"rate": "60"}, "rate"),
])
def test_a_bad_rate_card_is_refused_naming_the_field(client: TestClient, fleet: Fleet, changes: dict[str, Any],
                                                     field: str) -> None:
    response = client.post("/api/v1/fees/rate-cards", json=_card(**changes), headers=fleet.headers("agent"))
    assert response.status_code == 422, response.text
    assert error_fields(response) == [field]
    assert ok(client.get("/api/v1/fees/rate-cards", headers=fleet.headers("agent"))) == []


def test_a_rate_card_keeps_its_exact_decimal_rates(client: TestClient, fleet: Fleet) -> None:
    body = _card(rates=[{"channel": "card", "card_type": "credit", "rate_bp": "59.995"}])
    card = ok(client.post("/api/v1/fees/rate-cards", json=body, headers=fleet.headers("admin")), 201)
    assert card["rates"][0]["rate_bp"] == "59.995" and card["in_force"] is True
    again = ok(client.get(f"/api/v1/fees/rate-cards/{card['id']}", headers=fleet.headers("merchant")))
    assert again["rates"] == card["rates"]


def test_a_contract_needs_a_four_digit_mcc_and_an_existing_card(client: TestClient, fleet: Fleet) -> None:
    path = f"/api/v1/fees/merchants/{fleet.merchant_a}/contract"
    bad = client.put(path, json={"rate_card_id": 1, "registered_mcc": "54111"}, headers=fleet.headers("agent"))
    assert bad.status_code == 422 and error_fields(bad) == ["registered_mcc"]
    missing = client.put(path, json={"rate_card_id": 99, "registered_mcc": "5411"}, headers=fleet.headers("agent"))
    assert missing.status_code == 404
    assert client.get(path, headers=fleet.headers("merchant")).status_code == 404


@pytest.mark.parametrize("as_file", [True, False])
def test_a_statement_uploads_as_a_file_or_a_csv_body_and_is_checked(client: TestClient, fleet: Fleet,
                                                                    as_file: bool) -> None:
    _contract(client, fleet)
    path = f"/api/v1/fees/merchants/{fleet.merchant_a}/statements"
    if as_file:
        response = client.post(path, headers=fleet.headers("merchant"),
                               files={"file": ("十一月.csv", STATEMENT, "text/csv")})
    else:
        response = client.post(path, content=STATEMENT, headers={**fleet.headers("merchant"),
                                                                 "Content-Type": "text/csv"})
    statement = ok(response, 201)
    assert (statement["line_count"], statement["overcharged_lines"], statement["overcharge_fen"]) == (2, 1, 1000)
    assert statement["source_name"] == ("十一月.csv" if as_file else "statement.csv")
    flags = client.get("/api/v1/fees/flags", headers=fleet.headers("merchant")).json()
    assert [(f["kind"], f["amount_fen"]) for f in flags] == [("overcharge", 1000)]
    assert [s["id"] for s in client.get(path, headers=fleet.headers("merchant")).json()] == [statement["id"]]


def test_a_bad_statement_row_is_a_422_with_its_line_and_field(client: TestClient, fleet: Fleet) -> None:
    content = b"date,channel,card_type,amount_fen,charged_fen\n2026-11-02,card,debit,100000,500\n" \
              b"2026-11-03,card,debit,-5,500\n"
    response = client.post(f"/api/v1/fees/merchants/{fleet.merchant_a}/statements", content=content,
                           headers={**fleet.headers("agent"), "Content-Type": "text/csv"})
    assert response.status_code == 422
    (problem,) = response.json()["detail"]["fields"]
    assert (problem["field"], problem["line"]) == ("amount_fen", 3)
    assert ok(client.get(f"/api/v1/fees/merchants/{fleet.merchant_a}/statements",
                         headers=fleet.headers("agent"))) == []


def test_a_statement_over_the_limit_is_refused(client: TestClient, fleet: Fleet) -> None:
    row = b"2026-11-02,card,debit,100000,500\n"
    content = b"date,channel,card_type,amount_fen,charged_fen\n" + row * (fees.STATEMENT_MAX_BYTES // len(row) + 1)
    response = client.post(f"/api/v1/fees/merchants/{fleet.merchant_a}/statements", content=content,
                           headers={**fleet.headers("agent"), "Content-Type": "text/csv"})
    assert response.status_code == 422 and error_fields(response) == ["file"]


def test_the_merchants_page_data_comes_from_its_own_traffic(client: TestClient, fleet: Fleet, db: Database) -> None:
    card = _contract(client, fleet)
    ok(client.post("/api/v1/fees/rate-cards", json=_card(provider="另一家"), headers=fleet.headers("agent")), 201)
    add_traffic(db, fleet.terminals_a[0], "90000000", purchases={
        "debit": purchases(2, 2_000_000, (None, 2, 2_000_000)), "credit": purchases(4, 80_000)})
    mix = ok(client.get(f"/api/v1/fees/merchants/{fleet.merchant_a}/mix", headers=fleet.headers("merchant")))
    assert mix["source"] == "traffic"
    assert {(line["card_type"], line["count"], line["amount_fen"]) for line in mix["lines"]} == {
        ("debit", 2, 2_000_000), ("credit", 4, 80_000)}
    cost = ok(client.get(f"/api/v1/fees/merchants/{fleet.merchant_a}/cost", headers=fleet.headers("merchant")))
    assert cost["card"]["id"] == card and isinstance(cost["effective_rate"], str)
    comparison = ok(client.get(f"/api/v1/fees/merchants/{fleet.merchant_a}/comparison",
                               headers=fleet.headers("merchant")))
    months = [c["month_fen"] for c in comparison["costs"]]
    assert months == sorted(months) and comparison["current_card_id"] == card
    assert len(comparison["curve"]["series"]) == 2 and comparison["curve"]["volumes_fen"][0] == 0


def test_typed_volumes_are_validated(client: TestClient, fleet: Fleet) -> None:
    path = f"/api/v1/fees/merchants/{fleet.merchant_a}/volumes"
    twice = {"lines": [{"channel": "card", "card_type": "credit", "count": 1, "amount_fen": 100}] * 2}
    assert client.put(path, json=twice, headers=fleet.headers("merchant")).status_code == 422
    huge = {"lines": [{"channel": "card", "card_type": "credit", "count": 1, "amount_fen": 10**13}]}
    response = client.put(path, json=huge, headers=fleet.headers("merchant"))
    assert response.status_code == 422 and error_fields(response) == ["lines.0.amount_fen"]
    typed = ok(client.put(path, json={"lines": [{"channel": "qr", "card_type": "any", "count": 10,
                                                 "amount_fen": 50_000}]}, headers=fleet.headers("merchant")))
    assert (typed["source"], typed["volume_fen"], typed["month_volume_fen"]) == ("typed", 50_000, 50_000)
