"""A known card goes through every path of the decoder and the tools; its number, track and PIN never come out."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from posops.iso8583.acquirer_sim import AcquirerHost
from posops.iso8583.analysis import analyze
from posops.iso8583.cli import iso8583_app, logs_app, print_report, run_terminals
from posops.iso8583.codec import decode_frame, encode_frame
from posops.iso8583.errors import FrameError
from posops.iso8583.logs import FrameLog, iter_log
from posops.iso8583.safe import decode_safe
from posops.iso8583.terminal_sim import SimulatedTerminal
from tests.iso8583.helpers import answer, log_lines, purchase

PAN = "6222021234567890123"
TRACK_2 = f"{PAN}D29122010000"
PIN_BLOCK = "8F3A11C0DE55B2A7"
CHIP = f"5A0A{PAN}F" + "9F360200475710" + TRACK_2 + "0"  # 5A (PAN) and 57 (track 2 equivalent)
FORBIDDEN = (PAN, PAN[6:-4], TRACK_2, PIN_BLOCK)
runner = CliRunner()


def _card_frame() -> bytes:
    return encode_frame(purchase("10000001", "000001", pan=PAN, f35=TRACK_2, f52=PIN_BLOCK, f55=CHIP))


def _clean(text: str, where: str) -> None:
    for secret in FORBIDDEN:
        assert secret not in text and secret.lower() not in text, f"{where} shows {secret[:6]}…"


def test_the_test_frame_really_carries_the_card() -> None:
    message = decode_frame(_card_frame())
    assert message.fields["2"] == PAN and message.fields["35"] == TRACK_2 and message.fields["52"] == PIN_BLOCK
    assert PAN in _card_frame().hex().upper()
    assert decode_safe(_card_frame()).fields["55"] == "9F36020047"  # chip data parsed, 5A and 57 dropped


def test_decoder_safe_view_and_reprs() -> None:
    safe = decode_safe(_card_frame())
    _clean(json.dumps(safe.to_dict(), ensure_ascii=False), "safe view JSON")
    _clean(repr(safe), "safe view repr")
    _clean(repr(decode_frame(_card_frame())), "message repr")
    _clean(repr(SimulatedTerminal("10000001", pan=PAN)), "terminal repr")


def test_decode_command_output_and_errors() -> None:
    result = runner.invoke(iso8583_app, ["decode", _card_frame().hex()])
    assert result.exit_code == 0
    _clean(result.stdout + result.stderr, "decode output")
    assert "622202*********0123" in result.stdout
    for broken in (_card_frame()[:-2], bytes([0, len(_card_frame()) - 2]) + _card_frame()[2:-1] + b"\xff"):
        failed = runner.invoke(iso8583_app, ["decode", broken.hex()])
        assert failed.exit_code == 2
        _clean(failed.stdout + failed.stderr, "decode error")


@pytest.mark.parametrize("cut", range(24, 120, 7))
def test_frame_error_messages(cut: int) -> None:
    frame = bytearray(_card_frame())
    frame[cut] ^= 0xA5
    try:
        decode_frame(bytes(frame))
    except FrameError as exc:
        _clean(str(exc) + repr(exc) + json.dumps(exc.to_dict()) + exc.said.zh, "frame error")


def test_log_analysis_of_an_unredacted_log(tmp_path: Path) -> None:
    buy = purchase("10000001", "000001", pan=PAN, f35=TRACK_2, f52=PIN_BLOCK, f55=CHIP)
    path = tmp_path / "foreign.log"
    path.write_text("\n".join(log_lines([(0, ">", buy), (1, "<", answer(buy, "05")),
                                         (2, ">", _card_frame()[:-3])])) + "\n")
    assert PAN in path.read_text()  # a log from elsewhere may hold full card data
    as_json = runner.invoke(logs_app, ["analyze", str(path), "--json"])
    as_table = runner.invoke(logs_app, ["analyze", str(path)])
    assert as_json.exit_code == 0 and as_table.exit_code == 0
    assert json.loads(as_json.stdout)["malformed"] == 1
    _clean(as_json.stdout + as_json.stderr, "analysis JSON")
    _clean(as_table.stdout + as_table.stderr, "analysis table")


def test_simulators_logs_and_frame_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def main() -> tuple[str, str]:
        host = AcquirerHost()
        server = await host.serve("127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        buffer = io.StringIO()
        runs = await run_terminals("127.0.0.1", port, ["10000001"], 2, FrameLog(buffer), pan=PAN, timeout=2)
        server.close()
        await server.wait_closed()
        return buffer.getvalue(), json.dumps([r.to_dict() for r in runs])

    frame_log, runs = asyncio.run(main())
    assert frame_log.count("\n") == 8  # sign-in, 2 purchases, settlement: requests and answers
    _clean(frame_log, "frame log")
    _clean(runs, "terminal runs")
    _clean(caplog.text, "simulator logging")
    assert "622202*********0123" in caplog.text  # the simulators do log the card, masked
    report = analyze(iter_log(frame_log.splitlines()))
    console = Console(file=io.StringIO(), width=200)
    print_report(report, console)
    _clean(console.file.getvalue(), "report table")  # type: ignore[attr-defined]
    _clean(json.dumps(report.to_dict()), "report JSON")
