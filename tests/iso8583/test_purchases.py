"""What traffic tells about a merchant's fees: approved purchases by card class, amount buckets, MCCs; no card data."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from posops.core.db import utcnow
from posops.iso8583.analysis import AMOUNT_EDGES_FEN, MAX_MCCS, analyze
from posops.iso8583.bins import load_bin_table
from posops.iso8583.codec import decode_frame, encode_frame
from posops.iso8583.message import Message
from tests.conftest import Fleet
from tests.iso8583.helpers import answer, purchase, records, reversal
from tests.iso8583.traffic import TID_A0, TID_B, fleet_steps, log_text

TID = "10000001"
DEBIT = "6222021234567890123"  # ICBC 622202, debit in the shipped BIN table
CREDIT = "6225751234567894"  # CMB 622575, credit
UNLISTED = "6250946000000016"  # the simulators' test card: not in the table

Step = tuple[float, str, Message]


def _buy(stan: str, pan: str, fen: int, **extra: str) -> Message:
    return purchase(TID, stan, pan=pan, f4=f"{fen:012d}", **extra)


def _void(stan: str, original_stan: str, pan: str | None, fen: int) -> Message:
    message = purchase(TID, stan, pan=pan or DEBIT, f4=f"{fen:012d}", f60="2300000100050",
                       f61=f"000001{original_stan}")
    return message.with_fields(f2=None) if pan is None else message


def _exchange(at: float, request: Message, code: str) -> list[Step]:
    return [(at, ">", request), (at + 0.5, "<", answer(request, code))]


def _summary(steps: list[Step], tid: str = TID) -> dict[str, Any]:
    terminal = analyze(records(sorted(steps, key=lambda s: s[0]))).terminal(tid)
    assert terminal is not None
    return terminal.to_dict()


def _bucket(figures: dict[str, Any], upto: int | None) -> dict[str, int]:
    return next(b for b in figures["buckets"] if b["upto_fen"] == upto)


def _counts(summary: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {card: (f["count"], f["amount_fen"]) for card, f in summary["purchases"].items()}


def test_approved_purchases_count_in_their_card_class_with_amounts_and_buckets() -> None:
    steps = [*_exchange(0, _buy("000001", DEBIT, 5_000), "00"),
             *_exchange(10, _buy("000002", DEBIT, 10_000), "00"),  # 100 元 exactly: first bucket (inclusive edge)
             *_exchange(20, _buy("000003", DEBIT, 250_000), "00"),
             *_exchange(30, _buy("000004", CREDIT, 12_000_000), "00"),
             *_exchange(40, _buy("000005", UNLISTED, 100), "00")]
    purchases = _summary(steps)["purchases"]
    assert set(purchases) == {"debit", "credit", "unknown"}
    debit = purchases["debit"]
    assert (debit["count"], debit["amount_fen"]) == (3, 265_000)
    assert [b["upto_fen"] for b in debit["buckets"]] == [*AMOUNT_EDGES_FEN, None]
    assert _bucket(debit, 10_000) == {"upto_fen": 10_000, "count": 2, "amount_fen": 15_000}
    assert _bucket(debit, 500_000) == {"upto_fen": 500_000, "count": 1, "amount_fen": 250_000}
    assert sum(b["count"] for b in debit["buckets"]) == debit["count"]
    credit = purchases["credit"]
    assert (credit["count"], credit["amount_fen"]) == (1, 12_000_000)
    assert _bucket(credit, None) == {"upto_fen": None, "count": 1, "amount_fen": 12_000_000}
    assert (purchases["unknown"]["count"], purchases["unknown"]["amount_fen"]) == (1, 100)


def test_declined_unanswered_and_non_purchase_exchanges_are_not_purchases() -> None:
    balance = _buy("000004", DEBIT, 0).with_fields(f60="0100000100050")  # 60.1 = 01: balance inquiry
    steps = [*_exchange(0, _buy("000001", CREDIT, 30_000), "51"),
             (10, ">", _buy("000002", CREDIT, 40_000)),  # never answered
             *_exchange(20, _buy("000003", DEBIT, 7_000), "00"),
             *_exchange(30, balance, "00")]
    summary = _summary(steps)
    assert _counts(summary) == {"debit": (1, 7_000)}
    assert summary["approved"] == 2 and summary["timeouts"] == 1


def test_an_answer_whose_request_is_not_in_the_traffic_is_not_counted() -> None:
    request = _buy("000001", DEBIT, 9_000)
    assert _summary([(5, "<", answer(request, "00"))])["purchases"] == {}


def test_a_reversal_takes_back_the_approved_purchase_it_reverses_once() -> None:
    approved = _buy("000001", DEBIT, 20_000)
    lost = _buy("000002", CREDIT, 50_000)
    kept = _buy("000003", CREDIT, 60_000)
    steps = [*_exchange(0, approved, "00"),
             (5, ">", reversal(approved)), (5.5, "<", answer(reversal(approved), "00")),
             (8, ">", reversal(approved)),  # the reversal sent again: nothing more to take back
             (10, ">", lost), (80, ">", reversal(lost)), (80.5, "<", answer(reversal(lost), "00")),
             *_exchange(100, kept, "00")]
    summary = _summary(steps)
    assert _counts(summary) == {"credit": (1, 60_000)}  # the debit purchase left, the timed-out one never counted
    assert summary["purchases_taken_back"] == {"voids": 0, "reversals": 1, "voids_unmatched": 0}


def test_an_approved_void_takes_back_its_purchase_and_a_declined_one_does_not() -> None:
    steps = [*_exchange(0, _buy("000001", DEBIT, 250_000), "00"),
             *_exchange(10, _buy("000002", DEBIT, 3_000), "00"),
             *_exchange(20, _void("000003", "000001", DEBIT, 250_000), "00"),
             *_exchange(30, _void("000004", "000002", DEBIT, 3_000), "25")]
    summary = _summary(steps)
    assert _counts(summary) == {"debit": (1, 3_000)}
    assert _bucket(summary["purchases"]["debit"], 500_000)["count"] == 0
    assert summary["purchases_taken_back"]["voids"] == 1


def test_a_void_that_matches_nothing_counted_is_reported_not_subtracted() -> None:
    steps = [*_exchange(0, _buy("000001", DEBIT, 3_000), "00"),
             *_exchange(10, _void("000002", "000900", CREDIT, 80_000), "00"),  # its purchase predates the log
             *_exchange(20, _void("000003", "000901", DEBIT, 9_000), "00"),  # more than its bucket holds
             *_exchange(30, _void("000004", "000902", None, 3_000), "00")]  # keyed without the card
    summary = _summary(steps)
    assert _counts(summary) == {"debit": (1, 3_000)}
    assert summary["purchases_taken_back"] == {"voids": 0, "reversals": 0, "voids_unmatched": 3}


def test_a_reversed_void_restores_its_purchase() -> None:
    void = _void("000002", "000001", DEBIT, 3_000)
    steps = [*_exchange(0, _buy("000001", DEBIT, 3_000), "00"), *_exchange(10, void, "00"),
             (20, ">", reversal(void)), (20.5, "<", answer(reversal(void), "00"))]
    summary = _summary(steps)
    assert _counts(summary) == {"debit": (1, 3_000)}
    assert summary["purchases_taken_back"] == {"voids": 1, "reversals": 1, "voids_unmatched": 0}


def test_the_card_classes_come_from_the_bin_table_given(tmp_path: Path) -> None:
    table = tmp_path / "bins.yaml"
    table.write_text("ranges:\n  - {issuer: {zh-CN: 测试, en: Test}, class: credit, bins: ['625094'], "
                     "confidence: low, note: a test range}\n", encoding="utf-8")
    steps = [*_exchange(0, _buy("000001", UNLISTED, 700), "00"), *_exchange(10, _buy("000002", DEBIT, 800), "00")]
    terminal = analyze(records(steps), bin_table=load_bin_table(table)).terminal(TID)
    assert terminal is not None
    assert {card: f["count"] for card, f in terminal.purchases.items()} == {"credit": 1, "unknown": 1}


def test_field_18_decodes_and_the_mccs_of_requests_are_counted() -> None:
    request = _buy("000001", DEBIT, 5_000, f18="5411")
    frame = encode_frame(request)
    assert decode_frame(frame).fields["18"] == "5411"
    steps = [*_exchange(0, request, "00"),
             *_exchange(10, _buy("000002", CREDIT, 5_000, f18="5411"), "51"),
             *_exchange(20, _buy("000003", CREDIT, 5_000, f18="7011"), "00"),
             *_exchange(30, _buy("000004", CREDIT, 5_000), "00")]
    summary = _summary(steps)
    assert summary["mccs"] == {"5411": 2, "7011": 1}
    assert summary["mccs_other"] == 0


def test_mccs_kept_per_terminal_are_bounded() -> None:
    steps = [step for n in range(MAX_MCCS + 4)
             for step in _exchange(n, _buy(f"{n + 1:06d}", DEBIT, 100, f18=f"{5000 + n}"), "00")]
    summary = _summary(steps)
    assert len(summary["mccs"]) == MAX_MCCS and summary["mccs_other"] == 4


def test_nothing_in_the_summary_holds_a_card_number_or_a_bin() -> None:
    steps = [*_exchange(0, _buy("000001", DEBIT, 5_000, f18="5411"), "00"),
             *_exchange(10, _buy("000002", CREDIT, 99_999_999, f18="5411"), "00")]
    report = analyze(records(steps)).to_dict()
    for terminal in report["terminals"]:  # type: ignore[attr-defined]
        assert terminal.pop("merchant_id") == "898310048990001"  # field 42, 15 digits, not card data
    text = json.dumps(report)
    assert re.search(r"\d{12,}", text) is None
    assert DEBIT[:6] not in text and CREDIT[:6] not in text


def test_the_stored_summary_carries_the_purchases_and_mccs(client: TestClient, fleet: Fleet) -> None:
    steps = [(t, d, m.with_fields(f18="5812") if m.mti == "0200" else m) for t, d, m in fleet_steps(pan=DEBIT)]
    start = utcnow().replace(microsecond=0) - timedelta(hours=2)
    response = client.post("/api/v1/traffic/analyses", headers=fleet.headers("agent"),
                           files={"file": ("pos.log", log_text(steps, start).encode(), "text/plain")})
    assert response.status_code == 201, response.text
    by_tid = {t["tid"]: t["traffic"] for t in response.json()["terminals"]}
    assert _counts(by_tid[TID_A0]) == {"debit": (1, 100)}  # one approved, one refused A0
    assert by_tid[TID_A0]["mccs"] == {"5812": 2}
    assert by_tid[TID_B]["purchases"] == {}  # declined 51
    latest = client.get(f"/api/v1/terminals/{fleet.terminals_a[0]}/traffic", headers=fleet.headers("merchant"))
    assert latest.status_code == 200, latest.text
    assert latest.json()["tid"] == TID_A0 and latest.json()["traffic"]["purchases"]["debit"]["count"] == 1
