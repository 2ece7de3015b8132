"""Card class (debit, credit) of a card number from its BIN, read in the small table ``kb/bin_ranges.yaml``.

Only the first six digits are read, so a masked number (``621483******1234``) or a redacted
log's PAN (hidden digits zeroed) classifies like the full one; nothing else of the number is
looked at or kept. A BIN the table does not list is :attr:`CardClass.UNKNOWN`, never guessed.
The shipped table is an illustrative sample of major UnionPay ranges from public lists (its
header says which, and each entry its confidence), not UnionPay's BIN table.

>>> card_class("6222021234567890123").value
'debit'
>>> card_class("622575******1234").value
'credit'
>>> card_class("6250946000000016").value, card_class("62").value
('unknown', 'unknown')
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from posops.core.labels import Label

BIN_RANGES_FILE = Path(__file__).resolve().parent.parent / "kb" / "bin_ranges.yaml"
BIN_DIGITS = 6
"""Digits of a card number the table is keyed by: all that masked and redacted numbers show of the BIN."""
MAX_RANGE = 1000
"""Most BINs one ``low-high`` range may span: a wider one is a typo, not a sample row."""
CONFIDENCES = ("high", "medium", "low")
_KEYS = frozenset({"issuer", "class", "bins", "confidence", "note"})


class CardClass(StrEnum):
    """What kind of card a number belongs to, as the fee rules tell them apart."""

    DEBIT = "debit"
    CREDIT = "credit"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class BinEntry:
    """One row of the table: an issuer's BINs of one card class, how sure the table is, and why."""

    issuer: Label
    card_class: CardClass
    bins: tuple[tuple[str, str], ...]
    """Inclusive ``(low, high)`` six-digit ranges (a single BIN is ``(bin, bin)``)."""
    confidence: str
    note: str = ""

    def expand(self) -> Iterator[str]:
        """Yield every six-digit BIN of the entry."""
        for low, high in self.bins:
            for number in range(int(low), int(high) + 1):
                yield f"{number:0{BIN_DIGITS}d}"


class BinTableError(ValueError):
    """The BIN table file is malformed: the message names the file and the entry."""


class BinTable:
    """BIN → entry, built once from the table's rows; lookups are one dict access."""

    def __init__(self, entries: tuple[BinEntry, ...]) -> None:
        self.entries = entries
        self._by_bin: dict[str, BinEntry] = {}
        for entry in entries:
            for bin_ in entry.expand():
                if bin_ in self._by_bin:
                    raise BinTableError(f"BIN {bin_} is listed twice ({self._by_bin[bin_].issuer.en}, "
                                        f"{entry.issuer.en})")
                self._by_bin[bin_] = entry

    def __len__(self) -> int:
        return len(self._by_bin)

    def lookup(self, pan_or_masked: str) -> BinEntry | None:
        """Return the entry of a card number's BIN (full, masked or redacted number), or ``None``."""
        return self._by_bin.get(pan_or_masked[:BIN_DIGITS])

    def card_class(self, pan_or_masked: str) -> CardClass:
        """Return the card class of a card number; ``unknown`` when its BIN is not listed or not digits."""
        entry = self._by_bin.get(pan_or_masked[:BIN_DIGITS])
        return CardClass.UNKNOWN if entry is None else entry.card_class


def load_bin_table(path: Path | None = None) -> BinTable:
    """Read and check a BIN table (``kb/bin_ranges.yaml`` by default); raise :class:`BinTableError`."""
    source = BIN_RANGES_FILE if path is None else path
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    if not isinstance(data, Mapping) or not isinstance(data.get("ranges"), list):
        raise BinTableError(f"{source}: expected a mapping with a `ranges` list")
    entries = tuple(_entry(raw, f"{source}: range {index + 1}") for index, raw in enumerate(data["ranges"]))
    try:
        return BinTable(entries)
    except BinTableError as exc:
        raise BinTableError(f"{source}: {exc}") from None


def _entry(raw: Any, where: str) -> BinEntry:
    if not isinstance(raw, Mapping):
        raise BinTableError(f"{where}: expected a mapping")
    unknown = set(raw) - _KEYS
    if unknown:
        raise BinTableError(f"{where}: unknown keys {sorted(unknown)}")
    issuer = raw.get("issuer")
    if not isinstance(issuer, Mapping) or not all(isinstance(issuer.get(k), str) and issuer[k]
                                                    for k in ("zh-CN", "en")):
        raise BinTableError(f"{where}: `issuer` needs a zh-CN and an en name")
    if raw.get("class") not in (CardClass.DEBIT, CardClass.CREDIT):
        raise BinTableError(f"{where}: `class` must be debit or credit")
    card_class = CardClass(raw["class"])
    confidence = raw.get("confidence")
    if confidence not in CONFIDENCES:
        raise BinTableError(f"{where}: `confidence` must be one of {', '.join(CONFIDENCES)}")
    note = raw.get("note") or ""
    if not isinstance(note, str) or (confidence != "high" and not note.strip()):
        raise BinTableError(f"{where}: an entry that is not `high` needs a `note` saying why")
    bins = raw.get("bins")
    if not isinstance(bins, list) or not bins:
        raise BinTableError(f"{where}: `bins` must be a non-empty list")
    return BinEntry(Label(issuer["zh-CN"], issuer["en"]), card_class, tuple(_bin_range(b, where) for b in bins),
                    confidence, note.strip())


def _bin_range(item: Any, where: str) -> tuple[str, str]:
    text = str(item) if isinstance(item, str | int) else ""
    low, _, high = text.partition("-")
    high = high or low
    if not all(len(part) == BIN_DIGITS and part.isdigit() for part in (low, high)):
        raise BinTableError(f"{where}: {item!r} is not a six-digit BIN or a range of them")
    if not 0 <= int(high) - int(low) < MAX_RANGE:
        raise BinTableError(f"{where}: range {item!r} is reversed or spans more than {MAX_RANGE} BINs")
    return low, high


@lru_cache(maxsize=1)
def default_bin_table() -> BinTable:
    """The shipped BIN table, read and checked once."""
    return load_bin_table()


def card_class(pan_or_masked: str, table: BinTable | None = None) -> CardClass:
    """Return the card class of a card number (full, masked ``621483******1234`` or redacted)."""
    return (table or default_bin_table()).card_class(pan_or_masked)
