"""ISO 8583 fuzzing: mutated real frames through posops' decoders raise only :class:`FrameError`.

The seed frames are the published captures (``tests/iso8583/data/captures.txt``) plus built
frames that carry every awkward part (PAN, track 2, PIN block, chip data with a template,
working keys, settlement totals, GB18030 text). Each fuzzed frame is one seed mutated by one
kind of damage (bit flips, byte insert/delete, truncation, length prefix, bitmap, LL/LLL
length digits, field data such as field 55's TLV, splicing two frames, random junk, hex text),
with the length prefix usually fixed up afterwards so that the damage reaches past the first
check. Every frame goes through the public decode paths:

* :func:`posops.iso8583.safe.decode_safe` (length, TPDU, bitmap, fields, masking, field 55 TLV,
  field 60, naming, working keys and, for a quarter of the frames, their check values), then
  the API's answer built from it (``DecodedFrame``);
* :func:`posops.iso8583.logs.redact_frame`, which a frame log calls on every frame and which
  must never raise;
* hex text (one kind) through :func:`posops.iso8583.safe.decode_safe_hex`.

Outcomes per mutation kind: decoded, refused with ``FrameError``, or any other exception
(must be 0). A foreign exception is reported by mutation kind, frame length and exception,
card numbers masked, never the frame itself. Runs are deterministic for a seed, whatever the
number of processes.

    .venv/bin/python bench/iso8583_fuzz.py                       # 1,000,000 frames, seed 8583
    .venv/bin/python bench/iso8583_fuzz.py --frames 20000 --processes 1

Prints a table; exits 1 when any foreign exception (or a card-data leak) was seen.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/iso8583.py is named like the pyiso8583 package: keep this folder off the import path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import multiprocessing  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

import iso8583  # noqa: E402
from posops.core.card_data import mask_card_numbers  # noqa: E402
from posops.iso8583.codec import CUP_POS, encode_frame  # noqa: E402
from posops.iso8583.errors import FrameError  # noqa: E402
from posops.iso8583.keys import issue_working_keys  # noqa: E402
from posops.iso8583.logs import redact_frame  # noqa: E402
from posops.iso8583.message import Message  # noqa: E402
from posops.iso8583.safe import decode_safe, decode_safe_hex  # noqa: E402
from posops.iso8583.schemas import DecodedFrame  # noqa: E402
from posops.iso8583.spec import FIELDS, HEADER_BYTES, LENGTH_BYTES, TPDU_BYTES  # noqa: E402

CAPTURES = _HERE.parent / "tests" / "iso8583" / "data" / "captures.txt"
PAN = "6250946000000016"
MID = "898310048990001"
MASTER_KEY = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
_HEAD = LENGTH_BYTES + TPDU_BYTES + HEADER_BYTES  # offset of the MTI
_BITMAP_AT = _HEAD + 2
_CARD_FIELDS = ("2", "35", "36", "52")  # never in a safe view under their own number
DEFAULT_SEED = 8583
CHUNK = 10_000
EXAMPLES = 5


# -- seed corpus ----------------------------------------------------------------------------

def built_frames() -> list[bytes]:
    """Frames with the parts the captures lack: card data, chip TLV, working keys, 48, 61, GB18030 text."""
    chip = ("9F2608A1B2C3D4E5F607089F2701809F101307010103A0A000010A0100000000007C0B5A3F9F37041A2B3C4D"
            "9F36020047950500000000009A032405019C01009F02060000000123005F2A020156" "5A08" + PAN
            + "7008" + "5704" + "62502910" + "9F3400" + "5F201A" + "4341524420484F4C444552202F2054455354204E414D452020")
    purchase = Message("0200", {
        "2": PAN, "3": "000000", "4": "000000012300", "11": "000321", "14": "2912", "22": "051", "23": "001",
        "25": "00", "26": "06", "35": f"{PAN}D29122010000000000", "36": "996" + PAN + "D1561560000000000000",
        "41": "10000001", "42": MID, "49": "156", "52": "8F3A11C0DE55B2A7", "53": "2600000000000000",
        "55": chip, "60": "22000001000501", "64": "0102030405060708"})
    answer = Message("0210", {**{k: purchase.fields[k] for k in ("2", "3", "4", "11", "14", "22", "23", "25",
                                                                   "41", "42", "49", "60")},
                              "12": "101010", "13": "0501", "15": "0501", "32": "48031000", "37": "101010000321",
                              "38": "123456", "39": "00", "44": "01020000   48031000   ",
                              "55": "910A01020304050607080000", "63": "CUP中国银联", "64": "0102030405060708"})
    sign_in = {"11": "000001", "12": "101010", "13": "0501", "32": "48031000", "37": "101010000001",
               "39": "00", "41": "10000001", "42": MID}
    keys_40 = issue_working_keys(MASTER_KEY, random_bytes=lambda n: bytes(range(n))).field_62
    keys_60 = issue_working_keys(MASTER_KEY, track_key=True, random_bytes=lambda n: bytes(range(3, n + 3))).field_62
    settle = Message("0500", {"11": "000100", "41": "10000001", "42": MID, "48": "0" * 62, "49": "156",
                              "60": "00000001201", "63": "001"})
    reversal = Message("0400", {"2": PAN, "3": "000000", "4": "000000012300", "11": "000321", "22": "051",
                                "25": "00", "39": "98", "41": "10000001", "42": MID, "49": "156",
                                "60": "22000001000501", "61": "0000010003210501", "64": "0102030405060708"})
    return [encode_frame(m) for m in (
        purchase, answer,
        Message("0810", {**sign_in, "60": "00000001003", "62": keys_40}),
        Message("0810", {**sign_in, "60": "00000001004", "62": keys_60}),
        Message("0810", {**sign_in, "60": "00000001001", "62": "0102030405060708" * 3}),
        settle, reversal,
        Message("0830", {"11": "000002", "39": "00", "41": "10000001", "42": MID, "60": "00000001301",
                         "58": "PBOC", "54": "1002156C000000012300"}),
    )]


def seed_frames() -> list[bytes]:
    """The published captures, then the built frames."""
    captures = [bytes.fromhex(line.split()[1]) for line in CAPTURES.read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    return [*captures, *built_frames()]


@dataclass(frozen=True)
class Layout:
    """Where one seed frame's parts are: (field, length-prefix offset, prefix bytes, data offset, data bytes)."""

    frame: bytes
    fields: tuple[tuple[str, int, int, int, int], ...]

    @property
    def variable(self) -> tuple[tuple[str, int, int, int, int], ...]:
        """The fields with an LL/LLL length prefix."""
        return tuple(f for f in self.fields if f[2])


