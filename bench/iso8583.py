"""ISO 8583 figures: decode speed against bare pyiso8583, streaming log analysis, simulator sign-ins.

* ``decode`` — frames per second through posops (length prefix, TPDU and header, decoding,
  bitmap and BCD checks, masking, naming, response-code meaning:
  :func:`posops.iso8583.safe.decode_safe`) against bare ``iso8583.decode(frame[2:], spec)``
  with the CUP POS spec (TPDU and header read as its field ``h``) on the same frames, in the
  same run; goal ratio ≥ 0.7.
* ``analysis`` — a generated log of ``--frames`` frames (default 1,000,000) streamed from a
  temp file through :func:`posops.iso8583.analysis.analyze`, each size in a fresh process so
  that its peak RSS growth (``ru_maxrss`` after − before) is its own; a tenth-size run shows
  that memory does not grow with the file.
* ``simulator`` — sign-ins per second answered by the simulated acquirer host (its own
  process) to ``--clients`` concurrent terminals on loopback.

    .venv/bin/python bench/iso8583.py
    .venv/bin/python bench/iso8583.py --frames 200000 --terminals 500 --clients 50

Prints one JSON object.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the pyiso8583 package: keep its folder off the import path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from typing import Any  # noqa: E402

from posops.iso8583.acquirer_sim import AcquirerHost  # noqa: E402
from posops.iso8583.analysis import analyze  # noqa: E402
from posops.iso8583.codec import CUP_POS, decode_frame, encode_frame  # noqa: E402
from posops.iso8583.framing import read_frame  # noqa: E402
from posops.iso8583.message import Message  # noqa: E402
from posops.iso8583.safe import decode_safe  # noqa: E402
from posops.iso8583.sources import read_frames  # noqa: E402

pyiso8583: Any = importlib.import_module("iso8583")  # by name: this very file is called iso8583.py

CAPTURES = _HERE.parent / "tests" / "iso8583" / "data" / "captures.txt"
PAN = "6250946000000016"
MID = "898310048990001"


# -- decode -------------------------------------------------------------------------------

def bench_frames() -> list[bytes]:
    """The published captures plus a card-present purchase and its answer (PAN, track 2, PIN, chip)."""
    frames = [bytes.fromhex(line.split()[1]) for line in CAPTURES.read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    request = Message("0200", {
        "2": PAN, "3": "000000", "4": "000000012300", "11": "000321", "14": "2912", "22": "051", "23": "001",
        "25": "00", "26": "06", "35": f"{PAN}D29122010000000000", "41": "10000001", "42": MID, "49": "156",
        "52": "8F3A11C0DE55B2A7", "53": "2600000000000000",
        "55": "9F2608A1B2C3D4E5F607089F2701809F101307010103A0A000010A0100000000007C0B5A3F9F3704"
              "1A2B3C4D9F36020047950500000000009A032405019C01009F02060000000123005F2A02015682027C00"
              "5A08" + PAN + "9F1A0201569F03060000000000009F330360F8C89F34034203009F3501229F1E0831323334"
              "35363738",
        "60": "22000001000501", "64": "0102030405060708"})
    answer = Message("0210", {**{k: request.fields[k] for k in ("2", "3", "4", "11", "14", "22", "23", "25", "41",
                                                                  "42", "49", "60")},
                              "12": "101010", "13": "0501", "15": "0501", "32": "48031000", "37": "101010000321",
                              "38": "123456", "39": "00", "44": "01020000   48031000   ", "55": "910A0102030405060708"
                              "0000", "63": "CUP", "64": "0102030405060708"}, "6000000000")
    return [*frames, encode_frame(request), encode_frame(answer)]


def _best_rate(run: Callable[[], None], frames: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return frames / best


def bench_decode(rounds: int, repeats: int = 5) -> dict[str, Any]:
    """Frames per second: posops' safe decode against bare iso8583.decode, same frames, same spec."""
    frames = bench_frames()
    spec = CUP_POS.spec
    bodies = [f[2:] for f in frames]

    def bare() -> None:
        for _ in range(rounds):
            for body in bodies:
                pyiso8583.decode(body, spec)

    def posops() -> None:
        for _ in range(rounds):
            for frame in frames:
                decode_safe(frame)

    total = rounds * len(frames)
    bare_rate = _best_rate(bare, total, repeats)
    posops_rate = _best_rate(posops, total, repeats)
    return {"distinct_frames": len(frames), "frames_per_run": total, "repeats": repeats,
            "bare_iso8583_per_s": round(bare_rate), "posops_per_s": round(posops_rate),
            "ratio": round(posops_rate / bare_rate, 3), "goal": 0.7}


