"""Frame codec: 2-byte length, TPDU, header, BCD MTI, bitmap and fields, both ways.

Field encodings come from :mod:`posops.iso8583.spec`; the field walk is ``pyiso8583``'s.
Decoding is strict: anything that is not exactly one well-formed frame raises
:class:`~posops.iso8583.errors.FrameError` naming the part and the byte offset, and nothing
is returned half-read. Encoding a decoded message gives back the same bytes.

>>> from posops.iso8583.message import Message
>>> frame = encode_frame(Message("0800", {"11": "000001", "41": "10000001", "60": "00000001003"}))
>>> frame.hex().upper()
'002860000000006031003100010800002000000080001000000131303030303030310011000000010030'
>>> decode_frame(frame).fields["60"]
'00000001003'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import iso8583
from posops.iso8583.errors import FrameError, frame_reason
from posops.iso8583.message import Message
from posops.iso8583.spec import (
    FIELDS,
    HEADER_BYTES,
    LENGTH_BYTES,
    MIN_FRAME_BYTES,
    TPDU_BYTES,
    TPDU_ID,
    FieldSpec,
    pyiso8583_spec,
)

_MAX_BODY = 0xFFFF
_HEAD = LENGTH_BYTES + TPDU_BYTES + HEADER_BYTES  # offset of the MTI
_BITMAP_AT = _HEAD + 2
_TRACK_NIBBLES = frozenset("0123456789D")
_PARTS = {"h": "header", "t": "mti", "p": "bitmap", "1": "bitmap"}


def _bit(number: int) -> int:
    """The bit of field ``number`` (1..64) in a bitmap read as a big-endian integer."""
    return 1 << (64 - number)


class Codec:
    """Reads and writes frames for one field table (by default the CUP POS one)."""

    def __init__(self, fields: Mapping[int, FieldSpec] = FIELDS) -> None:
        self.fields = dict(fields)
        self.spec: dict[str, dict[str, Any]] = pyiso8583_spec(fields)
        """The ``pyiso8583`` spec of a frame after its length prefix (TPDU and header as field ``h``)."""
        self._body_spec = {**self.spec, "h": {**self.spec["h"], "max_len": 0}}
        self._numeric = frozenset(str(n) for n, s in fields.items() if s.content == "n")
        self._track = frozenset(str(n) for n, s in fields.items() if s.content == "z")
        self._has_secondary = any(n > 64 for n in fields)
        self._primary = sum(_bit(n) for n in fields if n <= 64) | (_bit(1) if self._has_secondary else 0)
        self._secondary = sum(_bit(n - 64) for n in fields if 64 < n <= 128)

    # -- decoding ---------------------------------------------------------------------

    def decode(self, frame: bytes | bytearray | memoryview) -> Message:
        """Decode one whole frame (length prefix included); raise :class:`FrameError` otherwise."""
        tpdu, header, mti, fields = self.decode_parts(frame)
        return Message(mti, fields, tpdu, header)

    def decode_parts(self, frame: bytes | bytearray | memoryview) -> tuple[str, str, str, dict[str, str]]:
        """Decode one whole frame into ``(tpdu, header, mti, fields)``; the fields dict is the caller's."""
        frame = bytes(frame)
        size = len(frame)
        if size < LENGTH_BYTES:
            raise FrameError("length", 0, frame_reason("length_short", size=size))
        declared = int.from_bytes(frame[:LENGTH_BYTES], "big")
        if declared != size - LENGTH_BYTES:
            raise FrameError("length", 0, frame_reason("length_mismatch", declared=declared,
                                                          follows=size - LENGTH_BYTES))
        if size < MIN_FRAME_BYTES:
            part = "tpdu" if size < LENGTH_BYTES + TPDU_BYTES else "header" if size < _HEAD else (
                "mti" if size < _BITMAP_AT else "bitmap")
            raise FrameError(part, size, frame_reason("frame_short", size=size, least=MIN_FRAME_BYTES))
        if frame[LENGTH_BYTES] != TPDU_ID:
            raise FrameError("tpdu", LENGTH_BYTES, frame_reason("tpdu_id", id=f"{frame[LENGTH_BYTES]:02X}"))
        self._check_bitmap(frame)
        try:
            # TPDU and header are split here; pyiso8583 reads from the MTI on.
            fields, enc = iso8583.decode(frame[_HEAD:], self._body_spec)
        except iso8583.DecodeError as exc:
            raise FrameError(_PARTS.get(exc.field, exc.field), exc.pos + _HEAD, exc.msg) from None
        mti = fields.pop("t")
        del fields["p"]
        fields.pop("1", None)
        if not mti.isdigit():
            raise FrameError("mti", _HEAD, frame_reason("mti_not_bcd"))
        numeric = self._numeric
        for key, value in fields.items():
            if key in numeric:
                if not value.isdigit() and value:
                    raise FrameError(key, self._field_offset(enc, key), frame_reason("numeric_not_bcd"))
            elif key in self._track and not _TRACK_NIBBLES.issuperset(value):
                raise FrameError(key, self._field_offset(enc, key), frame_reason("track_nibble"))
        head = frame[LENGTH_BYTES:_HEAD].hex().upper()
        return head[:2 * TPDU_BYTES], head[2 * TPDU_BYTES:], mti, fields

    def _check_bitmap(self, frame: bytes) -> None:
        primary = int.from_bytes(frame[_BITMAP_AT:_BITMAP_AT + 8], "big")
        unknown = primary & ~self._primary
        if unknown:
            raise FrameError(_first_field(unknown, 0), _BITMAP_AT, frame_reason("unknown_field"))
        if primary & _bit(1):
            at = _BITMAP_AT + 8
            if len(frame) < at + 8:
                raise FrameError("bitmap", len(frame), frame_reason("secondary_cut"))
            secondary = int.from_bytes(frame[at:at + 8], "big")
            if not secondary:
                raise FrameError("bitmap", at, frame_reason("secondary_empty"))
            unknown = secondary & ~self._secondary
            if unknown:
                raise FrameError(_first_field(unknown, 64), at, frame_reason("unknown_field"))

    def _field_offset(self, enc: Mapping[str, Mapping[str, bytes]], key: str) -> int:
        """Byte offset of a decoded field's data, recomputed from the encoded parts (error path)."""
        at = _BITMAP_AT + len(enc["p"]["data"]) + (len(enc["1"]["data"]) if "1" in enc else 0)
        for number in sorted(int(k) for k in enc if k.isdigit() and k != "1"):
            part = enc[str(number)]
            if str(number) == key:
                return at + len(part["len"])
            at += len(part["len"]) + len(part["data"])
        return at

    # -- encoding ---------------------------------------------------------------------

    def encode(self, message: Message) -> bytes:
        """Encode a message into a whole frame; raise :class:`FrameError` (offset ``None``) if invalid."""
        if len(message.mti) != 4 or not message.mti.isdigit():
            raise FrameError("mti", None, frame_reason("mti_digits"))
        head = message.tpdu + message.header
        if len(message.tpdu) != 2 * TPDU_BYTES or len(message.header) != 2 * HEADER_BYTES or not _is_hex(head):
            raise FrameError("header", None, frame_reason("header_hex"))
        if int(message.tpdu[:2], 16) != TPDU_ID:
            raise FrameError("tpdu", None, frame_reason("tpdu_60"))
        doc: dict[str, str] = {"t": message.mti}
        for key, value in message.fields.items():
            if not key.isdigit() or int(key) not in self.fields:
                raise FrameError(key, None, frame_reason("not_in_spec"))
            if key in self._numeric and value and not value.isdigit():
                raise FrameError(key, None, frame_reason("numeric_digits"))
            if key in self._track and not _TRACK_NIBBLES.issuperset(value):
                raise FrameError(key, None, frame_reason("track_digits"))
            doc[key] = value
        try:
            encoded, _ = iso8583.encode(doc, self._body_spec)
        except iso8583.EncodeError as exc:
            raise FrameError(_PARTS.get(exc.field, exc.field), None, exc.msg) from None
        body = bytes.fromhex(head) + encoded
        if len(body) > _MAX_BODY:
            raise FrameError("length", None, frame_reason("too_long", size=len(body)))
        return len(body).to_bytes(LENGTH_BYTES, "big") + bytes(body)


def _first_field(bits: int, offset: int) -> str:
    """Lowest field number among the set bits of a bitmap integer."""
    return str(offset + 65 - bits.bit_length())


def _is_hex(text: str) -> bool:
    try:
        bytes.fromhex(text)
    except ValueError:
        return False
    return True


def frame_from_hex(text: str) -> bytes:
    """Read a frame written as hex (spaces and line breaks allowed); raise :class:`FrameError`."""
    compact = "".join(text.split())
    if len(compact) % 2:
        raise FrameError("hex", len(compact) // 2, frame_reason("hex_odd"))
    try:
        return bytes.fromhex(compact)
    except ValueError:
        bad = next(i for i, ch in enumerate(compact) if ch not in "0123456789abcdefABCDEF")
        raise FrameError("hex", bad // 2, frame_reason("hex_digit")) from None


CUP_POS = Codec()


def decode_frame(frame: bytes | bytearray | memoryview) -> Message:
    """Decode one CUP POS frame (length prefix included) into a :class:`Message`."""
    return CUP_POS.decode(frame)


def encode_frame(message: Message) -> bytes:
    """Encode a :class:`Message` into one CUP POS frame, length prefix included."""
    return CUP_POS.encode(message)
