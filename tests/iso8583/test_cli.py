from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import typer
from typer.testing import CliRunner

from posops.iso8583.cli import iso8583_app, logs_app, parse_faults, sim_host, sim_terminal
from posops.iso8583.codec import encode_frame
from tests.iso8583.helpers import answer, captures, log_lines, purchase, sign_in

runner = CliRunner()
CAPTURES = captures()


def _sim_app() -> typer.Typer:
    app = typer.Typer()
    app.command("host")(sim_host)
    app.command("terminal")(sim_terminal)
    return app


def test_decode_prints_masked_json() -> None:
    result = runner.invoke(iso8583_app, ["decode", CAPTURES["purchase_resp"].hex()])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["name"]["id"] == "purchase"
    assert data["fields"]["2_masked"] == "621226*********5573"
    assert "6212260200024125573" not in result.stdout


def test_decode_reads_stdin_and_verifies_keys_with_a_master_key() -> None:
    result = runner.invoke(iso8583_app, ["decode", "-", "--master-key", "00" * 16],
                           input=CAPTURES["signin_resp"].hex())
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["key_verification"]["ok"] is False
    assert data["evidence"]["key_check"] == "master_key_missing"


def test_decode_bad_input_exits_2_with_a_clear_message() -> None:
    result = runner.invoke(iso8583_app, ["decode", CAPTURES["signin_req"][:-4].hex()])
    assert result.exit_code == 2
    assert "length" in result.stderr and "byte 0" in result.stderr
    assert result.stdout == ""
    bad_hex = runner.invoke(iso8583_app, ["decode", "00zz"])
    assert bad_hex.exit_code == 2 and "hex" in bad_hex.stderr
    bad_key = runner.invoke(iso8583_app, ["decode", CAPTURES["signin_req"].hex(), "--master-key", "abc"])
    assert bad_key.exit_code == 2 and "--master-key" in bad_key.stderr


def _sample_log(tmp_path: Path) -> Path:
    steps = []
    for i in range(6):
        buy = purchase("10000003", f"{i + 2:06d}")
        steps += [(10 + i, ">", buy), (10.2 + i, "<", answer(buy, "A0"))]
    login = sign_in("10000003", "000001")
    path = tmp_path / "frames.log"
    path.write_text("\n".join(log_lines([(0, ">", login), (0.3, "<", answer(login, "00")), *steps])) + "\n")
    return path


def test_logs_analyze_json(tmp_path: Path) -> None:
    result = runner.invoke(logs_app, ["analyze", str(_sample_log(tmp_path)), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    terminal = data["terminals"][0]
    assert terminal["evidence"] == {"response_code": "A0", "key_check": "work_key_invalid"}
    assert terminal["failures"] == {"A0": 6}
    assert terminal["storms"][0]["count"] == 6


def test_logs_analyze_table(tmp_path: Path) -> None:
    result = runner.invoke(logs_app, ["analyze", str(_sample_log(tmp_path)), "--storm-threshold", "3"])
    assert result.exit_code == 0, result.output
    assert "10000003" in result.stdout and "A0×6" in result.stdout
    assert "work_key_invalid" in result.stdout.replace("\n", "").replace("│", "").replace(" ", "")
    assert "MAC校验错" in result.stdout


def test_logs_analyze_refuses_a_bad_master_key_file(tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text("10000003 nothex\n")
    result = runner.invoke(logs_app, ["analyze", str(_sample_log(tmp_path)), "--master-keys", str(keys)])
    assert result.exit_code == 2 and "line 1" in result.stderr


def test_fault_specs() -> None:
    faults, default = parse_faults(["10000002:unregistered", "10000003:mac-out-of-sync", "10000004:outage=silent",
                                    "10000005:outage", "*:latency=0.5", "10000006:master_key_mismatch"])
    assert faults["10000002"].unregistered and faults["10000002"].latency == 0.5
    assert faults["10000003"].mac_out_of_sync
    assert faults["10000004"].outage == "silent" and faults["10000005"].outage == "96"
    assert faults["10000006"].master_key_mismatch and default.latency == 0.5
    result = runner.invoke(_sim_app(), ["host", "--fault", "10000002:explode", "--port", "0"])
    assert result.exit_code == 2 and "explode" in result.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(port: int) -> None:
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                return
        except OSError:
            time.sleep(0.02)
    raise AssertionError("host did not start")


def test_sim_host_and_terminal_commands_produce_an_analysable_log(tmp_path: Path) -> None:
    port = _free_port()
    host = threading.Thread(target=sim_host, kwargs={"port": port, "host": "127.0.0.1",
                                                     "fault": ["10000002:unregistered"], "duration": 2.0})
    host.start()
    try:
        _wait_for(port)
        log = tmp_path / "sim.log"
        result = runner.invoke(_sim_app(), ["terminal", "--port", str(port), "--tid", "10000001", "--terminals", "2",
                                            "--count", "2", "--log", str(log), "--timeout", "2", "--mcc", "5411",
                                            "--amount", "25000"])
        assert result.exit_code == 0, result.output
        runs = [json.loads(line) for line in result.stdout.splitlines()]
        assert [(r["tid"], r["sign_in"], r["approved"]) for r in runs] == [("10000001", "00", 2),
                                                                          ("10000002", "97", 0)]
        analysed = runner.invoke(logs_app, ["analyze", str(log), "--json"])
        terminals = {t["tid"]: t for t in json.loads(analysed.stdout)["terminals"]}
        assert {tid: t["evidence"] for tid, t in terminals.items()} == {
            "10000001": {"response_code": "none"}, "10000002": {"response_code": "97"}}
        approved = terminals["10000001"]
        unknown = approved["purchases"]["unknown"]  # the test card's BIN is not in the table
        assert approved["mccs"] == {"5411": 2} and (unknown["count"], unknown["amount_fen"]) == (2, 50_000)
    finally:
        host.join()


def test_sim_terminal_validates_ids() -> None:
    result = runner.invoke(_sim_app(), ["terminal", "--tid", "123"])
    assert result.exit_code == 2 and "--tid" in result.stderr
    result = runner.invoke(_sim_app(), ["terminal", "--mcc", "54A1"])
    assert result.exit_code == 2 and "--mcc" in result.stderr


def test_encoded_frames_in_cli_are_whole_frames() -> None:
    frame = encode_frame(sign_in("10000001", "000001"))
    spaced = " ".join(f"{byte:02x}" for byte in frame)
    result = runner.invoke(iso8583_app, ["decode", spaced])
    assert result.exit_code == 0 and json.loads(result.stdout)["name"]["id"] == "sign_in"
