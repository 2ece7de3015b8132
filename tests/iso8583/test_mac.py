from __future__ import annotations

from posops.iso8583.codec import encode_frame
from posops.iso8583.mac import retail_mac, sign_frame, verify_frame
from tests.iso8583.helpers import purchase

KEY = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")


def test_known_answers() -> None:
    data = b"Now is the time for all "
    assert retail_mac(bytes.fromhex("0123456789ABCDEF"), data).hex().upper() == "70A30640CC76DD8B"  # X9.9
    assert retail_mac(KEY, data).hex().upper() == "A1C72E74EA3FA9B6"  # X9.19


def test_signed_frame_verifies_and_any_change_breaks_it() -> None:
    frame = sign_frame(encode_frame(purchase("10000001", "000001", f64="00" * 8)), KEY)
    assert verify_frame(frame, KEY)
    assert not verify_frame(frame, bytes(16))
    tampered = bytearray(frame)
    tampered[30] ^= 0x01
    assert not verify_frame(bytes(tampered), KEY)
    header_changed = bytearray(frame)
    header_changed[5] ^= 0x01  # the TPDU is outside the MAC block
    assert verify_frame(bytes(header_changed), KEY)
