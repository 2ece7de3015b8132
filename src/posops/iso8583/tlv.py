"""BER-TLV as used by EMV chip data (field 55) and IC parameter downloads (field 62).

>>> items = parse_tlv(bytes.fromhex("9F36020047"))
>>> [(i.tag, i.value.hex()) for i in items]
[('9F36', '0047')]
>>> build_tlv(items).hex().upper()
'9F36020047'
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class TlvError(ValueError):
    """BER-TLV data is malformed; ``offset`` is the byte where reading failed."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(f"TLV at byte {offset}: {reason}")
        self.offset = offset
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TlvItem:
    """One tag with its value; ``children`` is set for constructed tags (e.g. ``70``)."""

    tag: str
    value: bytes
    children: tuple[TlvItem, ...] | None = None

    @property
    def constructed(self) -> bool:
        """True when the tag's value is itself a TLV list."""
        return self.children is not None


def _read_header(data: bytes, start: int, end: int, base: int) -> tuple[str, int, int, int]:
    """Read the tag and length of the object at ``start``: (tag, end of tag, value offset, value length)."""
    at = start + 1
    if data[start] & 0x1F == 0x1F:
        while True:
            if at >= end:
                raise TlvError(base + start, "tag runs past the end")
            more = data[at] & 0x80
            at += 1
            if not more:
                break
    tag_end = at
    tag = data[start:tag_end].hex().upper()
    if at >= end:
        raise TlvError(base + start, f"tag {tag} has no length")
    length = data[at]
    at += 1
    if length & 0x80:
        width = length & 0x7F
        if width == 0 or width > 2 or at + width > end:
            raise TlvError(base + at - 1, f"tag {tag} has a bad length")
        length = int.from_bytes(data[at:at + width], "big")
        at += width
    if at + length > end:
        raise TlvError(base + at, f"tag {tag} value runs past the end")
    return tag, tag_end, at, length


def parse_tlv(data: bytes, base: int = 0) -> list[TlvItem]:
    """Parse a BER-TLV list; constructed tags are parsed recursively. Raises :class:`TlvError`."""
    items: list[TlvItem] = []
    at = 0
    end = len(data)
    while at < end:
        if data[at] in (0x00, 0xFF):  # padding between objects (EMV Book 3, annex B)
            at += 1
            continue
        first = data[at]
        tag, _, value_at, length = _read_header(data, at, end, base)
        value = data[value_at:value_at + length]
        children = tuple(parse_tlv(value, base + value_at)) if first & 0x20 else None
        items.append(TlvItem(tag, bytes(value), children))
        at = value_at + length
    return items


def _length_bytes(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    if length <= 0xFF:
        return bytes([0x81, length])
    return bytes([0x82]) + length.to_bytes(2, "big")


def build_tlv(items: Iterable[TlvItem]) -> bytes:
    """Serialise TLV items (the inverse of :func:`parse_tlv`, using minimal length forms)."""
    out = bytearray()
    for item in items:
        value = build_tlv(item.children) if item.children is not None else item.value
        out += bytes.fromhex(item.tag) + _length_bytes(len(value)) + value
    return bytes(out)


def rewrite_tags(data: bytes, tags: frozenset[str], *, blank: bool = False, base: int = 0) -> bytes:
    """Remove (or, with ``blank``, zero the values of) the given tags, inside templates too.

    One lean pass that builds no objects and returns ``data`` itself when none of the tags
    occurs — the common case for chip data. Raises :class:`TlvError` on malformed data.

    >>> rewrite_tags(bytes.fromhex("5A02123495010F"), frozenset({"5A"})).hex().upper()
    '95010F'
    >>> rewrite_tags(bytes.fromhex("5A021234"), frozenset({"5A"}), blank=True).hex().upper()
    '5A020000'
    """
    pieces: list[bytes] | None = None  # materialised at the first change
    at = 0
    end = len(data)
    while at < end:
        first = data[at]
        if first in (0x00, 0xFF):
            if pieces is not None:
                pieces.append(data[at:at + 1])
            at += 1
            continue
        start = at
        tag, tag_end, value_at, length = _read_header(data, start, end, base)
        at = value_at + length
        replacement: bytes | None = None
        if tag in tags:
            replacement = data[start:value_at] + bytes(length) if blank else b""
        elif first & 0x20:
            value = data[value_at:at]
            inner = rewrite_tags(value, tags, blank=blank, base=base + value_at)
            if inner is not value:
                replacement = data[start:tag_end] + _length_bytes(len(inner)) + inner
        if replacement is not None and pieces is None:
            pieces = [data[:start]]
        if pieces is not None:
            pieces.append(data[start:at] if replacement is None else replacement)
    return data if pieces is None else b"".join(pieces)
