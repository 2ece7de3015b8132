"""The one error a malformed or unsupported ISO 8583 frame raises."""

from __future__ import annotations


class FrameError(ValueError):
    """A frame could not be read or written: names the part and the byte offset, never the data.

    ``part`` is a field number (``"2"``, ``"60"``) or a framing part (``"length"``, ``"tpdu"``,
    ``"header"``, ``"mti"``, ``"bitmap"``, ``"hex"``); ``offset`` counts bytes from the start of
    the frame (the first byte of the length prefix), ``None`` when not applicable (encoding).

    >>> str(FrameError("2", 23, "length prefix is not BCD"))
    'field 2 at byte 23: length prefix is not BCD'
    """

    def __init__(self, part: str, offset: int | None, reason: str) -> None:
        where = f"field {part}" if part.isdigit() else part
        if offset is not None:
            where += f" at byte {offset}"
        super().__init__(f"{where}: {reason}")
        self.part = part
        self.offset = offset
        self.reason = reason

    @property
    def field(self) -> int | None:
        """The field number when the error is inside a data field, else ``None``."""
        return int(self.part) if self.part.isdigit() else None

    def to_dict(self) -> dict[str, object]:
        """Return the error as JSON-ready data."""
        return {"part": self.part, "field": self.field, "offset": self.offset, "reason": self.reason,
                "message": str(self)}

    def __reduce__(self) -> tuple[type[FrameError], tuple[str, int | None, str]]:
        return (type(self), (self.part, self.offset, self.reason))
