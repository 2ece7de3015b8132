from __future__ import annotations

import asyncio
import io
import random
from collections.abc import Callable

import pytest

from posops.iso8583.acquirer_sim import AcquirerHost, TerminalFaults, simulated_master_key
from posops.iso8583.analysis import AnalysisSettings, TrafficReport, analyze
from posops.iso8583.cli import run_terminals
from posops.iso8583.codec import decode_frame, encode_frame
from posops.iso8583.keys import split_working_keys, verify_working_keys
from posops.iso8583.logs import FrameLog, iter_log
from posops.iso8583.mac import sign_frame, verify_frame
from posops.iso8583.message import Message
from posops.iso8583.terminal_sim import TerminalRun, pin_block
from tests.iso8583.helpers import purchase, sign_in

TID = "10000001"


def _seeded(seed: int = 1) -> Callable[[int], bytes]:
    rng = random.Random(seed)
    return lambda n: bytes(rng.randrange(256) for _ in range(n))


def _signed_in(host: AcquirerHost, tid: str = TID) -> tuple[bytes, bytes]:
    reply = host.answer(encode_frame(sign_in(tid, "000001")))
    assert reply is not None
    keys = split_working_keys(decode_frame(reply).fields["62"])
    tmk = simulated_master_key(tid)
    pin, mac = keys.get("pin"), keys.get("mac")
    assert pin is not None and mac is not None
    return pin.decrypt(tmk), mac.decrypt(tmk)


def _purchase_frame(mac_key: bytes, pin_key: bytes | None = None, stan: str = "000002") -> bytes:
    extra = {"f52": pin_block("123456", "6250946000000016", pin_key)} if pin_key else {}
    return sign_frame(encode_frame(purchase(TID, stan, f64="00" * 8, **extra)), mac_key)


def test_sign_in_issues_keys_the_terminal_can_verify() -> None:
    host = AcquirerHost(random_bytes=_seeded())
    reply = host.answer(encode_frame(sign_in(TID, "000001")))
    assert reply is not None
    message = decode_frame(reply)
    assert (message.mti, message.response_code, message.stan) == ("0810", "00", "000001")
    assert message.tpdu == "6000000000" and message.part_60("60.3") == "003"
    keys = split_working_keys(message.fields["62"])
    assert verify_working_keys(keys, simulated_master_key(TID)).ok
    assert not verify_working_keys(keys, simulated_master_key(TID, "another seed")).ok


def test_purchase_is_approved_only_with_the_right_mac() -> None:
    host = AcquirerHost(random_bytes=_seeded())
    assert decode_frame(host.answer(_purchase_frame(bytes(16))) or b"").response_code == "A0"  # not signed in
    pin_key, mac_key = _signed_in(host)
    reply = host.answer(_purchase_frame(mac_key, pin_key))
    assert reply is not None
    answer = decode_frame(reply)
    assert answer.response_code == "00" and "38" in answer.fields
    assert verify_frame(reply, mac_key)
    assert decode_frame(host.answer(_purchase_frame(bytes(16), stan="000003")) or b"").response_code == "A0"
    wrong_pin_key = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
    assert decode_frame(host.answer(_purchase_frame(mac_key, wrong_pin_key)) or b"").response_code == "99"


@pytest.mark.parametrize(("faults", "sign_in_code", "purchase_code"), [
    (TerminalFaults(unregistered=True), "97", "97"),
    (TerminalFaults(outage="96"), "00", "96"),
    (TerminalFaults(outage="silent"), "00", None),
    (TerminalFaults(mac_out_of_sync=True), "00", "A0"),
])
def test_faults_per_terminal(faults: TerminalFaults, sign_in_code: str, purchase_code: str | None) -> None:
    host = AcquirerHost(faults={TID: faults})
    reply = host.answer(encode_frame(sign_in(TID, "000001")))
    assert reply is not None and decode_frame(reply).response_code == sign_in_code
    mac_key = _signed_in(host)[1] if sign_in_code == "00" else bytes(16)
    reply = host.answer(_purchase_frame(mac_key))
    assert (decode_frame(reply).response_code if reply else None) == purchase_code
    other = host.answer(encode_frame(sign_in("10000009", "000001")))
    assert other is not None and decode_frame(other).response_code == "00"  # other terminals unaffected


