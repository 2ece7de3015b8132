"""Card numbers in free text: masked to first six and last four digits wherever posops keeps or shows text.

>>> mask_card_numbers("卡号 6222 0212 3456 7890 123 刷不出")
'卡号 622202*********0123 刷不出'
>>> mask_pan("12345")
'*****'
"""

from __future__ import annotations

import re

SHORTEST_MASKABLE = 13
"""Shorter than this, first six and last four would reveal (nearly) everything."""
_CARD_NUMBER_LIKE = re.compile(r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)")
"""13 to 19 digits, as people write them too: in groups separated by spaces or dashes."""


def mask_pan(pan: str) -> str:
    """Return the PAN with all but the first six and last four digits replaced by ``*``."""
    if len(pan) < SHORTEST_MASKABLE:
        return "*" * len(pan)
    return pan[:6] + "*" * (len(pan) - 10) + pan[-4:]


def mask_card_numbers(text: str) -> str:
    """Mask every run of 13 to 19 digits in free text (a note, a file name, a CSV cell) as if it were a PAN."""
    return _CARD_NUMBER_LIKE.sub(lambda match: mask_pan(re.sub(r"\D", "", match.group())), text)
