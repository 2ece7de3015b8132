"""The one error a malformed or unsupported ISO 8583 frame raises, said in English and zh-CN."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from posops.core.i18n import catalog, translate
from posops.core.labels import Label, catalog_label, catalog_sentence

_PART_NAMES = frozenset({"length", "tpdu", "header", "mti", "bitmap", "hex"})


class FrameError(ValueError):
    """A frame could not be read or written: names the part and the byte offset, never the data.

    ``part`` is a field number (``"2"``, ``"60"``) or a framing part (``"length"``, ``"tpdu"``,
    ``"header"``, ``"mti"``, ``"bitmap"``, ``"hex"``); ``offset`` counts bytes from the start of
    the frame (the first byte of the length prefix), ``None`` when not applicable (encoding).
    ``reason`` is a catalogue reason (``frame_reason``), said in zh-CN too, or bare English words
    (pyiso8583's own), said generically in zh-CN. Only the English is built when the error is raised
    (a log may hold many broken frames); the zh-CN sentence waits until someone reads ``said``.

    >>> str(FrameError("2", 23, "length prefix is not BCD"))
    'field 2 at byte 23: length prefix is not BCD'
    >>> FrameError("tpdu", 2, frame_reason("tpdu_id", id="61")).said.zh
    'TPDU（第 2 字节）：TPDU 标识为 61，应为 60。'
    """

    def __init__(self, part: str, offset: int | None, reason: str | FrameReason) -> None:
        english = reason.english() if isinstance(reason, FrameReason) else reason
        where = f"field {part}" if part.isdigit() else part
        if offset is not None:
            where += f" at byte {offset}"
        super().__init__(f"{where}: {english}")
        self.part = part
        self.offset = offset
        self.reason = english
        self._reason = reason

    @property
    def field(self) -> int | None:
        """The field number when the error is inside a data field, else ``None``."""
        return int(self.part) if self.part.isdigit() else None

    @property
    def said(self) -> Label:
        """The error in both languages (the English exactly ``str(self)``), built only when someone reads it."""
        reason = self._reason.said() if isinstance(self._reason, FrameReason) else catalog_label(
            "iso8583.frame.unreadable")
        if self.part.isdigit():
            where = catalog_sentence("iso8583.frame.field", field=self.part)
        elif self.part in _PART_NAMES:
            where = catalog_label(f"iso8583.frame.part.{self.part}")
        else:
            where = Label(self.part, self.part)
        key = "iso8583.frame.at" if self.offset is not None else "iso8583.frame.in"
        zh = catalog_sentence(key, where=where, offset=self.offset, reason=reason).zh
        return Label(zh, str(self))

    def to_dict(self) -> dict[str, object]:
        """Return the error as JSON-ready data."""
        return {"part": self.part, "field": self.field, "offset": self.offset, "reason": self.reason,
                "message": str(self)}

    def __reduce__(self) -> tuple[type[FrameError], tuple[str, int | None, str | FrameReason]]:
        return (type(self), (self.part, self.offset, self._reason))


class FrameReason(NamedTuple):
    """Why a frame is refused: its code in the catalogue (``iso8583.frame.reason.<code>``) and the values it names."""

    code: str
    values: Mapping[str, object]

    def english(self) -> str:
        """The reason in English, as ``str`` of the error has always said it."""
        return translate(f"{REASON_PREFIX}{self.code}", "en", **self.values)

    def said(self) -> Label:
        """The reason in both languages."""
        return catalog_sentence(f"{REASON_PREFIX}{self.code}", **self.values)


REASON_PREFIX = "iso8583.frame.reason."


def frame_reason(code: str, **values: object) -> FrameReason:
    """The catalogue reason ``code`` for a FrameError; KeyError when the catalogue lacks it."""
    key = f"{REASON_PREFIX}{code}"
    if key not in catalog():
        raise KeyError(f"message {key!r} is missing from every messages.yaml")
    return FrameReason(code, values)