# -- analysis ------------------------------------------------------------------------------

class _Template:
    """An encoded frame whose terminal id and trace number are patched in place."""

    def __init__(self, message: Message) -> None:
        self.frame = bytearray(encode_frame(message))
        self.tid_at = self.frame.index(b"QQQQQQQQ")
        self.stan_at = self.frame.index(bytes.fromhex("987654"))

    def render(self, tid: bytes, stan: int) -> str:
        self.frame[self.tid_at:self.tid_at + 8] = tid
        self.frame[self.stan_at:self.stan_at + 3] = bytes.fromhex(f"{stan:06d}")
        return self.frame.hex().upper()


def _templates() -> dict[str, _Template]:
    base = {"11": "987654", "41": "QQQQQQQQ", "42": MID}
    sign_in = Message("0800", {**base, "60": "00000001003", "63": "001"})
    buy = Message("0200", {**base, "2": PAN, "3": "000000", "4": "000000012300", "22": "021", "25": "00",
                           "49": "156", "60": "2200000100050", "64": "0102030405060708"})
    back = Message("0400", {**{k: buy.fields[k] for k in ("2", "3", "4", "11", "22", "25", "41", "42", "49", "60")},
                            "39": "98", "64": "0102030405060708"})
    out = {"sign_in": _Template(sign_in), "purchase": _Template(buy), "reversal": _Template(back)}
    for code in ("00", "05", "51", "55", "96", "A0"):
        extra = {"12": "101010", "13": "0501", "37": "101010000001", "39": code}
        out[f"sign_in:{code}"] = _Template(Message("0810", {**base, **extra, "60": "00000001003"}))
        out[f"purchase:{code}"] = _Template(Message("0210", {**buy.fields, **extra, "15": "0501"}))
        out[f"reversal:{code}"] = _Template(Message("0410", {**back.fields, **extra}))
    return out


