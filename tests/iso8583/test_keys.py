from __future__ import annotations

import pytest

from posops.iso8583.codec import decode_frame
from posops.iso8583.errors import FrameError
from posops.iso8583.keys import (
    check_value,
    issue_working_keys,
    split_working_keys,
    tdes_decrypt,
    tdes_encrypt,
    verify_working_keys,
)
from tests.iso8583.helpers import captures

TMK = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")


def test_check_value_of_the_textbook_key() -> None:
    assert check_value(TMK).hex().upper() == "08D7B4FB"


def test_single_des_known_answer() -> None:
    # FIPS 81 example: key 0123456789ABCDEF, "Now is t" → 3FA40E8A984D4815
    assert tdes_encrypt(bytes.fromhex("0123456789ABCDEF"), b"Now is t").hex().upper() == "3FA40E8A984D4815"
    assert tdes_decrypt(bytes.fromhex("0123456789ABCDEF"), bytes.fromhex("3FA40E8A984D4815")) == b"Now is t"


def test_capture_sign_in_answer_splits_into_keys_and_check_values() -> None:
    field_62 = decode_frame(captures()["signin_resp"]).fields["62"]
    keys = split_working_keys(field_62)
    assert [(k.name, k.length, k.check_value.hex().upper()) for k in keys.keys] == [
        ("pin", 16, "EBE8B6C2"), ("mac", 8, "A2F2CABB")]
    assert "279BE86A" not in str(keys.to_dict())  # never the key itself


@pytest.mark.parametrize(("track", "size"), [(False, 40), (True, 60)])
def test_issued_keys_verify_under_the_right_master_key_only(track: bool, size: int) -> None:
    issued = issue_working_keys(TMK, track_key=track)
    assert len(bytes.fromhex(issued.field_62)) == size
    keys = split_working_keys(issued.field_62)
    good = verify_working_keys(keys, TMK)
    assert good.ok and good.evidence() == {"key_check": "ok"}
    pin = keys.get("pin")
    assert pin is not None and pin.decrypt(TMK) == issued.pin_key
    other = verify_working_keys(keys, bytes(16))
    assert not other.ok and other.evidence() == {"key_check": "master_key_missing"}


def test_single_length_layout() -> None:
    pin, mac = bytes.fromhex("1111111111111111"), bytes.fromhex("2222222222222222")
    value = (tdes_encrypt(TMK, pin) + check_value(pin) + tdes_encrypt(TMK, mac) + check_value(mac)).hex()
    keys = split_working_keys(value)
    assert [k.length for k in keys.keys] == [8, 8]
    assert verify_working_keys(keys, TMK).ok


def test_field_62_of_another_length_is_not_a_key_layout() -> None:
    with pytest.raises(FrameError) as caught:
        split_working_keys("00" * 30)
    assert caught.value.field == 62
