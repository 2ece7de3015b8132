"""Where frames and keys come from: a frame log or a pcap file, and a master-key list."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from posops.iso8583.logs import FrameRecord, LogLineError, read_log
from posops.iso8583.pcap import PcapError, PcapStats, capture_format, read_pcap


def read_frames(path: Path, *, port: int | None = None,
                stats: PcapStats | None = None) -> Iterator[FrameRecord | LogLineError]:
    """Stream the frames of a file: a pcap capture (by its magic number) or else a frame log."""
    kind = capture_format(path)
    if kind == "pcapng":
        raise PcapError("iso8583.error.pcapng")
    if kind == "pcap":
        return read_pcap(path, port=port, stats=stats)
    return read_log(path)


def parse_master_keys(text: str) -> dict[str, bytes]:
    """Read ``TID HEXKEY`` lines (``#`` comments allowed) into terminal id → master key (8/16/24 bytes)."""
    keys: dict[str, bytes] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.split("#", 1)[0].strip()
        if not content:
            continue
        parts = content.split()
        try:
            key = bytes.fromhex(parts[1]) if len(parts) == 2 else b""
        except ValueError:
            key = b""
        if len(key) not in (8, 16, 24):
            raise ValueError(f"line {number}: expected 'TID HEXKEY' with an 8, 16 or 24-byte key")
        keys[parts[0]] = key
    return keys
