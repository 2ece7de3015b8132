"""The demo's ISO 8583 traffic: the host's log of the last hours for a handful of terminals, imported by the desk.

The log is written in the frame-log format the import reads (one frame a line: time, direction,
hex) through :class:`posops.iso8583.logs.FrameLog`, which redacts card data as posops' own logs
do; the card number in the purchases is already a redacted one (first six and last four digits,
zeros between), so no full PAN is ever written, not even to the temporary file. The import
(:func:`posops.iso8583.service.import_traffic`) then analyses it like any uploaded log.

What the log shows, terminal by terminal: the showcase terminal's ordinary hours with two
declines; the suspended showcase refused by the host since its suspension; a terminal of the
current carrier outage whose purchases time out and are reversed; one that cannot sign in
(终端未登记); a storm of wrong-PIN answers that points at the terminal's PIN key; and the failing
card reader's invalid-card-number answers. The wrong-PIN terminal's purchases also carry a
merchant category code (field 18) unlike its merchant's registered one, 8398 (公益类, the
cheapest to be priced in): the fee checks flag it to the risk team as 跳码 risk.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from posops.core.auth import Principal
from posops.core.db import Database
from posops.demo_cast import Cast
from posops.iso8583 import service as traffic
from posops.iso8583.codec import encode_frame
from posops.iso8583.logs import TO_HOST, TO_TERMINAL, Direction, FrameLog
from posops.iso8583.message import Message
from posops.terminals.models import Terminal

REDACTED_PANS = ("6222020000000016", "6222300000000024", "6250940000000016")
"""Card numbers as a redacted log keeps them (first six and last four digits): a debit and a credit BIN of
kb/bin_ranges.yaml, and UnionPay's test card, whose BIN is in no table — so the mix shows all three classes."""
HOURS = timedelta(hours=4)
"""How far back before the load the log starts."""
SWITCHED_MCC = "8398"
"""The merchant category code the wrong-PIN terminal's purchases carry (a charity's), no demo merchant's own."""
Event = tuple[datetime, Direction, Message]


def _card(stan: int) -> str:
    """The card of a purchase, six in ten debit, three credit, one unknown (by its trace number, not the rng:
    the rest of the log stays as it was)."""
    share = stan % 10
    return REDACTED_PANS[0 if share < 6 else 1 if share < 9 else 2]


@dataclass
class _Till:
    """One terminal at the host: what it sends and the counters its messages carry."""

    tid: str
    mid: str
    rng: random.Random
    stan: int = 0
    mcc: str = ""
    """The merchant category code its purchases carry in field 18 (none when empty)."""

    def next_stan(self) -> str:
        """The next system trace audit number (field 11)."""
        self.stan += 1
        return f"{self.stan:06d}"

    def sign_in(self) -> Message:
        """A sign-in (签到) asking for double-length working keys."""
        return Message("0800", {"11": self.next_stan(), "41": self.tid, "42": self.mid, "60": "00000001003",
                                "63": "001"})

    def purchase(self) -> Message:
        """A purchase (消费) of a few yuan to a few hundred."""
        amount = self.rng.choice((1200, 2850, 3600, 5800, 9900, 16800, 32000))
        category = {"18": self.mcc} if self.mcc else {}
        pan = _card(self.stan + 1)  # the stan the purchase is about to take
        return Message("0200", {"2": pan, "3": "000000", "4": f"{amount:012d}", "11": self.next_stan(),
                                **category, "22": "021", "25": "00", "41": self.tid, "42": self.mid, "49": "156",
                                "60": "2200000100050"})

    def answer(self, request: Message, code: str, at: datetime) -> Message:
        """The host's answer to ``request`` with response code ``code``."""
        fields = {k: v for k, v in request.fields.items() if k in ("2", "3", "4", "11", "41", "42", "49", "60")}
        fields.update({"12": f"{at:%H%M%S}", "13": f"{at:%m%d}", "37": f"{self.rng.randrange(10**11, 10**12)}",
                       "39": code})
        return Message(request.response_mti, fields, "6000000000", request.header)

    def reversal(self, original: Message) -> Message:
        """The reversal (冲正) a terminal sends when the answer to ``original`` never came."""
        keep = ("2", "3", "4", "11", "22", "25", "41", "42", "49", "60")
        return Message("0400", {**{k: original.fields[k] for k in keep if k in original.fields}, "39": "98"})


