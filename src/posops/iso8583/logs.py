"""The frame log: one frame a line, ``ISO-8601-time direction hex``, read as a stream.

Direction ``>`` is terminal → host, ``<`` host → terminal. Lines that are blank or start with
``#`` are skipped; a line that cannot be read is reported as a :class:`LogLineError` in the
stream (with its line number), never raised, so one bad line does not stop an analysis.

Logs posops writes are redacted (:func:`redact_frame`): the PAN keeps only its first six
and last four digits (the others become ``0``), track data, PIN block and sensitive chip
tags are zeroed. Lengths are kept, so a redacted frame still decodes; its MAC no longer
verifies, which an analysis does not need.

>>> rec = parse_log_line("2024-05-01T08:00:00+08:00 > 0003600000", 1)
>>> rec.direction, rec.frame.hex(), rec.timestamp
('>', '0003600000', 1714521600.0)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, TextIO

from posops.iso8583.codec import decode_frame, encode_frame
from posops.iso8583.errors import FrameError
from posops.iso8583.masking import blank_pan, blanked_chip_data
from posops.iso8583.spec import MIN_FRAME_BYTES

Direction = Literal[">", "<"]
TO_HOST: Direction = ">"
TO_TERMINAL: Direction = "<"


@dataclass(frozen=True, slots=True)
class FrameRecord:
    """One frame seen on the wire: when, which way, and its bytes (length prefix included)."""

    time: datetime
    direction: Direction
    frame: bytes = field(repr=False)
    line: int = 0
    """Line number in the log it came from (0 when not from a log)."""

    @property
    def timestamp(self) -> float:
        """Seconds since the epoch."""
        return self.time.timestamp()


@dataclass(frozen=True, slots=True)
class LogLineError:
    """A log line that could not be read: its number and why (never its content)."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class _BadLine(ValueError):
    pass


def _parse_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _BadLine("time is not ISO 8601") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def parse_log_line(line: str, number: int = 0) -> FrameRecord | None:
    """Read one log line; ``None`` for blank and comment lines. Raises ``ValueError`` if malformed."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    parts = text.split(None, 2)
    if len(parts) != 3:
        raise _BadLine("expected: time direction hex")
    when, direction, hex_text = parts
    if direction not in (TO_HOST, TO_TERMINAL):
        raise _BadLine("direction must be > or <")
    try:
        frame = bytes.fromhex(hex_text)
    except ValueError:
        raise _BadLine("frame is not hexadecimal") from None
    return FrameRecord(_parse_time(when), TO_HOST if direction == TO_HOST else TO_TERMINAL, frame, number)


def format_log_line(record: FrameRecord) -> str:
    """Write one log line (no newline); times keep millisecond precision."""
    return f"{record.time.isoformat(timespec='milliseconds')} {record.direction} {record.frame.hex().upper()}"


def iter_log(lines: Iterable[str]) -> Iterator[FrameRecord | LogLineError]:
    """Read log lines lazily, yielding records and, for unreadable lines, errors."""
    for number, line in enumerate(lines, start=1):
        try:
            record = parse_log_line(line, number)
        except ValueError as exc:
            yield LogLineError(number, str(exc))
            continue
        if record is not None:
            yield record


def read_log(path: Path) -> Iterator[FrameRecord | LogLineError]:
    """Stream a log file line by line (never loaded whole)."""
    with path.open("r", encoding="ascii", errors="replace") as handle:
        yield from iter_log(handle)


def redact_frame(frame: bytes) -> bytes:
    """Return the frame with card data blanked, lengths kept; an undecodable frame is zeroed after its MTI."""
    try:
        message = decode_frame(frame)
    except FrameError:
        keep = min(len(frame), MIN_FRAME_BYTES - 8)
        return frame[:keep] + bytes(len(frame) - keep)
    changes: dict[str, str] = {}
    for number in ("35", "36", "52"):
        value = message.get(number)
        if value is not None:
            changes[f"f{number}"] = "0" * len(value)
    pan = message.get(2)
    if pan is not None:
        changes["f2"] = blank_pan(pan)
    chip = message.get(55)
    if chip is not None:
        changes["f55"] = blanked_chip_data(chip)
    return encode_frame(message.with_fields(**changes)) if changes else frame


class FrameLog:
    """Appends frames to a log, redacted, one line each; a context manager."""

    def __init__(self, target: Path | TextIO, *, redact: bool = True) -> None:
        self._owned = isinstance(target, Path)
        self._out: TextIO = target.open("a", encoding="ascii") if isinstance(target, Path) else target
        self._redact = redact

    def write(self, direction: Direction, frame: bytes, time: datetime | None = None) -> None:
        """Log one frame now (or at ``time``)."""
        record = FrameRecord(time or datetime.now(UTC), direction, redact_frame(frame) if self._redact else frame)
        self._out.write(format_log_line(record) + "\n")

    def flush(self) -> None:
        """Push buffered lines to the file."""
        self._out.flush()

    def close(self) -> None:
        """Flush, and close the file if this log opened it."""
        self._out.flush()
        if self._owned:
            self._out.close()

    def __enter__(self) -> FrameLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

