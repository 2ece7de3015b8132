"""An ISO 8583 message as decoded from the wire: TPDU, header, MTI and fields by number.

A :class:`Message` holds clear card data when the frame did (it is what the simulators and
the codec work with); its ``repr`` shows only field numbers and the masked PAN. Anything that
is shown, logged or stored goes through :mod:`posops.iso8583.safe` instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from posops.iso8583.masking import mask_pan
from posops.iso8583.spec import split_field_60

DEFAULT_TPDU = "6000000000"
DEFAULT_HEADER = "603100310001"


@dataclass(frozen=True, slots=True, repr=False)
class Message:
    """MTI plus fields keyed by number as strings (``"11"``); values as the codec reads them.

    Numeric fields are digit strings, binary fields upper-case hex, text fields text.

    >>> m = Message("0800", {"11": "000029", "41": "62969002", "60": "00000132003"})
    >>> m.tid, m.stan, m.part_60("60.3"), m.is_response
    ('62969002', '000029', '003', False)
    """

    mti: str
    fields: Mapping[str, str] = field(default_factory=dict)
    tpdu: str = DEFAULT_TPDU
    header: str = DEFAULT_HEADER

    def get(self, number: int | str) -> str | None:
        """Return a field's value, or ``None`` when absent."""
        return self.fields.get(str(number))

    @property
    def tid(self) -> str | None:
        """Terminal id (field 41)."""
        return self.fields.get("41")

    @property
    def mid(self) -> str | None:
        """Merchant id (field 42)."""
        return self.fields.get("42")

    @property
    def stan(self) -> str | None:
        """System trace audit number (field 11)."""
        return self.fields.get("11")

    @property
    def response_code(self) -> str | None:
        """Response code (field 39)."""
        return self.fields.get("39")

    @property
    def is_response(self) -> bool:
        """True for answers (third MTI digit odd: 0210, 0810, …)."""
        return len(self.mti) == 4 and self.mti[2] in "13579"

    @property
    def request_mti(self) -> str:
        """The MTI of the request this message answers (itself for a request)."""
        if not self.is_response:
            return self.mti
        return f"{self.mti[:2]}{int(self.mti[2]) - 1}{self.mti[3]}"

    @property
    def response_mti(self) -> str:
        """The MTI of the answer to this request (itself for an answer)."""
        if self.is_response:
            return self.mti
        return f"{self.mti[:2]}{int(self.mti[2]) + 1}{self.mti[3]}"

    def part_60(self, name: str) -> str | None:
        """Return one part of field 60 (``"60.1"``, ``"60.3"`` …), or ``None``."""
        value = self.fields.get("60")
        return split_field_60(value).get(name) if value else None

    def with_fields(self, **changes: str | None) -> Message:
        """Return a copy with fields set (``f39="00"``) or removed (``f35=None``)."""
        fields = dict(self.fields)
        for key, value in changes.items():
            number = key.removeprefix("f")
            if value is None:
                fields.pop(number, None)
            else:
                fields[number] = value
        return replace(self, fields=fields)

    def __repr__(self) -> str:
        pan = self.fields.get("2")
        shown = f", pan={mask_pan(pan)!r}" if pan else ""
        numbers = sorted(int(k) for k in self.fields)
        return f"Message(mti={self.mti!r}, tid={self.tid!r}{shown}, fields={numbers})"
