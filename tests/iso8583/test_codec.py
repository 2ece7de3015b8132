from __future__ import annotations

import random

import pytest

from posops.iso8583.codec import decode_frame, encode_frame, frame_from_hex
from posops.iso8583.errors import FrameError
from posops.iso8583.masking import mask_pan
from posops.iso8583.message import Message
from tests.iso8583.helpers import captures, expected, purchase

CAPTURES = captures()
EXPECTED = expected()


@pytest.mark.parametrize("name", sorted(CAPTURES))
def test_every_capture_decodes_to_the_published_decoding(name: str) -> None:
    message = decode_frame(CAPTURES[name])
    want = EXPECTED[name]
    assert message.mti == want["mti"]
    assert message.tpdu == str(want["tpdu"]).upper()
    assert message.header == str(want["header"]).upper()
    fields = dict(message.fields)
    if "2" in fields:
        fields["2_masked"] = mask_pan(fields.pop("2"))
    assert fields == want["fields"]


@pytest.mark.parametrize("name", sorted(CAPTURES))
def test_every_capture_encodes_back_to_its_bytes(name: str) -> None:
    assert encode_frame(decode_frame(CAPTURES[name])) == CAPTURES[name]


def test_round_trip_of_a_message_with_every_kind_of_field() -> None:
    message = purchase("10000001", "000123", pan="6212260200024125573",
                       f14="2912", f18="5411", f23="001", f26="06", f32="48031000",
                       f35="6212260200024125573D29122010000", f37="123456789012", f44="01020000   48031000   ",
                       f48="1234567", f52="0011223344556677", f53="2600000000000000",
                       f55="9F2608A1B2C3D4E5F607089F360200479F2701808202", f61="00000100012305011",
                       f62="DEADBEEF", f63="CUP银联", f64="0102030405060708")
    frame = encode_frame(message)
    again = decode_frame(frame)
    assert again.fields == message.fields
    assert encode_frame(again) == frame


def test_numeric_padding_follows_the_cup_conventions() -> None:
    frame = encode_frame(Message("0200", {"2": "6212260200024125573", "22": "021", "23": "001", "41": "10000001"}))
    body = frame.hex().upper()
    assert "19" + "62122602000241255730" in body  # LLVAR PAN, BCD length 19, right pad
    assert "0210" + "0001" in body  # 22 left-aligned (021 → 0210), 23 right-aligned (001 → 0001)


def _field_offset_error(frame: bytes) -> FrameError:
    with pytest.raises(FrameError) as caught:
        decode_frame(frame)
    return caught.value


def test_truncated_frame_names_the_length_prefix() -> None:
    error = _field_offset_error(CAPTURES["purchase_resp"][:-5])
    assert error.part == "length" and error.offset == 0


def test_length_prefix_that_lies_about_a_short_body_names_the_field_that_runs_out() -> None:
    frame = CAPTURES["signin_req"][:-3]
    frame = (len(frame) - 2).to_bytes(2, "big") + frame[2:]
    error = _field_offset_error(frame)
    assert error.field == 63
    assert error.offset is not None and error.offset >= len(frame) - 6


def test_trailing_bytes_counted_by_the_prefix_are_rejected() -> None:
    frame = CAPTURES["signoff_resp"] + b"\x00\x00"
    frame = (len(frame) - 2).to_bytes(2, "big") + frame[2:]
    error = _field_offset_error(frame)
    assert "extra" in error.reason.lower()
    assert error.offset == len(CAPTURES["signoff_resp"])


def test_trailing_bytes_not_counted_by_the_prefix_are_rejected() -> None:
    error = _field_offset_error(CAPTURES["signoff_resp"] + b"\x00")
    assert error.part == "length"


def test_bad_bcd_in_a_numeric_field_names_field_and_offset() -> None:
    frame = bytearray(CAPTURES["signin_req"])
    # field 11 is the first field after the bitmap: byte 23
    frame[23] = 0x0A
    error = _field_offset_error(bytes(frame))
    assert (error.field, error.offset) == (11, 23)
    assert "BCD" in str(error)


def test_bad_bcd_in_a_length_prefix_names_the_field() -> None:
    frame = bytearray(CAPTURES["purchase_resp"])
    frame[23] = 0x1A  # field 2's LL prefix
    error = _field_offset_error(bytes(frame))
    assert (error.field, error.offset) == (2, 23)


