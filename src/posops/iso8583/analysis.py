"""Traffic analysis: pair requests with answers, find timeouts, storms and what they imply.

Pure and streaming: feed :class:`~posops.iso8583.logs.FrameRecord` items one by one (from a
log or a capture) and ask for the :class:`TrafficReport` at the end. Memory holds only
per-terminal aggregates, a bounded set of unanswered requests and bounded histories, so a
file of millions of frames is read in constant space.

* A request is paired with its answer by terminal id (41), request MTI and trace number (11).
* A request unanswered for ``timeout`` seconds — or still unanswered when the input ends, or
  overtaken by its own reversal — counts as a timeout.
* A *storm* is ``storm_threshold`` answers with the same failure code (or timeouts) from one
  terminal within ``storm_window`` seconds; it goes on while more follow within
  ``storm_window`` of the last. A *fleet storm* is one code making at least
  ``fleet_storm_share`` of all outcomes across the fleet within ``storm_window`` (and at
  least ``fleet_storm_threshold`` of them): background declines of a big fleet are not one.
* Each terminal's evidence speaks the taxonomy's check ids and outcomes, from its latest
  outcome (the check ``response_code`` is "the response code of the last transaction or
  sign-in", so reversals, settlements and downloads count only when nothing else was seen),
  its sign-ins (key check values, when its master key is known) and its storms.

What a terminal's traffic tells about its merchant's fees (``purchases``, ``mccs`` in its summary):

* Approved purchases — a 0200 with 60.1 ``22`` answered ``00`` — are summed by card class, the
  class of field 2's BIN in :mod:`posops.iso8583.bins` (``unknown`` when the table does not list
  it): a count, an amount in fen (field 4) and, so that per-transaction caps can be applied later,
  a count and an amount per amount bucket, each bucket up to its inclusive edge in
  :data:`AMOUNT_EDGES_FEN` and one more for anything above. Card and amount are the request's, and
  only an answer paired with its request in the input counts: an answer that comes after its
  reversal, or whose request predates the input, does not. Only the class is kept, never the card
  number or its BIN.
* Reversals (冲正) take back what they reverse: a 0400 whose trace number is that of one of the
  terminal's last few approved purchases subtracts it, once, when the reversal is seen (a reversal
  is resent until answered); the usual reversal, of a purchase that got no answer, changes nothing.
* An approved void (消费撤销, 60.1 ``23``) subtracts its own amount from its own card's class and
  bucket: a void takes back the whole original purchase, same card, same amount. A void sent
  without the card number (keyed from the original's voucher), or one that its class and bucket
  could not hold (its purchase predates the input), is counted in ``purchases_taken_back`` as
  ``voids_unmatched`` and subtracts nothing. A reversal of an approved void puts its purchase back.
* MCCs: field 18 of every request to the host that carries one, counted by code (at most
  :data:`MAX_MCCS` distinct codes per terminal; requests with further codes add to ``mccs_other``).

Memory per terminal stays constant: three card classes of six buckets, the last
``_RECENT_TAKEN`` approved purchases and voids, at most ``MAX_MCCS`` codes.

>>> from posops.iso8583.logs import iter_log
>>> report = analyze(iter_log([]))
>>> report.to_dict()["frames"]
0
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections import Counter, OrderedDict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from posops.iso8583.bins import BinTable, CardClass, default_bin_table
from posops.iso8583.codec import decode_frame
from posops.iso8583.errors import FrameError
from posops.iso8583.keys import split_working_keys, verify_working_keys
from posops.iso8583.logs import TO_HOST, FrameRecord, LogLineError
from posops.iso8583.naming import (
    MONEY_MOVING,
    PURCHASE,
    REVERSAL,
    SIGN_IN,
    TRANSACTIONS,
    VOID,
    MessageKind,
    name_of,
)
from posops.iso8583.response_codes import TIMEOUT, lookup
from posops.iso8583.spec import split_field_60

_HOST_CODES = frozenset({"90", "91", "92", "96", "98"})
_ORIGINALS = ("0200", "0100", "0220")  # what a reversal may take back
_KEY_OUTCOMES = frozenset({"A0", "99", "89", "55"})

#: Inclusive upper edges, in fen, of the purchase-amount buckets: 100, 1,000, 5,000, 20,000 and 100,000 元;
#: one more bucket holds the amounts above the last edge.
AMOUNT_EDGES_FEN: tuple[int, ...] = (10_000, 100_000, 500_000, 2_000_000, 10_000_000)
MAX_MCCS = 16
"""Distinct merchant category codes (field 18) kept per terminal; requests with further codes are only counted."""
_RECENT_TAKEN = 2  # approved purchases and voids per terminal a reversal may take back (it reverses the last one)
_CELLS = 2 * (len(AMOUNT_EDGES_FEN) + 1)  # count and amount of each bucket
_CLASS_ORDER = (CardClass.DEBIT, CardClass.CREDIT, CardClass.UNKNOWN)


def iso_time(moment: float | None) -> str | None:
    """Render epoch seconds as ISO 8601 UTC with milliseconds (``None`` stays ``None``)."""
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True, slots=True)
class AnalysisSettings:
    """Thresholds and bounds of an analysis."""

    timeout: float = 60.0
    """Seconds without an answer after which a request counts as timed out."""
    storm_threshold: int = 5
    """Failures with one code, from one terminal, that make a storm…"""
    storm_window: float = 300.0
    """…when they fall within this many seconds."""
    fleet_storm_threshold: int = 20
    """Failures with one code, across the fleet, needed for a fleet storm…"""
    fleet_storm_share: float = 0.2
    """…which must also be at least this share of all outcomes in the window."""
    max_pending: int = 100_000
    """Unanswered requests held at most; beyond that the oldest counts as timed out."""
    history: int = 10
    """Sign-in attempts and storms kept per terminal (the most recent)."""
    max_errors: int = 20
    """Malformed-input messages kept as samples."""

    def to_dict(self) -> dict[str, float]:
        """Return the settings."""
        return {"timeout": self.timeout, "storm_threshold": self.storm_threshold,
                "storm_window": self.storm_window, "fleet_storm_threshold": self.fleet_storm_threshold,
                "fleet_storm_share": self.fleet_storm_share,
                "max_pending": self.max_pending}


@dataclass(slots=True)
class Storm:
    """A run of the same failure code: when it started and ended, how many, which terminals."""

    code: str
    start: float
    end: float
    count: int
    terminals: set[str] = field(default_factory=set)
    """For fleet storms: the terminals that got the code (empty for a one-terminal storm)."""

    @property
    def terminal_count(self) -> int:
        """How many terminals a fleet storm touched (0 for a one-terminal storm)."""
        return len(self.terminals)

    def to_dict(self) -> dict[str, object]:
        """Return the storm with the code's meaning (at most 50 terminal ids listed)."""
        meaning = lookup(self.code)
        out: dict[str, object] = {"code": self.code, "zh": meaning.zh, "en": meaning.en,
                                  "start": iso_time(self.start), "end": iso_time(self.end), "count": self.count}
        if self.terminals:
            out["terminal_count"] = self.terminal_count
            out["terminals"] = sorted(self.terminals)[:50]
        return out


