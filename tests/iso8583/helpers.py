"""Shared test material: the published captures, message builders, a pcap writer, log lines."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from posops.iso8583.codec import encode_frame
from posops.iso8583.logs import FrameRecord, format_log_line
from posops.iso8583.message import Message

DATA = Path(__file__).parent / "data"
T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def captures() -> dict[str, bytes]:
    """The real frames published with the CUP POS notes, by name."""
    frames = {}
    for line in (DATA / "captures.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, hex_text = line.split()
            frames[name] = bytes.fromhex(hex_text)
    return frames


def expected() -> dict[str, dict[str, object]]:
    """What each capture decodes to, as published (PAN masked)."""
    return json.loads((DATA / "captures-expected.json").read_text())


def sign_in(tid: str, stan: str, network_code: str = "003") -> Message:
    return Message("0800", {"11": stan, "41": tid, "42": "898310048990001", "60": f"00000001{network_code}",
                            "63": "001"})


def answer(request: Message, code: str, **extra: str) -> Message:
    fields = {k: v for k, v in request.fields.items() if k in ("2", "3", "4", "11", "41", "42", "49", "60")}
    fields.update({"12": "080000", "13": "0501", "37": "000000000001", "39": code})
    fields.update({k.removeprefix("f"): v for k, v in extra.items()})
    return Message(request.response_mti, fields, "6000000000", request.header)


def purchase(tid: str, stan: str, pan: str = "6250946000000016", **extra: str) -> Message:
    fields = {"2": pan, "3": "000000", "4": "000000000100", "11": stan, "22": "021", "25": "00",
              "41": tid, "42": "898310048990001", "49": "156", "60": "2200000100050"}
    fields.update({k.removeprefix("f"): v for k, v in extra.items()})
    return Message("0200", fields)


def reversal(original: Message) -> Message:
    keep = ("2", "3", "4", "11", "22", "25", "41", "42", "49", "60")
    return Message("0400", {**{k: original.fields[k] for k in keep if k in original.fields}, "39": "98"})


def records(steps: Iterable[tuple[float, str, Message | bytes]]) -> list[FrameRecord]:
    """(seconds after T0, direction, message or raw frame) → log records."""
    out = []
    for seconds, direction, item in steps:
        frame = item if isinstance(item, bytes) else encode_frame(item)
        out.append(FrameRecord(T0 + timedelta(seconds=seconds), ">" if direction == ">" else "<", frame))
    return out


def log_lines(steps: Iterable[tuple[float, str, Message | bytes]]) -> list[str]:
    return [format_log_line(r) for r in records(steps)]


# -- pcap -------------------------------------------------------------------------------

def _ipv4_tcp(src: tuple[str, int], dst: tuple[str, int], seq: int, flags: int, payload: bytes) -> bytes:
    tcp = struct.pack(">HHIIBBHHH", src[1], dst[1], seq, 0, 5 << 4, flags, 65535, 0, 0) + payload
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0,
                     bytes(int(p) for p in src[0].split(".")), bytes(int(p) for p in dst[0].split(".")))
    return ip + tcp


def ethernet(packet: bytes) -> bytes:
    return b"\x02\x00\x00\x00\x00\x01" + b"\x02\x00\x00\x00\x00\x02" + b"\x08\x00" + packet


Segment = tuple[float, tuple[str, int], tuple[str, int], int, int, bytes]
"""(seconds, source, destination, sequence number, TCP flags, payload)."""

ACK, PSH, SYN, FIN = 0x10, 0x08, 0x02, 0x01


def write_pcap(path: Path, segments: Sequence[Segment], *, nanoseconds: bool = False) -> None:
    """Write an Ethernet pcap of the given TCP segments (little-endian header)."""
    magic = 0xA1B23C4D if nanoseconds else 0xA1B2C3D4
    out = bytearray(struct.pack("<IHHiIII", magic, 2, 4, 0, 0, 65535, 1))
    base = T0.timestamp()
    for seconds, src, dst, seq, flags, payload in segments:
        packet = ethernet(_ipv4_tcp(src, dst, seq, flags, payload))
        moment = base + seconds
        whole = int(moment)
        fraction = round((moment - whole) * (1e9 if nanoseconds else 1e6))
        out += struct.pack("<IIII", whole, fraction, len(packet), len(packet)) + packet
    path.write_bytes(bytes(out))
