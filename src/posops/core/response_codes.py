"""Field-39 response codes as the taxonomy check ``response_code`` speaks of them.

The check takes only the outcomes listed in ``shared/domain/taxonomy.yaml``: an approval is
``none``, a request the host never answered is ``timeout``, and a code outside the list gives
no evidence at all.

>>> response_code_outcome(" a0 "), response_code_outcome("00"), response_code_outcome("12")
('A0', 'none', None)
"""

from __future__ import annotations

#: The outcomes of the taxonomy check ``response_code`` (the first is the normal one).
RESPONSE_CODE_OUTCOMES = ("none", "03", "05", "14", "41", "43", "51", "54", "55", "58", "61", "62", "65",
                          "75", "91", "96", "97", "98", "A0", "timeout")
#: Pseudo code for a request that never got an answer.
TIMEOUT = "timeout"
#: The code of an approved request.
APPROVED = "00"


def normalise_response_code(code: str) -> str:
    """A field-39 code in upper case (``a0`` → ``A0``), or ``timeout`` when the host never answered."""
    normalised = code.strip().upper()
    return TIMEOUT if normalised == TIMEOUT.upper() else normalised


def response_code_outcome(code: str) -> str | None:
    """The ``response_code`` outcome of a field-39 code or ``timeout``; None outside the taxonomy."""
    normalised = normalise_response_code(code)
    if normalised == APPROVED:
        return "none"
    return normalised if normalised in RESPONSE_CODE_OUTCOMES else None
