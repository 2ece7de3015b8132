"""TCP framing: cut a byte stream into frames by their 2-byte big-endian length prefix.

:class:`FrameAssembler` is the incremental, I/O-free cutter (used for pcap reassembly);
:func:`read_frame` and :func:`write_frame` do the same on asyncio streams.

>>> assembler = FrameAssembler()
>>> assembler.feed(b"\\x00\\x03ab")
[]
>>> assembler.feed(b"c\\x00\\x01z")
[b'\\x00\\x03abc', b'\\x00\\x01z']
"""

from __future__ import annotations

import asyncio

from posops.iso8583.spec import LENGTH_BYTES


class FrameAssembler:
    """Accumulates stream bytes and returns each whole frame (length prefix included) once complete."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    @property
    def pending(self) -> int:
        """Bytes held that do not yet make a whole frame."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[bytes]:
        """Add stream bytes; return the frames they complete, in order."""
        self._buffer += data
        frames: list[bytes] = []
        while len(self._buffer) >= LENGTH_BYTES:
            size = LENGTH_BYTES + int.from_bytes(self._buffer[:LENGTH_BYTES], "big")
            if len(self._buffer) < size:
                break
            frames.append(bytes(self._buffer[:size]))
            del self._buffer[:size]
        return frames

    def reset(self) -> None:
        """Drop any partial frame (after a gap in the stream)."""
        self._buffer.clear()


async def read_frame(reader: asyncio.StreamReader) -> bytes | None:
    """Read one frame, length prefix included; ``None`` on a clean end of stream before a frame."""
    try:
        prefix = await reader.readexactly(LENGTH_BYTES)
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise
        return None
    body = await reader.readexactly(int.from_bytes(prefix, "big"))
    return prefix + body


async def write_frame(writer: asyncio.StreamWriter, frame: bytes) -> None:
    """Write one whole frame and wait until the transport takes it."""
    writer.write(frame)
    await writer.drain()
