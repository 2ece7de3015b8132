"""The analysis knows each terminal's last approved payment (what dormancy counts from), and names stored kinds."""

from __future__ import annotations

from collections.abc import Sequence

from posops.iso8583.analysis import analyze
from posops.iso8583.masking import mask_card_numbers
from posops.iso8583.message import Message
from posops.iso8583.naming import KINDS, name_of
from tests.iso8583.helpers import T0, answer, purchase, records, sign_in

TID = "10000001"


def _with_type(message: Message, type_code: str) -> Message:
    return message.with_fields(f60=type_code + message.fields["60"][2:])


def _last_payment(steps: Sequence[tuple[float, str, Message]]) -> float | None:
    traffic = analyze(records(steps)).terminal(TID)
    assert traffic is not None
    return traffic.last_approved_transaction


def test_only_approved_payments_count() -> None:
    signin, paid, declined = sign_in(TID, "000001"), purchase(TID, "000002"), purchase(TID, "000003")
    steps = [(0, ">", signin), (1, "<", answer(signin, "00")), (10, ">", paid), (11, "<", answer(paid, "00")),
             (20, ">", declined), (21, "<", answer(declined, "51"))]
    assert _last_payment(steps) == T0.timestamp() + 10
    traffic = analyze(records(steps)).terminal(TID)
    assert traffic is not None and traffic.to_dict()["last_approved_transaction"] == "2024-05-01T08:00:10.000+00:00"


def test_sign_ins_and_balance_inquiries_are_not_payments() -> None:
    signin, inquiry = sign_in(TID, "000001"), _with_type(purchase(TID, "000002"), "01")
    assert name_of("0200", "01").kind.id == "balance_inquiry"
    assert _last_payment([(0, ">", signin), (1, "<", answer(signin, "00")),
                          (5, ">", inquiry), (6, "<", answer(inquiry, "00"))]) is None


def test_a_void_is_a_payment_and_the_latest_wins() -> None:
    paid, void = purchase(TID, "000002"), _with_type(purchase(TID, "000003"), "23")
    assert _last_payment([(10, ">", paid), (11, "<", answer(paid, "00")),
                          (30, ">", void), (31, "<", answer(void, "00"))]) == T0.timestamp() + 30


def test_every_kind_can_be_named_from_its_stored_id() -> None:
    for mti, type_code, network in (("0200", "22", None), ("0810", "00", "003"), ("0400", None, None),
                                    ("0830", "00", "372"), ("0500", None, None), ("0220", "25", None)):
        kind = name_of(mti, type_code, network).kind
        assert KINDS[kind.id] is kind


def test_card_numbers_in_free_text_are_masked_but_other_numbers_are_not() -> None:
    assert mask_card_numbers("6222021234567890123 and 6250946000000016") == \
        "622202*********0123 and 625094******0016"
    assert mask_card_numbers("tid 90000001, batch 000123, 2024-05-01") == "tid 90000001, batch 000123, 2024-05-01"
    assert mask_card_numbers("x" + "1" * 20) == "x" + "1" * 20  # too long to be a PAN
