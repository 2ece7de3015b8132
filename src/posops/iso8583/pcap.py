"""Frames from a libpcap capture: TCP reassembled per flow, cut by the 2-byte length prefix.

Standard library only. Reads classic pcap (micro- or nanosecond, either byte order) with
Ethernet (VLAN tags too), Linux cooked (v1, v2), BSD loopback or raw IP link layers, IPv4 and
IPv6. Each TCP direction is reassembled in sequence order (retransmissions dropped, a few
out-of-order segments held back); a gap that cannot be filled drops the partial frame.
Memory stays bounded: per flow at most one partial frame and a few held segments, and at
most :data:`MAX_FLOWS` flows at a time.

A frame's direction comes from its MTI: requests (0200, 0800, …) travel terminal → host.
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from posops.core.labels import catalog_sentence
from posops.iso8583.framing import FrameAssembler
from posops.iso8583.logs import TO_HOST, TO_TERMINAL, Direction, FrameRecord
from posops.iso8583.spec import HEADER_BYTES, LENGTH_BYTES, TPDU_BYTES

MAX_FLOWS = 4096
MAX_HELD_SEGMENTS = 64
_MTI_FUNCTION_AT = LENGTH_BYTES + TPDU_BYTES + HEADER_BYTES + 1  # second MTI byte: function digit
_PCAP_MAGIC = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6), b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9), b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
_PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
_ETHERNET, _NULL, _RAW, _RAW_ALT, _SLL, _SLL2, _IPV4, _IPV6 = 1, 0, 101, 12, 113, 276, 228, 229
_TCP = 6
_FIN, _SYN, _RST = 0x01, 0x02, 0x04
_SEQ_MOD = 1 << 32


class PcapError(ValueError):
    """The file is not a capture this reader understands: why, as the catalogue sentence ``key`` in both languages."""

    def __init__(self, key: str, **values: object) -> None:
        self.said = catalog_sentence(key, **values)
        super().__init__(self.said.en)


def capture_format(path: Path) -> str | None:
    """Return ``"pcap"`` or ``"pcapng"`` from the file's magic number, else ``None``."""
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic in _PCAP_MAGIC:
        return "pcap"
    if magic == _PCAPNG_MAGIC:
        return "pcapng"
    return None


@dataclass(slots=True)
class PcapStats:
    """What the reader saw besides frames: packets, TCP segments, gaps, flows evicted."""

    packets: int = 0
    segments: int = 0
    gaps: int = 0
    evicted_flows: int = 0

    def to_dict(self) -> dict[str, int]:
        """Return the counters."""
        return {"packets": self.packets, "segments": self.segments, "gaps": self.gaps,
                "evicted_flows": self.evicted_flows}


@dataclass(slots=True)
class _Flow:
    next_seq: int | None = None
    held: dict[int, bytes] = field(default_factory=dict)
    assembler: FrameAssembler = field(default_factory=FrameAssembler)


def _direction(frame: bytes) -> Direction:
    if len(frame) > _MTI_FUNCTION_AT and (frame[_MTI_FUNCTION_AT] >> 4) % 2:
        return TO_TERMINAL
    return TO_HOST


def _ip_payload(link: int, packet: bytes) -> bytes | None:
    """Strip the link layer; return the IP packet or ``None`` when it is not IP."""
    if link == _ETHERNET:
        at, ethertype = 14, packet[12:14]
        while ethertype in (b"\x81\x00", b"\x88\xa8") and len(packet) >= at + 4:
            ethertype, at = packet[at + 2:at + 4], at + 4
        return packet[at:] if ethertype in (b"\x08\x00", b"\x86\xdd") else None
    if link == _SLL:
        return packet[16:] if packet[14:16] in (b"\x08\x00", b"\x86\xdd") else None
    if link == _SLL2:
        return packet[20:] if packet[0:2] in (b"\x08\x00", b"\x86\xdd") else None
    if link == _NULL:
        return packet[4:]
    if link in (_RAW, _RAW_ALT, _IPV4, _IPV6):
        return packet
    raise PcapError("iso8583.error.link_type", link=link)


def _tcp_segment(ip: bytes) -> tuple[tuple[bytes, int, bytes, int], int, int, bytes, int] | None:
    """Return (flow key, seq, flags, payload, payload bytes on the wire) of a TCP segment, or ``None``."""
    if len(ip) < 20:
        return None
    version = ip[0] >> 4
    if version == 4:
        header = (ip[0] & 0x0F) * 4
        total = int.from_bytes(ip[2:4], "big")
        if ip[9] != _TCP or int.from_bytes(ip[6:8], "big") & 0x3FFF:  # not TCP, or a fragment
            return None
        src, dst, end = ip[12:16], ip[16:20], total
    elif version == 6 and len(ip) >= 40:
        if ip[6] != _TCP:
            return None
        header, end = 40, 40 + int.from_bytes(ip[4:6], "big")
        src, dst = ip[8:24], ip[24:40]
    else:
        return None
    tcp = ip[header:end]
    if len(tcp) < 20:
        return None
    sport, dport, seq = struct.unpack_from(">HHI", tcp)
    offset = (tcp[12] >> 4) * 4
    wire = end - header - offset
    return (src, sport, dst, dport), seq, tcp[13], tcp[offset:], wire