def layout(frame: bytes) -> Layout:
    """Walk a well-formed frame with pyiso8583 and note every field's offsets."""
    _, enc = iso8583.decode(frame[_HEAD:], {**CUP_POS.spec, "h": {**CUP_POS.spec["h"], "max_len": 0}})
    at = _BITMAP_AT + len(enc["p"]["data"]) + (len(enc["1"]["data"]) if "1" in enc else 0)
    found = []
    for number in sorted(int(k) for k in enc if k.isdigit() and k != "1"):
        part = enc[str(number)]
        found.append((str(number), at, len(part["len"]), at + len(part["len"]), len(part["data"])))
        at += len(part["len"]) + len(part["data"])
    return Layout(frame, tuple(found))


# -- mutations ------------------------------------------------------------------------------

Mutation = Callable[[random.Random, Layout, Sequence[Layout]], bytes]


def _fix_length(frame: bytes | bytearray) -> bytes:
    body = len(frame) - LENGTH_BYTES
    if body < 0 or body > 0xFFFF:
        return bytes(frame)
    return body.to_bytes(LENGTH_BYTES, "big") + bytes(frame[LENGTH_BYTES:])


def _bit_flips(rng: random.Random, seed: Layout, corpus: Sequence[Layout]) -> bytes:
    out = bytearray(seed.frame)
    for _ in range(rng.randint(1, 8)):
        at = rng.randrange(LENGTH_BYTES, len(out))
        out[at] ^= 1 << rng.randrange(8)
    return bytes(out)


def _byte_set(rng: random.Random, seed: Layout, corpus: Sequence[Layout]) -> bytes:
    out = bytearray(seed.frame)
    for _ in range(rng.randint(1, 6)):
        out[rng.randrange(LENGTH_BYTES, len(out))] = rng.choice((0x00, 0xFF, 0x7F, 0x80, 0x99, 0x9F,
                                                                 rng.randrange(256)))
    return bytes(out)