def test_length_prefix_over_the_field_maximum_is_rejected() -> None:
    frame = bytearray(CAPTURES["purchase_resp"])
    frame[23] = 0x25  # PAN of 25 digits: more than n..19
    error = _field_offset_error(bytes(frame))
    assert error.field == 2
    assert "maximum" in error.reason


def test_unknown_bitmap_bit_is_named() -> None:
    frame = bytearray(CAPTURES["signin_req"])
    frame[15] |= 0x08  # field 5: not in the CUP POS spec
    error = _field_offset_error(bytes(frame))
    assert (error.part, error.offset) == ("5", 15)


def test_secondary_bitmap_fields_are_not_in_the_cup_pos_spec() -> None:
    frame = bytearray(CAPTURES["signin_req"])
    frame[15] |= 0x80
    error = _field_offset_error(bytes(frame))
    assert error.part == "1"


def test_wrong_tpdu_id_is_rejected() -> None:
    frame = bytearray(CAPTURES["signin_req"])
    frame[2] = 0x61
    assert _field_offset_error(bytes(frame)).part == "tpdu"


def test_mti_must_be_bcd() -> None:
    frame = bytearray(CAPTURES["signin_req"])
    frame[13] = 0x0A
    assert _field_offset_error(bytes(frame)).part == "mti"


@pytest.mark.parametrize("size", [0, 1, 2, 5, 14, 22])
def test_frames_too_short_for_the_fixed_parts(size: int) -> None:
    frame = CAPTURES["signin_req"][:size]
    if size >= 2:
        frame = (size - 2).to_bytes(2, "big") + frame[2:]
    with pytest.raises(FrameError):
        decode_frame(frame)


def test_ascii_field_with_binary_bytes_is_rejected() -> None:
    frame = bytearray(CAPTURES["signin_req"])
    at = frame.index(b"62969002")
    frame[at] = 0xFF
    error = _field_offset_error(bytes(frame))
    assert error.field == 41


def test_hex_input_errors_are_frame_errors() -> None:
    with pytest.raises(FrameError) as odd:
        frame_from_hex("00A")
    assert odd.value.part == "hex"
    with pytest.raises(FrameError) as bad:
        frame_from_hex("00 3c 60 zz")
    assert bad.value.offset == 3
    assert frame_from_hex("00 3C\n60") == b"\x00\x3c\x60"


def test_encoding_refuses_what_it_could_not_read_back() -> None:
    with pytest.raises(FrameError) as numeric:
        encode_frame(Message("0800", {"11": "00002A"}))
    assert numeric.value.field == 11
    with pytest.raises(FrameError) as unknown:
        encode_frame(Message("0800", {"5": "000000000001"}))
    assert unknown.value.part == "5"
    with pytest.raises(FrameError):
        encode_frame(Message("08000", {}))
    with pytest.raises(FrameError):
        encode_frame(Message("0800", {"41": "123"}))  # fixed ans8


def test_error_message_never_contains_field_data() -> None:
    frame = bytearray(encode_frame(purchase("10000001", "000001", pan="6222021234567890123")))
    frame[25] = 0xAB  # inside the PAN
    error = _field_offset_error(bytes(frame))
    assert "6222021234567890123" not in str(error)
    assert "2345678901" not in str(error)


def _mutations(rng: random.Random, frame: bytes) -> bytes:
    data = bytearray(frame)
    choice = rng.randrange(4)
    if choice == 0:
        return bytes(data[:rng.randrange(len(data))])
    if choice == 1:
        for _ in range(rng.randint(1, 3)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        return bytes(data)
    if choice == 2:  # change a byte and keep the length prefix consistent
        data[rng.randrange(2, len(data))] = rng.randrange(256)
        return bytes(data)
    cut = rng.randrange(2, len(data))
    data = data[:cut] + data[cut + 1:] if rng.random() < 0.5 else data + bytes([rng.randrange(256)])
    data[0:2] = (len(data) - 2).to_bytes(2, "big")
    return bytes(data)


def test_fuzzed_captures_either_decode_exactly_or_raise_frame_error() -> None:
    rng = random.Random(8583)
    frames = list(CAPTURES.values())
    outcomes = {"ok": 0, "error": 0}
    for _ in range(3000):
        mutated = _mutations(rng, rng.choice(frames))
        try:
            message = decode_frame(mutated)
        except FrameError as exc:
            assert exc.offset is None or 0 <= exc.offset <= len(mutated)
            outcomes["error"] += 1
            continue
        assert encode_frame(message) == mutated  # success is never a partial reading
        outcomes["ok"] += 1
    assert outcomes["ok"] and outcomes["error"]