def _records(handle: BinaryIO, endian: str, unit: float) -> Iterator[tuple[float, bytes]]:
    record = struct.Struct(endian + "IIII")
    while True:
        head = handle.read(record.size)
        if len(head) < record.size:
            return
        seconds, fraction, captured, _ = record.unpack(head)
        data = handle.read(captured)
        if len(data) < captured:
            return
        yield seconds + fraction * unit, data


class _Reassembler:
    """Per-direction TCP reassembly into frames, with bounded state."""

    def __init__(self, stats: PcapStats) -> None:
        self.flows: OrderedDict[tuple[bytes, int, bytes, int], _Flow] = OrderedDict()
        self.stats = stats

    def segment(self, key: tuple[bytes, int, bytes, int], seq: int, flags: int, payload: bytes,
                wire: int) -> list[bytes]:
        flow = self.flows.get(key)
        if flow is None:
            if len(self.flows) >= MAX_FLOWS:
                self.flows.popitem(last=False)
                self.stats.evicted_flows += 1
            flow = self.flows[key] = _Flow()
        else:
            self.flows.move_to_end(key)
        frames: list[bytes] = []
        if flags & _SYN:
            flow.next_seq = (seq + 1) % _SEQ_MOD
            flow.held.clear()
            flow.assembler.reset()
        elif wire > 0:
            if len(payload) < wire:  # cut short by the capture's snap length: a gap
                self._gap(flow, (seq + wire) % _SEQ_MOD)
            else:
                frames = self._data(flow, seq, payload)
        if flags & (_FIN | _RST):
            del self.flows[key]
        return frames

    def _gap(self, flow: _Flow, resume_at: int) -> None:
        self.stats.gaps += 1
        flow.assembler.reset()
        flow.next_seq = resume_at

    def _data(self, flow: _Flow, seq: int, payload: bytes) -> list[bytes]:
        expected = seq if flow.next_seq is None else flow.next_seq  # None: the capture began mid-stream
        flow.next_seq = expected
        ahead = (seq - expected) % _SEQ_MOD
        if ahead and ahead < _SEQ_MOD // 2:  # later data: hold it until the gap fills
            flow.held[seq] = payload
            if len(flow.held) > MAX_HELD_SEGMENTS:
                self._gap(flow, min(flow.held, key=lambda s: (s - expected) % _SEQ_MOD))
                return self._drain(flow)
            return []
        behind = (expected - seq) % _SEQ_MOD
        if behind >= len(payload):  # retransmission of bytes already read
            return []
        return self._accept(flow, payload[behind:]) + self._drain(flow)

    def _accept(self, flow: _Flow, data: bytes) -> list[bytes]:
        flow.next_seq = ((flow.next_seq or 0) + len(data)) % _SEQ_MOD
        return flow.assembler.feed(data)

    def _drain(self, flow: _Flow) -> list[bytes]:
        frames: list[bytes] = []
        while flow.next_seq in flow.held:
            frames += self._accept(flow, flow.held.pop(flow.next_seq))
        return frames


def read_pcap(path: Path, *, port: int | None = None, stats: PcapStats | None = None) -> Iterator[FrameRecord]:
    """Stream the frames of a pcap file in capture order; ``port`` keeps only TCP flows on that port."""
    stats = stats if stats is not None else PcapStats()
    with path.open("rb") as handle:
        head = handle.read(24)
        if head[:4] == _PCAPNG_MAGIC:
            raise PcapError("iso8583.error.pcapng")
        if len(head) < 24 or head[:4] not in _PCAP_MAGIC:
            raise PcapError("iso8583.error.not_pcap")
        endian, unit = _PCAP_MAGIC[head[:4]]
        link = struct.unpack_from(endian + "I", head, 20)[0] & 0x0FFFFFFF
        reassembler = _Reassembler(stats)
        for moment, packet in _records(handle, endian, unit):
            stats.packets += 1
            ip = _ip_payload(link, packet)
            segment = _tcp_segment(ip) if ip is not None else None
            if segment is None:
                continue
            key, seq, flags, payload, wire = segment
            if port is not None and port not in (key[1], key[3]):
                continue
            stats.segments += 1
            when = datetime.fromtimestamp(moment, UTC)
            for frame in reassembler.segment(key, seq, flags, payload, wire):
                yield FrameRecord(when, _direction(frame), frame)
