"""Command line: decode a frame, analyse traffic, run the host and terminal simulators.

The apps and callables here are registered by ``posops.cli``::

    posops iso8583 decode HEX            (iso8583_app)
    posops logs analyze FILE [--json] [--import]   (logs_app)
    posops sim host [--fault TID:KIND]   (sim_host)
    posops sim terminal --tid T --count N --log FILE   (sim_terminal)

Nothing printed here holds a full PAN, track data or a PIN block: decoding goes through the
safe view, analysis reports hold aggregates only, and simulator logs are redacted.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from posops.core.auth import OPERATOR
from posops.core.cli import migrated_database, use_case_errors
from posops.core.db import Database
from posops.iso8583 import service
from posops.iso8583.acquirer_sim import DEFAULT_KEY_SEED, AcquirerHost, TerminalFaults
from posops.iso8583.analysis import AnalysisSettings, TrafficReport, analyze, iso_time
from posops.iso8583.codec import frame_from_hex
from posops.iso8583.errors import FrameError
from posops.iso8583.logs import FrameLog
from posops.iso8583.pcap import PcapError
from posops.iso8583.response_codes import lookup
from posops.iso8583.safe import decode_safe
from posops.iso8583.sources import parse_master_keys, read_frames
from posops.iso8583.terminal_sim import SimulatedTerminal, TerminalRun

iso8583_app = typer.Typer(help="ISO 8583 报文(银联POS) / CUP POS ISO 8583 frames.", no_args_is_help=True)
logs_app = typer.Typer(help="报文日志分析 / Analyse frame logs and captures.", no_args_is_help=True)

_out = Console()
_err = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    _err.print(f"[red]error:[/red] {message}", highlight=False, markup=True)
    return typer.Exit(2)


def _master_key(text: str | None) -> bytes | None:
    if text is None:
        return None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) not in (8, 16, 24):
        raise _fail("--master-key must be 8, 16 or 24 bytes of hex")
    return key


# -- posops iso8583 decode ------------------------------------------------------------------

@iso8583_app.callback()
def iso8583_group() -> None:
    """ISO 8583 报文工具 / ISO 8583 frame tools."""


@iso8583_app.command("decode")
def decode(
    frame_hex: Annotated[str, typer.Argument(
        metavar="HEX", help="整帧十六进制(含2字节长度), '-' 读标准输入 / whole frame as hex, length prefix "
                            "included; '-' reads stdin")],
    master_key: Annotated[str | None, typer.Option(
        help="终端主密钥(十六进制), 用于校验签到密钥 / terminal master key (hex) to verify sign-in key check "
             "values")] = None,
) -> None:
    """解码一帧并输出 JSON(卡号已屏蔽) / Decode one frame to JSON, card data masked."""
    key = _master_key(master_key)
    text = sys.stdin.read() if frame_hex == "-" else frame_hex
    try:
        safe = decode_safe(frame_from_hex(text), key)
    except FrameError as exc:
        raise _fail(str(exc)) from None
    typer.echo(json.dumps(safe.to_dict(), ensure_ascii=False, indent=2))


# -- posops logs analyze ------------------------------------------------------------------

@logs_app.callback()
def logs_group() -> None:
    """报文日志工具 / Frame log tools."""


@logs_app.command("analyze")
def analyze_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help="报文日志或 pcap / frame log or pcap capture")],
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / print JSON")] = False,
    timeout: Annotated[float, typer.Option(help="无应答超时秒数 / seconds before an unanswered request "
                                                "times out")] = 60.0,
    storm_threshold: Annotated[int, typer.Option(help="风暴阈值 / failures of one code that make a storm")] = 5,
    storm_window: Annotated[float, typer.Option(help="风暴时间窗(秒) / storm window, seconds")] = 300.0,
    master_keys: Annotated[Path | None, typer.Option(exists=True, dir_okay=False,
                                                     help="'TID HEXKEY' 每行一个 / one 'TID HEXKEY' per line, "
                                                          "to verify sign-in check values")] = None,
    port: Annotated[int | None, typer.Option(help="pcap: 只看此 TCP 端口 / pcap: only this TCP port")] = None,
    limit: Annotated[int, typer.Option(help="表格最多显示终端数 / terminals shown in the table")] = 50,
    attach: Annotated[bool, typer.Option(
        "--import", "--attach", help="保存到数据库, 按终端号关联终端(作为诊断证据) / store the analysis in the "
                                     "database on the terminals matched by TID, as diagnosis evidence")] = False,
) -> None:
    """分析报文日志: 配对、超时、冲正、签到、应答码风暴、诊断证据 / Analyse traffic per terminal."""
    db = migrated_database() if attach else None
    keys: dict[str, bytes] = {}
    if master_keys is not None:
        try:
            keys = parse_master_keys(master_keys.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise _fail(f"{master_keys}: {exc}") from None
    settings = AnalysisSettings(timeout=timeout, storm_threshold=storm_threshold, storm_window=storm_window)
    try:
        report = analyze(read_frames(file, port=port), settings, keys)
    except PcapError as exc:
        raise _fail(f"{file}: {exc}") from None
    if as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print_report(report, _out, limit)
    if db is not None:
        _store(db, report, file.name, _err if as_json else _out)


def _store(db: Database, report: TrafficReport, source_name: str, console: Console) -> None:
    """Attach the analysis to the terminals it covers, as the CLI operator, and say which were matched."""

    with use_case_errors():
        stored = service.import_report(db, OPERATOR, report, source_name)
    console.print(f"已保存分析 #{stored.id} / analysis #{stored.id} stored: 匹配终端 matched "
                  f"{len(stored.matched)}, 未登记 unknown {len(stored.unknown_tids)}", highlight=False)
    for terminal in stored.matched:
        when = terminal.last_transaction_at.isoformat(timespec="seconds") if terminal.last_transaction_at else "—"
        console.print(f"  {terminal.tid}  {terminal.serial_number}  (id {terminal.terminal_id}, "
                      f"last transaction {when})", highlight=False)
    if stored.unknown_tids:
        shown = ", ".join(stored.unknown_tids[:20])
        more = f" … +{len(stored.unknown_tids) - 20}" if len(stored.unknown_tids) > 20 else ""
        console.print(f"  未登记终端号(未保存) / TIDs not registered (not stored): {shown}{more}", highlight=False)


def _short_time(moment: float | None) -> str:
    text = iso_time(moment)
    return f"{text[:10]}\n{text[11:23]}" if text else "—"


def _pairs(counts: dict[str, int]) -> str:
    return "\n".join(f"{k}×{v}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def print_report(report: TrafficReport, console: Console, limit: int = 50) -> None:
    """Print a traffic report as Rich tables: terminals, then storms, then totals."""
    table = Table(title="终端报文分析 / Traffic by terminal", show_lines=True)
    table.add_column("终端\nterminal", no_wrap=True)
    table.add_column("请求/成功/冲正\nreq/ok/rev", no_wrap=True)
    table.add_column("失败\nfailures", no_wrap=True)
    table.add_column("最近成功签到\nlast sign-in", no_wrap=True)
    table.add_column("证据\nevidence", overflow="fold")
    ranked = sorted(report.terminals, key=lambda t: (-sum(t.failures.values()), t.tid))
    for t in ranked[:limit]:
        evidence = "\n".join(f"{k}={v}" for k, v in t.evidence.items())
        counts = f"{sum(t.messages.values())}/{t.approved}/{t.reversals}"
        table.add_row(t.tid, counts, _pairs(t.failures) or "—", _short_time(t.last_successful_sign_in),
                      evidence or "—")
    console.print(table)
    if len(ranked) > limit:
        console.print(f"… {len(ranked) - limit} more terminals / 另有 {len(ranked) - limit} 台终端 (--json for all)")
    storms = [(t.tid, s) for t in report.terminals for s in t.storms]
    if storms or report.fleet_storms:
        storm_table = Table(title="应答码风暴 / Response-code storms", show_lines=True)
        for header in ("终端\nterminal", "应答码\ncode", "含义\nmeaning", "次数\ncount", "开始\nstart", "结束\nend"):
            storm_table.add_column(header)
        for tid, storm in storms[:limit]:
            meaning = lookup(storm.code)
            storm_table.add_row(tid, storm.code, f"{meaning.zh}\n{meaning.en}", str(storm.count),
                                _short_time(storm.start), _short_time(storm.end))
        for storm in report.fleet_storms:
            meaning = lookup(storm.code)
            storm_table.add_row(f"全部 fleet\n({storm.terminal_count})", storm.code, f"{meaning.zh}\n{meaning.en}",
                                str(storm.count), _short_time(storm.start), _short_time(storm.end))
        console.print(storm_table)
    summary = report.to_dict()
    console.print(f"帧 frames {report.frames} · 无法解析 malformed {report.malformed} · "
                  f"未配对应答 unmatched answers {report.unmatched_answers} · "
                  f"{summary['started'] or '—'} → {summary['ended'] or '—'}", highlight=False)
    for error in report.errors[:5]:
        console.print(f"  [yellow]{error}[/yellow]", highlight=False)


# -- posops sim host / terminal -----------------------------------------------------------

def parse_faults(specs: Iterable[str]) -> tuple[dict[str, TerminalFaults], TerminalFaults]:
    """Read ``TID:KIND[=VALUE]`` fault specs (``*`` for every terminal) into per-terminal faults.

    KIND is ``unregistered``, ``mac_out_of_sync``, ``master_key_mismatch``,
    ``outage[=96|silent]`` or ``latency=SECONDS``.

    >>> faults, default = parse_faults(["*:latency=0.1", "10000002:unregistered"])
    >>> faults["10000002"].unregistered, faults["10000002"].latency, default.latency
    (True, 0.1, 0.1)
    """
    parsed: list[tuple[str, str, str]] = []
    for spec in specs:
        tid, _, rest = spec.partition(":")
        kind, _, value = rest.partition("=")
        if not tid or not kind:
            raise ValueError(f"fault {spec!r}: expected TID:KIND[=VALUE]")
        parsed.append((tid, kind.strip().replace("-", "_"), value.strip()))
    default = TerminalFaults()
    for tid, kind, value in parsed:
        if tid == "*":
            default = _with_fault(default, kind, value)
    faults: dict[str, TerminalFaults] = {}
    for tid, kind, value in parsed:
        if tid != "*":
            faults[tid] = _with_fault(faults.get(tid, default), kind, value)
    return faults, default


def _with_fault(faults: TerminalFaults, kind: str, value: str) -> TerminalFaults:
    if kind == "unregistered" and not value:
        return replace(faults, unregistered=True)
    if kind == "mac_out_of_sync" and not value:
        return replace(faults, mac_out_of_sync=True)
    if kind == "master_key_mismatch" and not value:
        return replace(faults, master_key_mismatch=True)
    if kind == "outage" and value in ("", "96"):
        return replace(faults, outage="96")
    if kind == "outage" and value == "silent":
        return replace(faults, outage="silent")
    if kind == "latency":
        try:
            return replace(faults, latency=max(0.0, float(value)))
        except ValueError:
            pass
    raise ValueError(f"fault kind {kind!r}{'=' + value if value else ''} is not one of unregistered, "
                     "mac_out_of_sync, master_key_mismatch, outage[=96|silent], latency=SECONDS")


def sim_host(
    port: Annotated[int, typer.Option(help="监听端口 / TCP port")] = 5800,
    host: Annotated[str, typer.Option(help="监听地址 / address to listen on")] = "127.0.0.1",
    fault: Annotated[list[str] | None, typer.Option(
        help="注入故障 TID:KIND[=VALUE], '*' 表示全部终端 / inject a fault, '*' for all terminals: "
             "unregistered, mac_out_of_sync, master_key_mismatch, outage[=96|silent], latency=SECONDS")] = None,
    key_seed: Annotated[str, typer.Option(help="模拟主密钥种子 / seed of the simulated master keys")]
    = DEFAULT_KEY_SEED,
    duration: Annotated[float | None, typer.Option(help="运行秒数后退出 / stop after this many seconds")] = None,
) -> None:
    """模拟收单主机 / Run a simulated acquirer host (sign-in, purchase, reversal, settlement)."""
    try:
        faults, default = parse_faults(fault or [])
    except ValueError as exc:
        raise _fail(str(exc)) from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    acquirer = AcquirerHost(key_seed=key_seed, faults=faults, default_faults=default)

    async def main() -> None:
        server = await acquirer.serve(host, port)
        bound = server.sockets[0].getsockname()
        _err.print(f"listening on {bound[0]}:{bound[1]} / 正在监听", highlight=False)
        async with server:
            if duration is None:
                await server.serve_forever()
            else:
                await asyncio.sleep(duration)

    try:
        asyncio.run(main())
    except OSError as exc:
        raise _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    except KeyboardInterrupt:
        pass
    _err.print(json.dumps(dict(acquirer.counts), ensure_ascii=False), highlight=False)


def _tids(first: str, count: int) -> list[str]:
    if count == 1:
        return [first]
    if not first.isdigit():
        raise ValueError("--terminals > 1 needs a numeric --tid to count from")
    return [f"{int(first) + i:0{len(first)}d}" for i in range(count)]


async def run_terminals(host: str, port: int, tids: Sequence[str], count: int, log_to: FrameLog | None,
                        **options: Any) -> list[TerminalRun]:
    """Run simulated terminals concurrently against one host; return their runs in ``tids`` order."""
    terminals = [SimulatedTerminal(tid, log_to=log_to, **options) for tid in tids]
    return list(await asyncio.gather(*(t.run(host, port, count) for t in terminals)))


def sim_terminal(
    host: Annotated[str, typer.Option(help="主机地址 / host address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="主机端口 / host port")] = 5800,
    tid: Annotated[str, typer.Option(help="终端号(8位) / terminal id, 8 characters")] = "10000001",
    count: Annotated[int, typer.Option(help="消费笔数 / purchases to make")] = 10,
    log: Annotated[Path, typer.Option(help="报文日志(追加, 已脱敏) / frame log to append to (redacted)")]
    = Path("terminal.log"),
    mid: Annotated[str, typer.Option(help="商户号(15位) / merchant id, 15 characters")] = "898310048990001",
    timeout: Annotated[float, typer.Option(help="应答超时秒数 / seconds to wait for an answer")] = 5.0,
    terminals: Annotated[int, typer.Option(help="并发终端数(终端号递增) / concurrent terminals, ids counting "
                                                "up from --tid")] = 1,
    amount: Annotated[int, typer.Option(help="每笔金额(分) / amount per purchase, in fen")] = 100,
    key_seed: Annotated[str, typer.Option(help="模拟主密钥种子 / seed of the simulated master keys")]
    = DEFAULT_KEY_SEED,
    mcc: Annotated[str | None, typer.Option(help="商户类别码(4位, 消费报文第18域) / merchant category code sent "
                                                 "in field 18 of each purchase, 4 digits")] = None,
) -> None:
    """模拟终端: 签到、消费、冲正、结算 / Run a simulated terminal and log its frames."""
    if len(tid) != 8 or len(mid) != 15:
        raise _fail("--tid must have 8 characters and --mid 15")
    if mcc is not None and (len(mcc) != 4 or not mcc.isdigit()):
        raise _fail("--mcc must be 4 digits")
    try:
        tids = _tids(tid, terminals)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    with FrameLog(log) as frame_log:
        runs = asyncio.run(run_terminals(host, port, tids, count, frame_log, mid=mid, timeout=timeout,
                                         amount=amount, key_seed=key_seed, mcc=mcc))
    for run in runs:
        typer.echo(json.dumps(run.to_dict(), ensure_ascii=False))
    if any(run.error for run in runs):
        raise typer.Exit(1)