def _insert(rng: random.Random, seed: Layout, corpus: Sequence[Layout]) -> bytes:
    at = rng.randrange(LENGTH_BYTES, len(seed.frame) + 1)
    return seed.frame[:at] + rng.randbytes(rng.randint(1, 16)) + seed.frame[at:]


def _delete(rng: random.Random, seed: Layout, corpus: Sequence[Layout]) -> bytes:
    at = rng.randrange(LENGTH_BYTES, len(seed.frame))
    return seed.frame[:at] + seed.frame[at + rng.randint(1, 16):]


def _truncate(rng: random.Random, seed: Layout, corpus: Sequence[Layout]) -> bytes:
    return seed.frame[:rng.randrange(len(seed.frame))]


def _length_prefix(rng: random.Random, seed: Layout, corpus: Sequence[Layout]) -> bytes:
    body = len(seed.frame) - LENGTH_BYTES
    declared = rng.choice((0, 1, body - 1, body + 1, 0xFFFF, rng.randrange(0x10000)))
    return (declared % 0x10000).to_bytes(LENGTH_BYTES, "big") + seed.frame[LENGTH_BYTES:]


def _bitmap(rng: random.Random, seed: Layout, corpus: Sequence[Layout]) -> bytes:
    out = bytearray(seed.frame)
    known = [n for n in FIELDS if n <= 64]
    for _ in range(rng.randint(1, 4)):
        # Mostly bits of fields the spec knows, so that the walk goes on into the fields.
        number = rng.choice(known) if rng.random() < 0.85 else rng.randint(1, 64)
        out[_BITMAP_AT + (number - 1) // 8] ^= 0x80 >> ((number - 1) % 8)
    return bytes(out)


def _field_length(rng: random.Random, seed: Layout, corpus: Sequence[Layout]) -> bytes:
    if not seed.variable:
        return _bitmap(rng, seed, corpus)
    _, at, width, _, _ = rng.choice(seed.variable)
    out = bytearray(seed.frame)
    choice = rng.random()
    if choice < 0.4:  # another BCD length, often past the field's maximum or the frame's end
        digits = rng.choice((0, 1, rng.randrange(10 ** (2 * width)), 10 ** (2 * width) - 1))
        out[at:at + width] = bytes.fromhex(f"{digits:0{2 * width}d}")
    elif choice < 0.7:  # a nibble that is not a decimal digit
        nibble = rng.randrange(2 * width)
        byte = out[at + nibble // 2]
        value = rng.randint(10, 15)
        out[at + nibble // 2] = (byte & 0x0F) | (value << 4) if nibble % 2 == 0 else (byte & 0xF0) | value
    else:
        out[at + rng.randrange(width)] = rng.randrange(256)
    return bytes(out)


def _field_data(rng: random.Random, seed: Layout, corpus: Sequence[Layout]) -> bytes:
    """Damage inside one field's data (chip TLV, working keys, text, BCD digits), sizes kept."""
    candidates = [f for f in seed.fields if f[4]]
    # Field 55 and 62 carry structure of their own: pick them more often when present.
    rich = [f for f in candidates if f[0] in ("55", "62", "60", "63")]
    _, _, _, at, size = rng.choice(rich if rich and rng.random() < 0.6 else candidates)
    out = bytearray(seed.frame)
    for _ in range(rng.randint(1, 4)):
        where = at + rng.randrange(size)
        out[where] = rng.choice((0x00, 0x1F, 0x20, 0x3F, 0x5A, 0x70, 0x80, 0x81, 0x82, 0x83, 0x9F, 0xBF, 0xFF,
                                 rng.randrange(256)))
    return bytes(out)


def _mti(rng: random.Random, seed: Layout, corpus: Sequence[Layout]) -> bytes:
    out = bytearray(seed.frame)
    out[_HEAD:_HEAD + 2] = rng.choice((rng.randbytes(2), bytes.fromhex(rng.choice(("0800", "0810", "0200", "0210",
                                                                                   "0400", "0830", "9999", "0000")))))
    if rng.random() < 0.3:
        out[LENGTH_BYTES] = rng.randrange(256)  # TPDU id
    return bytes(out)


def _splice(rng: random.Random, seed: Layout, corpus: Sequence[Layout]) -> bytes:
    other = rng.choice(corpus).frame
    cut = rng.randrange(LENGTH_BYTES, len(seed.frame) + 1)
    if rng.random() < 0.5:
        return seed.frame[:cut] + other[rng.randrange(LENGTH_BYTES, len(other) + 1):]
    # A whole field block of one frame after the bitmap of the other.
    return seed.frame[:_BITMAP_AT + 8] + other[_BITMAP_AT + 8:]


def _junk(rng: random.Random, seed: Layout, corpus: Sequence[Layout]) -> bytes:
    junk = rng.randbytes(rng.randint(0, 300))
    if rng.random() < 0.5:
        return seed.frame[:_BITMAP_AT] + junk  # a plausible head, then anything
    return junk


def _duplicate(rng: random.Random, seed: Layout, corpus: Sequence[Layout]) -> bytes:
    start = rng.randrange(LENGTH_BYTES, len(seed.frame))
    piece = seed.frame[start:start + rng.randint(1, 32)]
    return seed.frame[:start] + piece * rng.randint(2, 4) + seed.frame[start + len(piece):]


MUTATIONS: dict[str, Mutation] = {
    "bit_flip": _bit_flips, "byte_set": _byte_set, "insert": _insert, "delete": _delete, "truncate": _truncate,
    "length_prefix": _length_prefix, "bitmap": _bitmap, "field_length": _field_length, "field_data": _field_data,
    "mti_tpdu": _mti, "splice": _splice, "junk": _junk, "duplicate": _duplicate,
}
#: Kinds whose length prefix is left as the damage made it (the others are usually fixed up).
_KEEP_PREFIX = frozenset({"length_prefix", "truncate"})
#: Kinds that need no layout, so they can damage an already damaged frame.
_SECOND = ("bit_flip", "byte_set", "insert", "delete", "truncate", "duplicate")
HEX_TEXT = "hex_text"
KINDS = (*MUTATIONS, HEX_TEXT)


def mutate(rng: random.Random, corpus: Sequence[Layout]) -> tuple[str, bytes]:
    """One fuzzed frame: (mutation kind, bytes); ``hex_text`` frames are the frame's hex as ASCII."""
    seed = rng.choice(corpus)
    kind = rng.choice(KINDS)
    if kind == HEX_TEXT:
        return kind, _hex_text(rng, seed)
    frame = MUTATIONS[kind](rng, seed, corpus)
    if rng.random() < 0.3 and len(frame) > LENGTH_BYTES + 1:  # a second damage on top, blind to the layout
        frame = MUTATIONS[rng.choice(_SECOND)](rng, Layout(frame, ()), corpus)
    if kind not in _KEEP_PREFIX and rng.random() < 0.9:
        frame = _fix_length(frame)
    return kind, frame


def _hex_text(rng: random.Random, seed: Layout) -> bytes:
    text = list(seed.frame.hex())
    for _ in range(rng.randint(0, 3)):
        text.insert(rng.randrange(len(text) + 1), rng.choice(" \n\tgGzZ-x0\u00a0\u3000１"))
    if rng.random() < 0.3:
        del text[rng.randrange(len(text))]
    return "".join(text).encode("utf-8")


# -- running ----------------------------------------------------------------------------------

@dataclass
class Tally:
    """Outcomes by mutation kind, and the first foreign exceptions (kind, length, exception)."""

    decoded: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    foreign: Counter[str] = field(default_factory=Counter)
    parts: Counter[str] = field(default_factory=Counter)
    """Refusals by the part they name (``field`` for any data field): how deep the damage reached."""
    leaks: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def frames(self) -> int:
        """Frames run through the decoders."""
        return sum(self.decoded.values()) + sum(self.refused.values()) + sum(self.foreign.values())

    def add(self, other: Tally) -> None:
        """Merge another tally (a chunk) into this one."""
        self.decoded.update(other.decoded)
        self.refused.update(other.refused)
        self.foreign.update(other.foreign)
        self.parts.update(other.parts)
        self.leaks += other.leaks
        self.examples.extend(other.examples[:max(0, EXAMPLES - len(self.examples))])

    def _foreign(self, kind: str, size: int, where: str, exc: BaseException) -> None:
        self.foreign[kind] += 1
        if len(self.examples) < EXAMPLES:
            said = mask_card_numbers(str(exc))[:160]
            self.examples.append(f"{kind} ({size} bytes) in {where}: {type(exc).__name__}: {said}")


def check_frame(tally: Tally, kind: str, frame: bytes, master_key: bytes | None) -> None:
    """Run one fuzzed frame through every decode path and count what happened."""
    where = "decode_safe"
    try:
        safe = decode_safe_hex(frame.decode("utf-8"), master_key) if kind == HEX_TEXT else (
            decode_safe(frame, master_key))
        where = "DecodedFrame"
        DecodedFrame.model_validate(safe.to_dict())
    except FrameError as exc:
        tally.refused[kind] += 1
        tally.parts["field" if exc.part.isdigit() else exc.part] += 1
    except Exception as exc:
        tally._foreign(kind, len(frame), where, exc)
        return
    else:
        tally.decoded[kind] += 1
        if any(number in safe.fields for number in _CARD_FIELDS):
            tally.leaks += 1
            if len(tally.examples) < EXAMPLES:
                tally.examples.append(f"{kind} ({len(frame)} bytes): card data field in the safe view")
    if kind != HEX_TEXT:
        try:
            redact_frame(frame)
        except Exception as exc:  # a frame log must write every frame: even FrameError is foreign here
            tally._foreign(kind, len(frame), "redact_frame", exc)


_CORPUS: list[Layout] | None = None


def corpus() -> list[Layout]:
    """The seed frames with their layouts (built once per process)."""
    global _CORPUS
    if _CORPUS is None:
        _CORPUS = [layout(f) for f in seed_frames()]
    return _CORPUS


def run_chunk(args: tuple[int, int, int]) -> Tally:  # one argument: it is mapped over a pool
    """Fuzz ``count`` frames of chunk ``index``: its own RNG, so a run is the same with any number of processes."""
    seed, index, count = args
    rng = random.Random(f"iso8583-fuzz:{seed}:{index}")
    layouts = corpus()
    tally = Tally()
    for _ in range(count):
        kind, frame = mutate(rng, layouts)
        check_frame(tally, kind, frame, MASTER_KEY if rng.random() < 0.25 else None)
    return tally


def fuzz(frames: int, seed: int = DEFAULT_SEED, processes: int = 1, chunk: int = CHUNK) -> Tally:
    """Fuzz ``frames`` frames in chunks of ``chunk``, over ``processes`` processes."""
    chunks = [(seed, i, min(chunk, frames - i * chunk)) for i in range((frames + chunk - 1) // chunk)]
    total = Tally()
    if processes <= 1:
        for chunk in chunks:
            total.add(run_chunk(chunk))
        return total
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        for tally in pool.imap(run_chunk, chunks):
            total.add(tally)
    return total


def table(tally: Tally) -> str:
    """The outcomes as a fixed-width table, one row per mutation kind and a total."""
    rows = [("kind", "frames", "decoded", "refused", "foreign")]
    for kind in KINDS:
        counts = (tally.decoded[kind], tally.refused[kind], tally.foreign[kind])
        rows.append((kind, f"{sum(counts):,}", *(f"{c:,}" for c in counts)))
    totals = (sum(tally.decoded.values()), sum(tally.refused.values()), sum(tally.foreign.values()))
    rows.append(("total", f"{tally.frames:,}", *(f"{c:,}" for c in totals)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in
                               enumerate(zip(row, widths, strict=True))) for row in rows)


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def main(argv: Sequence[str] | None = None) -> int:
    """Fuzz, print the table and the rate; 1 when any foreign exception or leak was seen."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=1_000_000, help="fuzzed frames (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default %(default)s)")
    parser.add_argument("--processes", type=int, default=_cpus(), help="worker processes (default: CPUs)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    tally = fuzz(args.frames, args.seed, args.processes)
    seconds = time.perf_counter() - started
    print(f"python {platform.python_version()}, pyiso8583 {iso8583.__version__}, {platform.machine()} × {_cpus()} "
          f"CPUs, {args.processes} processes, seed {args.seed}, {len(corpus())} seed frames")
    print(table(tally))
    print(f"{tally.frames:,} frames in {seconds:.1f} s: {tally.frames / seconds:,.0f} frames/s; "
          f"card-data fields in a safe view: {tally.leaks}")
    print("refusals by part: " + ", ".join(f"{part} {count:,}" for part, count in tally.parts.most_common()))
    for example in tally.examples:
        print(f"  foreign: {example}")
    return 1 if sum(tally.foreign.values()) or tally.leaks else 0


if __name__ == "__main__":
    sys.exit(main())
