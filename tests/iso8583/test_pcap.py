from __future__ import annotations

from pathlib import Path

import pytest

from posops.iso8583.analysis import analyze
from posops.iso8583.codec import encode_frame
from posops.iso8583.logs import FrameRecord
from posops.iso8583.pcap import PcapError, PcapStats, capture_format, read_pcap
from posops.iso8583.sources import read_frames
from tests.iso8583.helpers import ACK, FIN, PSH, SYN, T0, Segment, answer, purchase, sign_in, write_pcap

TERMINAL = ("10.0.0.2", 40001)
HOST = ("10.0.0.1", 5800)


def _exchange() -> list[bytes]:
    login = sign_in("10000001", "000001")
    buy = purchase("10000001", "000002")
    return [encode_frame(login), encode_frame(answer(login, "00")), encode_frame(buy),
            encode_frame(answer(buy, "A0"))]


def test_reassembles_split_reordered_and_retransmitted_segments(tmp_path: Path) -> None:
    login, login_ok, buy, buy_a0 = _exchange()
    t_seq, h_seq = 1000, 5000
    segments: list[Segment] = [
        (0.0, TERMINAL, HOST, t_seq, SYN, b""),
        (0.001, HOST, TERMINAL, h_seq, SYN | ACK, b""),
        (0.01, TERMINAL, HOST, t_seq + 1, PSH | ACK, login[:7]),
        (0.02, TERMINAL, HOST, t_seq + 1 + 7, PSH | ACK, login[7:]),
        (0.03, TERMINAL, HOST, t_seq + 1, PSH | ACK, login[:7]),  # retransmission
        (0.10, HOST, TERMINAL, h_seq + 1, PSH | ACK, login_ok),
        # purchase arrives in two segments, the second one first
        (0.20, TERMINAL, HOST, t_seq + 1 + len(login) + 20, PSH | ACK, buy[20:]),
        (0.21, TERMINAL, HOST, t_seq + 1 + len(login), PSH | ACK, buy[:20]),
        (0.30, HOST, TERMINAL, h_seq + 1 + len(login_ok), PSH | ACK, buy_a0),
        (0.40, TERMINAL, HOST, t_seq + 1 + len(login) + len(buy), FIN | ACK, b""),
    ]
    path = tmp_path / "cap.pcap"
    write_pcap(path, segments)
    stats = PcapStats()
    records = list(read_pcap(path, stats=stats))
    assert [r.frame for r in records] == [login, login_ok, buy, buy_a0]
    assert [r.direction for r in records] == [">", "<", ">", "<"]
    assert abs(records[1].timestamp - (T0.timestamp() + 0.10)) < 1e-6
    assert stats.packets == 10 and stats.gaps == 0


def test_capture_started_mid_stream_and_nanosecond_timestamps(tmp_path: Path) -> None:
    login, login_ok, *_ = _exchange()
    path = tmp_path / "ns.pcap"
    write_pcap(path, [(0.000000123, TERMINAL, HOST, 77, PSH | ACK, login),
                      (0.5, HOST, TERMINAL, 99, PSH | ACK, login_ok)], nanoseconds=True)
    records = list(read_pcap(path))
    assert [r.frame for r in records] == [login, login_ok]


def test_port_filter_and_analysis_from_a_capture(tmp_path: Path) -> None:
    login, login_ok, buy, buy_a0 = _exchange()
    other = ("10.0.0.9", 443)
    path = tmp_path / "cap.pcap"
    write_pcap(path, [(0.0, TERMINAL, HOST, 1, PSH | ACK, login + buy), (0.1, HOST, TERMINAL, 1, PSH | ACK, login_ok),
                      (0.2, HOST, TERMINAL, 1 + len(login_ok), PSH | ACK, buy_a0),
                      (0.3, ("10.0.0.3", 50000), other, 1, PSH | ACK, b"\x16\x03\x01 not iso 8583")])
    assert capture_format(path) == "pcap"
    only = list(read_pcap(path, port=5800))
    assert len(only) == 4
    report = analyze(read_frames(path, port=5800))
    terminal = report.terminal("10000001")
    assert terminal is not None and terminal.evidence["response_code"] == "A0"


def test_pcapng_and_garbage_are_refused(tmp_path: Path) -> None:
    ng = tmp_path / "x.pcapng"
    ng.write_bytes(b"\x0a\x0d\x0d\x0a" + bytes(40))
    with pytest.raises(PcapError, match="pcapng"):
        list(read_frames(ng))
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"hello world, this is not a capture")
    with pytest.raises(PcapError):
        list(read_pcap(junk))
    # a text file is read as a frame log
    log = tmp_path / "frames.log"
    log.write_text("2024-05-01T08:00:00Z > " + _exchange()[0].hex() + "\n")
    assert [type(r) for r in read_frames(log)] == [FrameRecord]
