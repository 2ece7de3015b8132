from __future__ import annotations

import json

import pytest

from posops.iso8583.codec import encode_frame
from posops.iso8583.errors import FrameError
from posops.iso8583.keys import issue_working_keys
from posops.iso8583.message import Message
from posops.iso8583.safe import decode_safe, decode_safe_hex
from tests.iso8583.helpers import answer, captures, expected, purchase, sign_in

CAPTURES = captures()
EXPECTED = expected()
TMK = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")


@pytest.mark.parametrize("name", sorted(set(CAPTURES) - {"signin_resp"}))
def test_safe_view_of_captures_matches_the_published_decoding(name: str) -> None:
    safe = decode_safe(CAPTURES[name])
    assert safe.fields == EXPECTED[name]["fields"]
    assert safe.mti == EXPECTED[name]["mti"]


def test_sign_in_answer_shows_check_values_instead_of_keys() -> None:
    safe = decode_safe(CAPTURES["signin_resp"])
    published = dict(EXPECTED["signin_resp"]["fields"])  # type: ignore[call-overload]
    published.pop("62")
    assert {k: v for k, v in safe.fields.items() if k != "62_masked"} == published
    assert safe.fields["62_masked"] == "pin:EBE8B6C2 mac:A2F2CABB"
    shown = json.dumps(safe.to_dict())
    assert "279BE86A" not in shown and "BE7BC619" not in shown
    assert safe.evidence() == {"response_code": "none"}


def test_master_key_verifies_sign_in_check_values() -> None:
    request = sign_in("10000001", "000001")
    issued = issue_working_keys(TMK)
    frame = encode_frame(answer(request, "00", f62=issued.field_62))
    assert decode_safe(frame, TMK).evidence() == {"response_code": "none", "key_check": "ok"}
    wrong = decode_safe(frame, bytes(16))
    assert wrong.evidence() == {"response_code": "none", "key_check": "master_key_missing"}
    assert wrong.causes()[0] == "sw.master_key"


def test_card_data_is_masked_withheld_or_filtered() -> None:
    pan = "6222021234567890123"
    message = purchase("10000001", "000007", pan=pan, f35=f"{pan}D29122010000", f52="0123456789ABCDEF",
                       f55="5A0A6222021234567890123F9F360200475F200A5A48414E472F53414E20")
    safe = decode_safe(encode_frame(message))
    assert safe.fields["2_masked"] == "622202*********0123"
    assert safe.withheld == ("35", "52")
    assert safe.fields["55"] == "9F36020047"
    assert pan not in json.dumps(safe.to_dict())
    assert pan not in repr(safe)


def test_chip_data_that_is_not_tlv_is_withheld_whole() -> None:
    safe = decode_safe(encode_frame(purchase("10000001", "000007", f55="5A0A6222")))
    assert "55" not in safe.fields and "55" in safe.withheld


def test_to_dict_names_the_message_and_explains_the_code() -> None:
    request = purchase("10000001", "000009")
    data = decode_safe(encode_frame(answer(request, "A0"))).to_dict()
    assert data["name"] == {"id": "purchase", "zh": "消费", "en": "Purchase", "role": "response"}
    assert data["response"]["zh"] == "MAC校验错"  # type: ignore[index]
    assert data["evidence"] == {"response_code": "A0", "key_check": "work_key_invalid"}
    assert data["field_60"]["60.1"] == "22"  # type: ignore[index]
    assert data["field_names"]["2_masked"].startswith("主账号")  # type: ignore[index]


def test_hex_entry_point_raises_frame_errors_only() -> None:
    with pytest.raises(FrameError):
        decode_safe_hex("0011")
    assert decode_safe_hex(CAPTURES["signin_req"].hex()).name.kind.id == "sign_in"


def test_message_repr_masks_the_pan() -> None:
    message = Message("0200", {"2": "6222021234567890123", "41": "10000001"})
    assert "6222021234567890123" not in repr(message)
    assert "622202*********0123" in repr(message)
