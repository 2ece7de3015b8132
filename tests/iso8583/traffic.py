"""Traffic logs for the storage, API, page and diagnosis tests: recent times, fleet TIDs, a known card."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

from posops.core.db import utcnow
from posops.iso8583.codec import encode_frame
from posops.iso8583.logs import FrameRecord, format_log_line
from posops.iso8583.message import Message
from tests.iso8583.helpers import answer, purchase, reversal, sign_in

# The conftest fleet: merchant A owns TIDs 90000000-90000002, merchant B 90000003-90000004.
TID_A0 = "90000000"
"""Merchant A's first terminal: signs in, one approved purchase, then a purchase refused with A0."""
TID_TIMEOUT = "90000001"
"""Merchant A's second terminal: a purchase that never gets an answer, then its reversal."""
TID_B = "90000003"
"""Merchant B's first terminal: one purchase declined 51."""
TID_UNKNOWN = "12345678"
"""Not registered anywhere."""

PAN = "6222021234567890123"
TRACK_2 = f"{PAN}D29122010000"
PIN_BLOCK = "8F3A11C0DE55B2A7"
CARD_SECRETS = (PAN, PAN[6:-4], TRACK_2, PIN_BLOCK)
MASKED_PAN = "622202*********0123"

Step = tuple[float, str, Message]


def log_text(steps: Iterable[Step], start: datetime | None = None) -> str:
    """Log lines (unredacted, as a third-party tool would write them) for (seconds after start, direction, message)."""
    base = start or utcnow() - timedelta(hours=1)
    lines = [format_log_line(FrameRecord(base + timedelta(seconds=seconds), ">" if direction == ">" else "<",
                                         encode_frame(message)))
             for seconds, direction, message in sorted(steps, key=lambda step: step[0])]
    return "\n".join(lines) + "\n"


def fleet_steps(pan: str = "6250946000000016") -> list[Step]:
    """A morning of the test fleet: A0 on one terminal, a timeout and reversal on another, 51 on merchant B's."""
    signin = sign_in(TID_A0, "000001")
    paid = purchase(TID_A0, "000002", pan=pan)
    refused = purchase(TID_A0, "000003", pan=pan)
    lost = purchase(TID_TIMEOUT, "000010", pan=pan)
    declined = purchase(TID_B, "000020", pan=pan)
    stranger = purchase(TID_UNKNOWN, "000030", pan=pan)
    return [
        (0, ">", signin), (0.4, "<", answer(signin, "00")),
        (10, ">", paid), (10.8, "<", answer(paid, "00")),
        (20, ">", refused), (20.5, "<", answer(refused, "A0")),
        (30, ">", lost), (95, ">", reversal(lost)), (95.6, "<", answer(reversal(lost), "00")),
        (40, ">", declined), (40.7, "<", answer(declined, "51")),
        (50, ">", stranger), (50.3, "<", answer(stranger, "00")),
    ]


def card_steps() -> list[Step]:
    """The fleet's morning, every purchase with the known card's PAN, track 2 and PIN block."""
    steps = []
    for seconds, direction, message in fleet_steps(pan=PAN):
        if message.mti == "0200":
            message = message.with_fields(f35=TRACK_2, f52=PIN_BLOCK)
        steps.append((seconds, direction, message))
    return steps


def write_log(path: Path, steps: Iterable[Step], start: datetime | None = None) -> Path:
    """Write a log file and return its path."""
    path.write_text(log_text(steps, start), encoding="ascii")
    return path
