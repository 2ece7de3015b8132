"""Card data masking: PAN as first six and last four digits, sensitive chip tags removed.

>>> mask_pan("6212260200024125573")
'621226*********5573'
>>> mask_pan("12345")
'*****'
"""

from __future__ import annotations

import re

from posops.iso8583.spec import SENSITIVE_TAGS
from posops.iso8583.tlv import TlvError, rewrite_tags

#: Shorter than this, first six and last four would reveal (nearly) everything.
_SHORTEST_MASKABLE = 13
_CARD_NUMBER_LIKE = re.compile(r"(?<!\d)\d{13,19}(?!\d)")


def mask_pan(pan: str) -> str:
    """Return the PAN with all but the first six and last four digits replaced by ``*``."""
    if len(pan) < _SHORTEST_MASKABLE:
        return "*" * len(pan)
    return pan[:6] + "*" * (len(pan) - 10) + pan[-4:]


def mask_card_numbers(text: str) -> str:
    """Mask every run of 13 to 19 digits in free text (a file name, a note) as if it were a PAN.

    >>> mask_card_numbers("pos-6222021234567890123.log")
    'pos-622202*********0123.log'
    """
    return _CARD_NUMBER_LIKE.sub(lambda match: mask_pan(match.group()), text)


def blank_pan(pan: str) -> str:
    """Return the PAN with its hidden digits set to ``0``: what a redacted log may keep."""
    if len(pan) < _SHORTEST_MASKABLE:
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