def _exchange(till: _Till, request: Message, at: datetime, code: str | None) -> Iterator[Event]:
    """A request and, unless the host stays silent (``None``), its answer a moment later."""
    yield at, TO_HOST, request
    if code is not None:
        later = at + timedelta(milliseconds=till.rng.randint(300, 1800))
        yield later, TO_TERMINAL, till.answer(request, code, later)


def _day(till: _Till, start: datetime, end: datetime, codes: list[str]) -> Iterator[Event]:
    """A sign-in at ``start``, then one purchase per code, evenly spread until ``end``."""
    yield from _exchange(till, till.sign_in(), start, "00")
    step = (end - start) / (len(codes) + 1)
    for index, code in enumerate(codes, start=1):
        yield from _exchange(till, till.purchase(), start + step * index, code)


def _timeouts(till: _Till, start: datetime, count: int) -> Iterator[Event]:
    """Purchases the host never answers, each reversed after a minute, the merchant retrying."""
    for index in range(count):
        at = start + timedelta(seconds=55 * index)
        lost = till.purchase()
        yield from _exchange(till, lost, at, None)
        yield from _exchange(till, till.reversal(lost), at + timedelta(seconds=50), None)


def _stories(tills: dict[int, _Till], cast: Cast, in_outage: tuple[int, ...], now: datetime) -> Iterator[Event]:
    """Every terminal's part of the log (see the module docstring)."""
    start, late = now - HOURS, now - timedelta(minutes=3)
    ordinary = ["00"] * 8 + ["51"] + ["00"] * 7 + ["55"] + ["00"] * 5
    yield from _day(tills[cast.healthy], start, late, ordinary)
    suspended = tills[cast.suspended]
    yield from _day(suspended, start, now - timedelta(minutes=50), ["00"] * 9)
    yield from _exchange(suspended, suspended.purchase(), now - timedelta(minutes=30), "58")
    yield from _exchange(suspended, suspended.purchase(), now - timedelta(minutes=28), "58")
    if in_outage:
        cut_off = tills[in_outage[0]]
        yield from _day(cut_off, start, now - timedelta(minutes=50), ["00"] * 10 + ["05"])
        yield from _timeouts(cut_off, now - timedelta(minutes=20), 5)
    refused = tills[cast.sign_in_failures]
    yield from _day(refused, start, now - timedelta(hours=2, minutes=10), ["00"] * 6)
    for minutes in (110, 100, 95, 60, 20):
        yield from _exchange(refused, refused.sign_in(), now - timedelta(minutes=minutes), "97")
    pins = tills[cast.declines]
    yield from _day(pins, start, now - timedelta(minutes=40), ["00"] * 7)
    for seconds in range(0, 300, 50):
        yield from _exchange(pins, pins.purchase(), now - timedelta(minutes=15) + timedelta(seconds=seconds), "55")
    reader = tills[cast.failing_reader]
    yield from _day(reader, start, late, ["00", "14", "00", "14", "14", "00", "14", "00", "14", "14"])


def load_traffic(db: Database, agent: Principal, cast: Cast, in_outage: tuple[int, ...], seed: int,
                 now: datetime) -> int:
    """Write the host log of the hours before ``now`` and import it as ``agent``; returns the terminals it matched."""
    rng = random.Random(f"{seed}:traffic")
    parts = (cast.healthy, cast.suspended, cast.sign_in_failures, cast.declines, cast.failing_reader, *in_outage[:1])
    with db.transaction() as session:
        rows = session.execute(select(Terminal.id, Terminal.tid, Terminal.mid).where(Terminal.id.in_(parts)))
        tills = {row.id: _Till(tid=row.tid, mid=row.mid, rng=rng) for row in rows}
    tills[cast.declines].mcc = SWITCHED_MCC
    name = f"acquirer-host-{now:%Y%m%d}.log"
    with tempfile.TemporaryDirectory(prefix="posops-demo-") as folder:
        path = Path(folder) / name
        with FrameLog(path) as log:
            for at, direction, message in sorted(_stories(tills, cast, in_outage, now), key=lambda e: e[0]):
                log.write(direction, encode_frame(message), at)
        return len(traffic.import_traffic(db, agent, path, name).matched)
