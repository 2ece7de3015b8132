from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from posops.iso8583.codec import decode_frame, encode_frame
from posops.iso8583.logs import (
    FrameLog,
    FrameRecord,
    LogLineError,
    format_log_line,
    iter_log,
    parse_log_line,
    read_log,
    redact_frame,
)
from tests.iso8583.helpers import captures, purchase

PAN = "6222021234567890123"


def test_line_round_trip() -> None:
    record = FrameRecord(datetime(2024, 5, 1, 0, 0, 1, 250000, tzinfo=UTC), "<", captures()["signin_resp"])
    line = format_log_line(record)
    assert line.startswith("2024-05-01T00:00:01.250+00:00 < 0074")
    again = parse_log_line(line, 3)
    assert again is not None
    assert (again.time, again.direction, again.frame, again.line) == (record.time, "<", record.frame, 3)


def test_naive_times_are_utc_and_comments_are_skipped() -> None:
    record = parse_log_line("2024-05-01T08:00:00 > 00", 1)
    assert record is not None and record.time.tzinfo is UTC
    assert parse_log_line("# a comment", 2) is None
    assert parse_log_line("   ", 3) is None


@pytest.mark.parametrize(("line", "reason"), [
    ("2024-05-01T08:00:00Z", "expected"),
    ("yesterday > 0011", "ISO 8601"),
    ("2024-05-01T08:00:00Z = 0011", "direction"),
    ("2024-05-01T08:00:00Z > 00G1", "hexadecimal"),
])
def test_bad_lines_become_errors_in_the_stream(line: str, reason: str) -> None:
    items = list(iter_log(["", line, "2024-05-01T08:00:00Z > 0011"]))
    assert isinstance(items[0], LogLineError) and items[0].line == 2 and reason in items[0].reason
    assert isinstance(items[1], FrameRecord)


def test_redacted_frame_keeps_six_and_four_and_still_decodes() -> None:
    frame = encode_frame(purchase("10000001", "000001", pan=PAN, f35=f"{PAN}D2912201", f52="0123456789ABCDEF",
                                  f55="5A0A6222021234567890123F9F36020047"))
    redacted = redact_frame(frame)
    assert len(redacted) == len(frame)
    message = decode_frame(redacted)
    assert message.fields["2"] == "6222020000000000123"
    assert set(message.fields["35"]) == {"0"} and set(message.fields["52"]) == {"0"}
    assert message.fields["55"] == "5A0A00000000000000000000" + "9F36020047"
    assert PAN not in redacted.hex().upper()


def test_undecodable_frame_is_zeroed_after_its_mti() -> None:
    frame = encode_frame(purchase("10000001", "000001", pan=PAN))[:-3]
    redacted = redact_frame(frame)
    assert len(redacted) == len(frame) and redacted[:15] == frame[:15] and not any(redacted[15:])


def test_frame_log_writes_redacted_lines(tmp_path: Path) -> None:
    path = tmp_path / "t.log"
    frame = encode_frame(purchase("10000001", "000001", pan=PAN))
    with FrameLog(path) as log:
        log.write(">", frame)
    text = path.read_text()
    assert PAN not in text
    items = list(read_log(path))
    assert len(items) == 1 and isinstance(items[0], FrameRecord)
    buffer = io.StringIO()
    FrameLog(buffer, redact=False).write(">", frame)
    assert PAN in buffer.getvalue()  # only when asked: logs posops writes are redacted by default