class _StormTracker:
    """Detects one terminal's storms, code by code, with O(threshold) memory per code."""

    def __init__(self, threshold: int, window: float, keep: int) -> None:
        self.threshold = max(1, threshold)
        self.window = window
        self.recent: dict[str, deque[float]] = {}
        self.open: dict[str, Storm] = {}
        self.storms: deque[Storm] = deque(maxlen=keep)
        self.total = 0

    def hit(self, code: str, moment: float) -> None:
        storm = self.open.get(code)
        if storm is not None and moment - storm.end <= self.window:
            storm.end = max(storm.end, moment)
            storm.count += 1
            return
        recent = self.recent.setdefault(code, deque(maxlen=self.threshold))
        recent.append(moment)
        if len(recent) == self.threshold and moment - recent[0] <= self.window:
            storm = Storm(code, recent[0], moment, self.threshold)
            self.open[code] = storm
            self.storms.append(storm)
            self.total += 1
            recent.clear()


_BUCKETS = 30


class _FleetStormTracker:
    """Detects fleet storms: one code's share of all outcomes in a sliding window, kept in time buckets.

    Memory: ``_BUCKETS`` buckets of per-code counts and terminal sets, so at most the
    terminals active in one window.
    """

    def __init__(self, threshold: int, share: float, window: float, keep: int) -> None:
        self.threshold = max(1, threshold)
        self.share = share
        self.window = window
        self.width = window / _BUCKETS
        self.buckets: deque[tuple[int, Counter[str], dict[str, set[str]]]] = deque()
        self.open: dict[str, Storm] = {}
        self.storms: deque[Storm] = deque(maxlen=keep)

    def outcome(self, code: str, moment: float, tid: str) -> None:
        index = int(moment // self.width)
        if not self.buckets or self.buckets[-1][0] < index:
            self.buckets.append((index, Counter(), {}))
            while self.buckets[0][0] <= index - _BUCKETS:
                self.buckets.popleft()
        _, counts, members = self.buckets[-1]  # a late, out-of-order outcome counts as now
        counts["*"] += 1
        if code == "00":
            return
        counts[code] += 1
        members.setdefault(code, set()).add(tid)
        in_window = sum(c[code] for _, c, _ in self.buckets)
        storming = in_window >= self.threshold and in_window >= self.share * sum(c["*"] for _, c, _ in self.buckets)
        storm = self.open.get(code)
        if storm is not None and storming:
            storm.end = max(storm.end, moment)
            storm.count += 1
            storm.terminals.add(tid)
        elif storming:
            first = next(i for i, c, _ in self.buckets if c[code])
            tids = set().union(*(m.get(code, set()) for _, _, m in self.buckets))
            storm = Storm(code, max(first * self.width, moment - self.window), moment, in_window, tids)
            self.open[code] = storm
            self.storms.append(storm)
        elif storm is not None:
            del self.open[code]


def amount_bucket(amount_fen: int) -> int:
    """Index of an amount's bucket: the first whose edge is at least the amount, else the last one.

    >>> amount_bucket(10_000), amount_bucket(10_001), amount_bucket(50_000_000)
    (0, 1, 5)
    """
    return bisect_left(AMOUNT_EDGES_FEN, amount_fen)


class _Purchases:
    """One terminal's approved purchases: count and amount per card class and amount bucket, in constant memory."""

    __slots__ = ("cells", "recent", "reversals", "voids", "voids_unmatched")

    def __init__(self) -> None:
        self.cells: dict[CardClass, array[int]] = {}
        """Per class: count then amount (fen) of each bucket, bucket after bucket."""
        self.recent: list[tuple[str | None, bool, CardClass, int]] = []
        """(trace number, is a void, card class, amount) of the latest approved purchases and voids, oldest first."""
        self.voids = self.reversals = self.voids_unmatched = 0

    def approved(self, stan: str | None, card: CardClass, amount: int) -> None:
        """Count an approved purchase (the hot path: one call per approved purchase, kept flat)."""
        cells = self.cells.get(card)
        if cells is None:
            cells = self.cells[card] = array("q", bytes(8 * _CELLS))
        at = 2 * bisect_left(AMOUNT_EDGES_FEN, amount)
        cells[at] += 1
        cells[at + 1] += amount
        recent = self.recent
        recent.append((stan, False, card, amount))
        if len(recent) > _RECENT_TAKEN:
            del recent[0]

    def voided(self, stan: str | None, card: CardClass | None, amount: int) -> None:
        """Take back the purchase an approved void undoes, if its class and bucket can hold it."""
        if card is None or not self._take(card, amount):
            self.voids_unmatched += 1
            return
        self.voids += 1
        self._remember((stan, True, card, amount))

    def reverse(self, stan: str | None) -> None:
        """Undo the recent approved purchase or void with this trace number (if there is one, once)."""
        for index in range(len(self.recent) - 1, -1, -1):
            if self.recent[index][0] == stan:
                _, void, card, amount = self.recent.pop(index)
                if void:
                    self._put(card, amount)
                    self.reversals += 1
                elif self._take(card, amount):
                    self.reversals += 1
                return

    def _remember(self, entry: tuple[str | None, bool, CardClass, int]) -> None:
        self.recent.append(entry)
        if len(self.recent) > _RECENT_TAKEN:
            del self.recent[0]

    def _put(self, card: CardClass, amount: int) -> None:
        cells = self.cells.get(card)
        if cells is None:
            cells = self.cells[card] = array("q", bytes(8 * _CELLS))
        at = 2 * amount_bucket(amount)
        cells[at] += 1
        cells[at + 1] += amount

    def _take(self, card: CardClass, amount: int) -> bool:
        """Subtract one purchase of ``amount`` if the bucket could hold it (never below zero, nothing left over)."""
        cells = self.cells.get(card)
        if cells is None:
            return False
        at = 2 * amount_bucket(amount)
        count, total = cells[at], cells[at + 1]
        if count < 1 or total < amount or (count == 1 and total != amount):
            return False
        cells[at] -= 1
        cells[at + 1] -= amount
        return True

    def by_class(self) -> tuple[tuple[CardClass, tuple[int, ...]], ...]:
        """The cells of each card class that holds a purchase, in the order debit, credit, unknown."""
        return tuple((card, tuple(cells)) for card in _CLASS_ORDER
                     if (cells := self.cells.get(card)) is not None and any(cells[0::2]))


def purchase_figures(cells: tuple[int, ...]) -> dict[str, Any]:
    """One card class's count, amount and buckets, as stored, from its cells (count then amount of each bucket).

    >>> purchase_figures((1, 5000, 0, 0, 0, 0, 0, 0, 0, 0, 2, 30000000))["buckets"][-1]
    {'upto_fen': None, 'count': 2, 'amount_fen': 30000000}
    """
    return {"count": sum(cells[0::2]), "amount_fen": sum(cells[1::2]),
            "buckets": [{"upto_fen": edge, "count": cells[2 * i], "amount_fen": cells[2 * i + 1]}
                        for i, edge in enumerate((*AMOUNT_EDGES_FEN, None))]}


@dataclass(frozen=True, slots=True)
class SignInAttempt:
    """One sign-in: when, the host's answer (or ``timeout``), and the key check if it was made."""

    time: float
    code: str
    key_check: str | None = None

    @property
    def succeeded(self) -> bool:
        """True when the host approved and the keys (if checked) verified."""
        return self.code == "00" and self.key_check != "master_key_missing"

    def to_dict(self) -> dict[str, object]:
        """Return the attempt."""
        meaning = lookup(self.code)
        return {"time": iso_time(self.time), "code": self.code, "zh": meaning.zh, "en": meaning.en,
                "key_check": self.key_check, "succeeded": self.succeeded}


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one exchange ended: request time, its kind, the answer's code (or ``timeout``)."""

    time: float
    kind: str
    code: str

    def to_dict(self) -> dict[str, object]:
        """Return the outcome with the code's meaning."""
        meaning = lookup(self.code)
        return {"time": iso_time(self.time), "kind": self.kind, "code": self.code, "zh": meaning.zh,
                "en": meaning.en, "category": meaning.category}


@dataclass(slots=True)
class _Pending:
    time: float
    tid: str
    kind: MessageKind
    card: CardClass | None = None
    """Purchases and voids: the card's class (``None`` for a void without a card number)."""
    amount: int = 0


class _Terminal:
    """Running aggregates of one terminal."""

    def __init__(self, tid: str, settings: AnalysisSettings) -> None:
        self.tid = tid
        self.mid: str | None = None
        self.first_seen = self.last_seen = 0.0
        self.to_host = self.to_terminal = 0
        self.requests: Counter[str] = Counter()
        self.approved = 0
        self.failures: Counter[str] = Counter()
        self.timeouts = 0
        self.reversals = 0
        self.latency_total = 0.0
        self.latency_max = 0.0
        self.latency_count = 0
        self.sign_ins: deque[SignInAttempt] = deque(maxlen=settings.history)
        self.sign_in_total = 0
        self.sign_in_failed = 0
        self.last_signed_in: float | None = None
        self.last_approved_payment: float | None = None
        self.last_transaction: Outcome | None = None
        self.last_other: Outcome | None = None
        self.storms = _StormTracker(settings.storm_threshold, settings.storm_window, settings.history)
        self.purchases: _Purchases | None = None
        self.mccs: Counter[str] | None = None
        self.mccs_other = 0

    def mcc(self, code: str) -> None:
        """Count a request's merchant category code (field 18), keeping at most ``MAX_MCCS`` codes."""
        if self.mccs is None:
            self.mccs = Counter()
        if code in self.mccs or len(self.mccs) < MAX_MCCS:
            self.mccs[code] += 1
        else:
            self.mccs_other += 1


@dataclass(frozen=True, slots=True)
class TerminalTraffic:
    """What one terminal's traffic shows, with the diagnosis evidence it implies."""

    tid: str
    merchant_id: str | None
    first_seen: float
    last_seen: float
    frames_to_host: int
    frames_to_terminal: int
    messages: dict[str, int]
    approved: int
    failures: dict[str, int]
    timeouts: int
    reversals: int
    latency_mean_ms: float | None
    latency_max_ms: float | None
    sign_ins: tuple[SignInAttempt, ...]
    sign_in_total: int
    sign_in_failed: int
    last_successful_sign_in: float | None
    last_approved_transaction: float | None
    """Request time of the latest approved purchase, void, refund, pre-authorization… (not sign-ins or inquiries)."""
    last_outcome: Outcome | None
    storms: tuple[Storm, ...]
    storm_total: int
    evidence: dict[str, str]
    causes: tuple[str, ...]
    purchase_cells: tuple[tuple[CardClass, tuple[int, ...]], ...] = ()
    """Approved purchases of each card class that has any: count then amount (fen) of each amount bucket."""
    voids_taken_back: int = 0
    """Approved voids that took their purchase back."""
    reversals_taken_back: int = 0
    """Reversals that took back an approved purchase (or put back a voided one)."""
    voids_unmatched: int = 0
    """Approved voids whose purchase was not among those counted (see the module docstring)."""
    mccs: dict[str, int] = field(default_factory=dict)
    """Merchant category code (field 18) → requests carrying it."""
    mccs_other: int = 0
    """Requests with a code beyond the first ``MAX_MCCS`` distinct ones."""

    @property
    def purchases(self) -> dict[str, dict[str, Any]]:
        """Approved purchases by card class: count, amount (fen) and amount buckets (classes without one left out)."""
        return {card.value: purchase_figures(cells) for card, cells in self.purchase_cells}

    def to_dict(self) -> dict[str, object]:
        """Return the terminal's figures, history and evidence as JSON-ready data."""
        return {
            "tid": self.tid,
            "merchant_id": self.merchant_id,
            "first_seen": iso_time(self.first_seen),
            "last_seen": iso_time(self.last_seen),
            "frames": {"to_host": self.frames_to_host, "to_terminal": self.frames_to_terminal},
            "messages": dict(sorted(self.messages.items())),
            "approved": self.approved,
            "failures": dict(sorted(self.failures.items(), key=lambda kv: (-kv[1], kv[0]))),
            "timeouts": self.timeouts,
            "reversals": self.reversals,
            "latency_ms": None if self.latency_mean_ms is None else
            {"mean": round(self.latency_mean_ms, 1), "max": round(self.latency_max_ms or 0.0, 1)},
            "sign_ins": {
                "total": self.sign_in_total,
                "failed": self.sign_in_failed,
                "last_successful": iso_time(self.last_successful_sign_in),
                "recent": [a.to_dict() for a in self.sign_ins],
            },
            "last_approved_transaction": iso_time(self.last_approved_transaction),
            "last_outcome": self.last_outcome.to_dict() if self.last_outcome else None,
            "storms": [s.to_dict() for s in self.storms],
            "storm_total": self.storm_total,
            "evidence": dict(self.evidence),
            "causes": list(self.causes),
            "purchases": self.purchases,
            "purchases_taken_back": {"voids": self.voids_taken_back, "reversals": self.reversals_taken_back,
                                     "voids_unmatched": self.voids_unmatched},
            "mccs": dict(sorted(self.mccs.items(), key=lambda kv: (-kv[1], kv[0]))),
            "mccs_other": self.mccs_other,
        }


@dataclass(frozen=True, slots=True)
class TrafficReport:
    """The result of an analysis: totals, malformed input, fleet storms and every terminal."""

    frames: int
    malformed: int
    errors: tuple[str, ...]
    unmatched_answers: int
    retransmissions: int
    started: float | None
    ended: float | None
    terminals: tuple[TerminalTraffic, ...]
    fleet_storms: tuple[Storm, ...]
    settings: AnalysisSettings

    def terminal(self, tid: str) -> TerminalTraffic | None:
        """Return one terminal's traffic, if it appeared."""
        return next((t for t in self.terminals if t.tid == tid), None)

    def to_dict(self) -> dict[str, object]:
        """Return the whole report as JSON-ready data (holds no card data)."""
        failures: Counter[str] = Counter()
        for t in self.terminals:
            failures.update(t.failures)
        return {
            "frames": self.frames,
            "malformed": self.malformed,
            "errors": list(self.errors),
            "unmatched_answers": self.unmatched_answers,
            "retransmissions": self.retransmissions,
            "started": iso_time(self.started),
            "ended": iso_time(self.ended),
            "approved": sum(t.approved for t in self.terminals),
            "failures": dict(sorted(failures.items(), key=lambda kv: (-kv[1], kv[0]))),
            "fleet_storms": [s.to_dict() for s in self.fleet_storms],
            "settings": self.settings.to_dict(),
            "terminals": [t.to_dict() for t in self.terminals],
        }


class TrafficAnalyzer:
    """Consumes frames one at a time; :meth:`finish` returns the report."""

    def __init__(self, settings: AnalysisSettings | None = None,
                 master_keys: Mapping[str, bytes] | None = None, bin_table: BinTable | None = None) -> None:
        self.settings = settings or AnalysisSettings()
        self.master_keys = dict(master_keys or {})
        self.bins = bin_table or default_bin_table()
        self._terminals: dict[str, _Terminal] = {}
        self._pending: OrderedDict[tuple[str, str, str | None], _Pending] = OrderedDict()
        self._fleet = _FleetStormTracker(self.settings.fleet_storm_threshold, self.settings.fleet_storm_share,
                                         self.settings.storm_window, self.settings.history)
        self._errors: deque[str] = deque(maxlen=self.settings.max_errors)
        self.frames = 0
        self.malformed = 0
        self.unmatched_answers = 0
        self.retransmissions = 0
        self._started: float | None = None
        self._ended: float | None = None

    @property
    def pending_requests(self) -> int:
        """Requests currently awaiting an answer (bounded by ``max_pending``)."""
        return len(self._pending)

    def add(self, item: FrameRecord | LogLineError) -> None:
        """Take one record (or one unreadable log line) into account."""
        if isinstance(item, LogLineError):
            self._bad(str(item))
            return
        self.frames += 1
        moment = item.timestamp
        if self._started is None or moment < self._started:
            self._started = moment
        if self._ended is None or moment > self._ended:
            self._ended = moment
        try:
            message = decode_frame(item.frame)
        except FrameError as exc:
            where = f"line {item.line}" if item.line else iso_time(moment)
            self._bad(f"{where}: {exc}")
            return
        tid = message.tid or "-"
        terminal = self._terminal(tid, moment)
        if message.mid:
            terminal.mid = message.mid
        if item.direction == TO_HOST:
            terminal.to_host += 1
        else:
            terminal.to_terminal += 1
        parts = split_field_60(message.fields.get("60", ""))
        kind = name_of(message.mti, parts.get("60.1"), parts.get("60.3")).kind
        if message.is_response:
            self._answer(terminal, message.request_mti, message.stan, kind, moment,
                         message.response_code, message.get(62))
        else:
            fields = message.fields
            mcc = fields.get("18")
            if mcc:
                terminal.mcc(mcc)
            card: CardClass | None = None
            amount = 0
            if kind is PURCHASE or kind is VOID:
                pan = fields.get("2")
                card = self.bins.card_class(pan) if pan else CardClass.UNKNOWN if kind is PURCHASE else None
                amount = int(fields.get("4") or 0)  # fen; the codec has checked the digits
            self._request(terminal, message.mti, message.stan, kind, moment, card, amount)
        self._expire(moment)

    def add_all(self, items: Iterable[FrameRecord | LogLineError]) -> TrafficAnalyzer:
        """Take every item of an iterable into account (consumed lazily); return self."""
        for item in items:
            self.add(item)
        return self

    # -- pairing -----------------------------------------------------------------------

    def _terminal(self, tid: str, moment: float) -> _Terminal:
        terminal = self._terminals.get(tid)
        if terminal is None:
            terminal = self._terminals[tid] = _Terminal(tid, self.settings)
            terminal.first_seen = moment
        terminal.first_seen = min(terminal.first_seen, moment)
        terminal.last_seen = max(terminal.last_seen, moment)
        return terminal

    def _request(self, terminal: _Terminal, mti: str, stan: str | None, kind: MessageKind, moment: float,
                 card: CardClass | None = None, amount: int = 0) -> None:
        terminal.requests[kind.id] += 1
        if kind is REVERSAL:
            terminal.reversals += 1
            if terminal.purchases is not None:
                terminal.purchases.reverse(stan)
            for original in _ORIGINALS:
                taken_back = self._pending.pop((terminal.tid, original, stan), None)
                if taken_back is not None:
                    self._timed_out(taken_back)
        key = (terminal.tid, mti, stan)
        if key in self._pending:
            self.retransmissions += 1
            return
        self._pending[key] = _Pending(moment, terminal.tid, kind, card, amount)
        if len(self._pending) > self.settings.max_pending:
            _, oldest = self._pending.popitem(last=False)
            self._timed_out(oldest)

    def _find_pending(self, tid: str, mti: str, stan: str | None) -> _Pending | None:
        found = self._pending.pop((tid, mti, stan), None)
        if found is not None or stan is not None:
            return found
        # An answer without field 11: take the oldest open request of that terminal and type.
        for key in self._pending:
            if key[0] == tid and key[1] == mti:
                return self._pending.pop(key)
        return None

    def _answer(self, terminal: _Terminal, request_mti: str, stan: str | None, kind: MessageKind,
                moment: float, code: str | None, field_62: str | None) -> None:
        request = self._find_pending(terminal.tid, request_mti, stan)
        if request is None:
            self.unmatched_answers += 1
            started = moment
        else:
            started = request.time
            latency = max(0.0, moment - request.time)
            terminal.latency_total += latency
            terminal.latency_count += 1
            terminal.latency_max = max(terminal.latency_max, latency)
        if code is None:  # answered without a response code (some settlement answers)
            return
        if code == "00":
            terminal.approved += 1
            self._fleet.outcome(code, moment, terminal.tid)
            if request is not None and (request.kind is PURCHASE or request.kind is VOID):
                purchases = terminal.purchases
                if purchases is None:
                    purchases = terminal.purchases = _Purchases()
                if request.kind is PURCHASE:
                    purchases.approved(stan, request.card or CardClass.UNKNOWN, request.amount)
                else:
                    purchases.voided(stan, request.card, request.amount)
            if kind in MONEY_MOVING and (terminal.last_approved_payment is None
                                         or started > terminal.last_approved_payment):
                terminal.last_approved_payment = started
        else:
            self._failure(terminal, code, moment)
        if kind is SIGN_IN:
            self._sign_in(terminal, SignInAttempt(started, code, self._key_check(terminal.tid, code, field_62)))
        self._outcome(terminal, Outcome(started, kind.id, code), kind in TRANSACTIONS)

    def _key_check(self, tid: str, code: str, field_62: str | None) -> str | None:
        master_key = self.master_keys.get(tid)
        if master_key is None or code != "00" or field_62 is None:
            return None
        try:
            keys = split_working_keys(field_62)
        except FrameError:
            return "master_key_missing"
        return verify_working_keys(keys, master_key).evidence()["key_check"]

    def _timed_out(self, request: _Pending) -> None:
        terminal = self._terminals[request.tid]
        terminal.timeouts += 1
        self._failure(terminal, TIMEOUT, request.time)
        if request.kind is SIGN_IN:
            self._sign_in(terminal, SignInAttempt(request.time, TIMEOUT))
        self._outcome(terminal, Outcome(request.time, request.kind.id, TIMEOUT), request.kind in TRANSACTIONS)

    def _expire(self, now: float) -> None:
        limit = now - self.settings.timeout
        while self._pending:
            key, oldest = next(iter(self._pending.items()))
            if oldest.time >= limit:
                break
            del self._pending[key]
            self._timed_out(oldest)

    # -- aggregates --------------------------------------------------------------------

    def _failure(self, terminal: _Terminal, code: str, moment: float) -> None:
        terminal.failures[code] += 1
        terminal.storms.hit(code, moment)
        self._fleet.outcome(code, moment, terminal.tid)

    def _sign_in(self, terminal: _Terminal, attempt: SignInAttempt) -> None:
        terminal.sign_in_total += 1
        terminal.sign_ins.append(attempt)
        if attempt.succeeded:
            if terminal.last_signed_in is None or attempt.time > terminal.last_signed_in:
                terminal.last_signed_in = attempt.time
        else:
            terminal.sign_in_failed += 1

    @staticmethod
    def _outcome(terminal: _Terminal, outcome: Outcome, transaction: bool) -> None:
        if transaction:
            if terminal.last_transaction is None or outcome.time >= terminal.last_transaction.time:
                terminal.last_transaction = outcome
        elif terminal.last_other is None or outcome.time >= terminal.last_other.time:
            terminal.last_other = outcome

    def _bad(self, message: str) -> None:
        self.malformed += 1
        self._errors.append(message)

    # -- the report --------------------------------------------------------------------

    def finish(self) -> TrafficReport:
        """Count every request still unanswered as timed out and return the report."""
        while self._pending:
            _, request = self._pending.popitem(last=False)
            self._timed_out(request)
        fleet = tuple(s for s in self._fleet.storms if s.terminal_count > 1)  # one terminal: its own storm
        terminals = tuple(self._summarise(t, fleet) for t in sorted(self._terminals.values(), key=lambda t: t.tid))
        return TrafficReport(self.frames, self.malformed, tuple(self._errors), self.unmatched_answers,
                             self.retransmissions, self._started, self._ended, terminals, fleet, self.settings)

    def _summarise(self, t: _Terminal, fleet: tuple[Storm, ...]) -> TerminalTraffic:
        evidence, causes = _evidence(t, fleet, self.settings.storm_window)
        count = t.latency_count
        purchases = t.purchases
        return TerminalTraffic(
            tid=t.tid, merchant_id=t.mid, first_seen=t.first_seen, last_seen=t.last_seen,
            frames_to_host=t.to_host, frames_to_terminal=t.to_terminal, messages=dict(t.requests),
            approved=t.approved, failures=dict(t.failures), timeouts=t.timeouts, reversals=t.reversals,
            latency_mean_ms=(t.latency_total / count * 1000) if count else None,
            latency_max_ms=(t.latency_max * 1000) if count else None,
            sign_ins=tuple(t.sign_ins), sign_in_total=t.sign_in_total, sign_in_failed=t.sign_in_failed,
            last_successful_sign_in=t.last_signed_in, last_approved_transaction=t.last_approved_payment,
            last_outcome=t.last_transaction or t.last_other,
            storms=tuple(t.storms.storms), storm_total=t.storms.total, evidence=evidence, causes=tuple(causes),
            purchase_cells=purchases.by_class() if purchases else (),
            voids_taken_back=purchases.voids if purchases else 0,
            reversals_taken_back=purchases.reversals if purchases else 0,
            voids_unmatched=purchases.voids_unmatched if purchases else 0,
            mccs=dict(t.mccs) if t.mccs else {}, mccs_other=t.mccs_other,
        )


def _evidence(t: _Terminal, fleet: tuple[Storm, ...], window: float) -> tuple[dict[str, str], list[str]]:
    """Check id → outcome, and cause ids, implied by a terminal's latest outcome, sign-ins and storms."""
    evidence: dict[str, str] = {}
    causes: list[str] = []
    last = t.last_transaction or t.last_other
    last_sign_in = t.sign_ins[-1] if t.sign_ins else None
    if last is not None:
        meaning = lookup(last.code)
        evidence.update(meaning.evidence())
        causes.extend(meaning.causes)
        if last.code == "55" and _in_storm(t.storms.open.get("55"), last.time, window):
            # Wrong PINs from many cards at once point at the terminal's PIN key, not at cardholders.
            evidence["key_check"] = "work_key_invalid"
            causes.insert(0, "sw.keys")
        if last.code in _HOST_CODES and any(
                s.code == last.code and _in_storm(s, last.time, window) for s in fleet):
            evidence["host_status"] = "degraded"
    if "key_check" not in evidence and last_sign_in is not None and last_sign_in.key_check is not None:
        if last_sign_in.key_check == "master_key_missing":
            if last is None or last.time <= last_sign_in.time:  # nothing got through since
                evidence["key_check"] = "master_key_missing"
                causes.insert(0, "sw.master_key")
        elif last is None or last.code not in _KEY_OUTCOMES:
            evidence["key_check"] = "ok"
    return evidence, list(dict.fromkeys(causes))


def _in_storm(storm: Storm | None, moment: float, window: float) -> bool:
    return storm is not None and storm.start - window <= moment <= storm.end + window


def analyze(items: Iterable[FrameRecord | LogLineError], settings: AnalysisSettings | None = None,
            master_keys: Mapping[str, bytes] | None = None, bin_table: BinTable | None = None) -> TrafficReport:
    """Analyse a stream of frames (consumed lazily) and return the report; card classes from ``bin_table``."""
    return TrafficAnalyzer(settings, master_keys, bin_table).add_all(items).finish()
