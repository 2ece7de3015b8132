"""Card data masking: PAN as first six and last four digits, sensitive chip tags removed.

>>> mask_pan("6212260200024125573")
'621226*********5573'
>>> mask_pan("12345")
'*****'
"""

from __future__ import annotations

from posops.core.card_data import SHORTEST_MASKABLE, mask_card_numbers, mask_pan
from posops.iso8583.spec import SENSITIVE_TAGS
from posops.iso8583.tlv import TlvError, rewrite_tags

__all__ = ["blank_pan", "blanked_chip_data", "mask_card_numbers", "mask_pan", "safe_chip_data"]


def blank_pan(pan: str) -> str:
    """Return the PAN with its hidden digits set to ``0``: what a redacted log may keep."""
    if len(pan) < SHORTEST_MASKABLE:
        return "0" * len(pan)
    return pan[:6] + "0" * (len(pan) - 10) + pan[-4:]


def safe_chip_data(value_hex: str) -> str:
    """Return field 55 (hex) without the tags that carry cardholder data.

    Raises :class:`~posops.iso8583.tlv.TlvError` when the data is not BER-TLV: then nothing
    in it can be vouched for and the caller withholds the whole field.

    >>> safe_chip_data("5A0862122602000241259F36020047")
    '9F36020047'
    """
    raw = bytes.fromhex(value_hex)
    kept = rewrite_tags(raw, SENSITIVE_TAGS)
    return value_hex.upper() if kept is raw else kept.hex().upper()


def blanked_chip_data(value_hex: str) -> str:
    """Return field 55 (hex) with sensitive tag values zeroed, lengths kept; on bad TLV, all zeros."""
    raw = bytes.fromhex(value_hex)
    try:
        return rewrite_tags(raw, SENSITIVE_TAGS, blank=True).hex().upper()
    except TlvError:
        return "00" * len(raw)