def generate_log(path: Path, frames: int, terminals: int, seed: int = 0) -> dict[str, int]:
    """Write a day of fleet traffic: sign-ins, purchases, declines, a host outage, MAC and silent faults."""
    rng = random.Random(seed)
    templates = _templates()
    tids = [f"{20000000 + i:08d}".encode() for i in range(terminals)]
    mac_faulty = set(rng.sample(range(terminals), max(1, terminals // 100)))
    silent = set(rng.sample(range(terminals), max(1, terminals // 100))) - mac_faulty
    signed_in = [False] * terminals
    stans = [0] * terminals
    start = datetime(2024, 5, 1, tzinfo=UTC).timestamp()
    gap = 86_400 / frames * 2  # about two frames per exchange
    outage = (start + 0.40 * 86_400, start + 0.41 * 86_400)
    now = start
    written = 0
    with path.open("w", encoding="ascii") as out:
        def line(moment: float, direction: str, kind: str, tid: bytes, stan: int) -> None:
            nonlocal written
            stamp = datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")
            out.write(f"{stamp} {direction} {templates[kind].render(tid, stan)}\n")
            written += 1

        while written < frames:
            now += rng.expovariate(1 / gap)
            n = rng.randrange(terminals)
            tid = tids[n]
            stans[n] = stans[n] % 999_999 + 1
            stan = stans[n]
            if not signed_in[n]:
                line(now, ">", "sign_in", tid, stan)
                line(now + 0.2, "<", "sign_in:00", tid, stan)
                signed_in[n] = True
                continue
            line(now, ">", "purchase", tid, stan)
            roll = rng.random()
            if n in silent or roll < 0.005:
                line(now + 60, ">", "reversal", tid, stan)  # the answer never came
                if n not in silent:
                    line(now + 60.3, "<", "reversal:00", tid, stan)
                continue
            if n in mac_faulty:
                code = "A0"
            elif outage[0] <= now < outage[1]:
                code = "96"
            else:
                code = "51" if roll < 0.02 else "55" if roll < 0.03 else "05" if roll < 0.04 else "00"
            line(now + rng.uniform(0.2, 1.5), "<", f"purchase:{code}", tid, stan)
    return {"frames": written, "terminals": terminals, "mac_faulty": len(mac_faulty), "silent": len(silent)}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def run_analysis(path: Path) -> dict[str, Any]:
    """Analyse one log in this process: time, peak RSS growth, and what it found."""
    before = _rss_mb()
    started = time.perf_counter()
    report = analyze(read_frames(path))
    seconds = time.perf_counter() - started
    after = _rss_mb()
    evidence: dict[str, int] = {}
    for terminal in report.terminals:
        key = ",".join(f"{k}={v}" for k, v in sorted(terminal.evidence.items()))
        evidence[key] = evidence.get(key, 0) + 1
    return {"frames": report.frames, "malformed": report.malformed, "terminals": len(report.terminals),
            "seconds": round(seconds, 2), "frames_per_s": round(report.frames / seconds),
            "peak_rss_before_mb": round(before, 1), "peak_rss_after_mb": round(after, 1),
            "peak_rss_growth_mb": round(after - before, 1),
            "fleet_storms": [(s.code, s.count, s.terminal_count) for s in report.fleet_storms],
            "terminals_by_evidence": dict(sorted(evidence.items(), key=lambda kv: -kv[1]))}


def bench_analysis(frames: int, terminals: int) -> dict[str, Any]:
    """Generate logs of a tenth and of the full size; analyse each in a fresh process."""
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        for label, size in (("tenth", max(1, frames // 10)), ("full", frames)):
            path = Path(folder) / f"{label}.log"
            started = time.perf_counter()
            generated: dict[str, Any] = dict(generate_log(path, size, terminals))
            generated["generate_seconds"] = round(time.perf_counter() - started, 1)
            generated["file_mb"] = round(path.stat().st_size / 2**20, 1)
            child = subprocess.run([sys.executable, __file__, "--analyze-file", str(path)], check=True,
                                   capture_output=True, text=True)
            results[label] = {"log": generated, "analysis": json.loads(child.stdout)}
    return results


# -- simulator -------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _serve(port: int) -> None:
    server = await AcquirerHost().serve("127.0.0.1", port)
    async with server:
        await server.serve_forever()


async def _sign_in_clients(port: int, clients: int, per_client: int) -> tuple[int, float, dict[str, int]]:
    codes: dict[str, int] = {}

    async def client(index: int) -> None:
        tid = f"{30000000 + index:08d}"
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for stan in range(1, per_client + 1):
            writer.write(encode_frame(Message("0800", {"11": f"{stan:06d}", "41": tid, "42": MID,
                                                       "60": "00000001003", "63": "001"})))
            await writer.drain()
            answer = await read_frame(reader)
            code = "no answer" if answer is None else decode_frame(answer).response_code or "?"
            codes[code] = codes.get(code, 0) + 1
        writer.close()
        await writer.wait_closed()

    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    return clients * per_client, time.perf_counter() - started, codes


def _wait_for_port(port: int, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("simulated host did not start")


def bench_simulator(clients: int, per_client: int) -> dict[str, Any]:
    """Sign-ins per second from ``clients`` concurrent connections to the host in its own process."""
    port = _free_port()
    host = subprocess.Popen([sys.executable, __file__, "--serve-host", str(port)])
    try:
        _wait_for_port(port)
        total, seconds, codes = asyncio.run(_sign_in_clients(port, clients, per_client))
    finally:
        host.terminate()
        host.wait(timeout=10)
    return {"concurrent_terminals": clients, "sign_ins": total, "seconds": round(seconds, 2),
            "sign_ins_per_s": round(total / seconds), "answers": codes}


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmarks and print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=1_000_000, help="frames in the analysed log")
    parser.add_argument("--terminals", type=int, default=2000, help="terminals in the generated log")
    parser.add_argument("--decode-rounds", type=int, default=500, help="passes over the decode frames")
    parser.add_argument("--clients", type=int, default=50, help="concurrent terminals signing in")
    parser.add_argument("--sign-ins", type=int, default=200, help="sign-ins per terminal")
    parser.add_argument("--skip", action="append", default=[], choices=["decode", "analysis", "simulator"])
    parser.add_argument("--analyze-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--serve-host", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.analyze_file:
        print(json.dumps(run_analysis(args.analyze_file)))
        return
    if args.serve_host:
        asyncio.run(_serve(args.serve_host))
        return
    figures: dict[str, Any] = {"python": platform.python_version(), "pyiso8583": pyiso8583.__version__,
                               "machine": f"{platform.machine()} × {_cpus()} CPUs"}
    if "decode" not in args.skip:
        figures["decode"] = bench_decode(args.decode_rounds)
    if "simulator" not in args.skip:
        figures["simulator"] = bench_simulator(args.clients, args.sign_ins)
    if "analysis" not in args.skip:
        figures["analysis"] = bench_analysis(args.frames, args.terminals)
    print(json.dumps(figures, ensure_ascii=False, indent=2))


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    main()