def test_host_ignores_garbage_and_answers() -> None:
    host = AcquirerHost()
    assert host.answer(b"\x00\x02\x60\x00") is None
    assert host.answer(encode_frame(Message("0810", {"41": TID, "39": "00"}))) is None
    assert host.counts["malformed"] == 1 and host.counts["unexpected_answer"] == 1


def _session(faults: dict[str, TerminalFaults], tids: list[str], count: int = 3,
             timeout: float = 0.2) -> tuple[list[TerminalRun], str]:
    async def main() -> tuple[list[TerminalRun], str]:
        host = AcquirerHost(faults=faults)
        server = await host.serve("127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        buffer = io.StringIO()
        try:
            runs = await run_terminals("127.0.0.1", port, tids, count, FrameLog(buffer), timeout=timeout)
        finally:
            server.close()
            await server.wait_closed()
        return runs, buffer.getvalue()

    return asyncio.run(main())


def _analyse(text: str, tids: list[str]) -> TrafficReport:
    keys = {tid: simulated_master_key(tid) for tid in tids}
    return analyze(iter_log(text.splitlines()), AnalysisSettings(timeout=0.2, storm_threshold=3), keys)


def test_end_to_end_faults_show_up_as_evidence() -> None:
    faults = {"10000002": TerminalFaults(unregistered=True), "10000003": TerminalFaults(mac_out_of_sync=True),
              "10000004": TerminalFaults(outage="96"), "10000005": TerminalFaults(outage="silent"),
              "10000006": TerminalFaults(master_key_mismatch=True)}
    tids = ["10000001", *faults]
    runs, text = _session(faults, tids)
    by_tid = {run.tid: run for run in runs}
    assert by_tid["10000001"].approved == 3 and by_tid["10000001"].settled == "00"
    assert by_tid["10000002"].sign_in == "97" and not by_tid["10000002"].signed_in
    assert by_tid["10000003"].declined == {"A0": 3}
    assert by_tid["10000005"].reversals == 3
    assert by_tid["10000006"].key_check == "master_key_missing"

    report = _analyse(text, tids)
    assert report.malformed == 0
    evidence = {t.tid: t.evidence for t in report.terminals}
    causes = {t.tid: t.causes for t in report.terminals}
    assert evidence["10000001"] == {"response_code": "none", "key_check": "ok"}
    assert evidence["10000002"] == {"response_code": "97"} and causes["10000002"][0] == "acct.not_registered"
    assert evidence["10000003"] == {"response_code": "A0", "key_check": "work_key_invalid"}
    assert evidence["10000004"] == {"response_code": "96", "key_check": "ok"}
    assert causes["10000004"] == ("ext.host_outage",)
    assert evidence["10000005"] == {"response_code": "timeout", "key_check": "ok"}
    assert evidence["10000006"] == {"response_code": "none", "key_check": "master_key_missing"}
    assert causes["10000006"][0] == "sw.master_key"
    silent = report.terminal("10000005")
    assert silent is not None and silent.reversals == 3 and silent.timeouts == 7
    a0 = report.terminal("10000003")
    assert a0 is not None and a0.storms and a0.storms[0].code == "A0"


def test_added_latency_beyond_the_terminal_timeout_means_timeouts() -> None:
    runs, text = _session({TID: TerminalFaults(latency=0.3)}, [TID], count=1, timeout=0.1)
    assert runs[0].sign_in == "timeout"
    t = _analyse(text, [TID]).terminal(TID)
    assert t is not None and t.evidence == {"response_code": "timeout"}


def test_terminal_reports_an_unreachable_host() -> None:
    async def main() -> TerminalRun:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        return (await run_terminals("127.0.0.1", port, [TID], 1, None, timeout=0.5))[0]

    run = asyncio.run(main())
    assert run.error is not None and "cannot reach" in run.error and run.sign_in is None
