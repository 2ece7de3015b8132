from __future__ import annotations

import pytest

from posops.iso8583.masking import blank_pan, blanked_chip_data, mask_pan, safe_chip_data
from posops.iso8583.tlv import TlvError, TlvItem, build_tlv, parse_tlv


@pytest.mark.parametrize(("pan", "shown"), [
    ("6212260200024125573", "621226*********5573"),
    ("6250946000000016", "625094******0016"),
    ("1234567890123", "123456***0123"),
    ("123456789012", "************"),
])
def test_pan_shows_first_six_and_last_four(pan: str, shown: str) -> None:
    assert mask_pan(pan) == shown
    assert len(blank_pan(pan)) == len(pan)
    assert mask_pan(blank_pan(pan)) == shown


def test_tlv_round_trip_with_long_tags_and_lengths() -> None:
    data = bytes.fromhex("9F2608A1B2C3D4E5F60708") + bytes.fromhex("9F10") + b"\x81\x80" + bytes(128)
    items = parse_tlv(data)
    assert [i.tag for i in items] == ["9F26", "9F10"]
    assert len(items[1].value) == 128
    assert build_tlv(items) == data


def test_sensitive_chip_tags_are_dropped_even_inside_templates() -> None:
    inner = build_tlv([TlvItem("57", bytes.fromhex("6212260200024125573D2912")),
                       TlvItem("9F36", bytes.fromhex("0047"))])
    chip = build_tlv([TlvItem("5A", bytes.fromhex("6212260200024125573F")), TlvItem("70", inner),
                      TlvItem("5F20", b"ZHANG/SAN"), TlvItem("9F26", bytes(8))])
    safe = safe_chip_data(chip.hex())
    assert "621226020002" not in safe
    assert [i.tag for i in parse_tlv(bytes.fromhex(safe))] == ["70", "9F26"]
    assert [i.tag for i in parse_tlv(bytes.fromhex(safe))[0].children or ()] == ["9F36"]
    blanked = bytes.fromhex(blanked_chip_data(chip.hex()))
    assert len(blanked) == len(chip) and b"ZHANG" not in blanked


@pytest.mark.parametrize("bad", ["9F", "9F3602", "5A81", "5A8300000001", "9F36030047"])
def test_malformed_tlv_raises(bad: str) -> None:
    with pytest.raises(TlvError):
        parse_tlv(bytes.fromhex(bad))
    with pytest.raises(TlvError):
        safe_chip_data(bad)
    assert blanked_chip_data(bad) == "00" * (len(bad) // 2)
