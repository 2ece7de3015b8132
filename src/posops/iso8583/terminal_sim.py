"""Simulated POS terminal: signs in, makes purchases, reverses what timed out, settles, logs it all.

Given a merchant category code (``mcc``), its purchases carry it in field 18, as some acquirers' do.

The terminal sends what a real one sends — PAN, track 2 and an encrypted PIN block of a
test card — but its :class:`~posops.iso8583.logs.FrameLog` is redacted: the log keeps the
PAN's first six and last four digits only and zeroes track data, PIN block and sensitive
chip tags, lengths kept, so the log still decodes and analyses.

It refuses to transact after a failed sign-in (host answer not 00, no answer, or key check
values that do not verify under its master key), as terminals do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from posops.iso8583.acquirer_sim import DEFAULT_KEY_SEED, simulated_master_key
from posops.iso8583.codec import decode_frame, encode_frame
from posops.iso8583.errors import FrameError
from posops.iso8583.framing import read_frame, write_frame
from posops.iso8583.keys import split_working_keys, tdes_encrypt, verify_working_keys
from posops.iso8583.logs import TO_HOST, TO_TERMINAL, FrameLog
from posops.iso8583.mac import MAC_BYTES, sign_frame, verify_frame
from posops.iso8583.masking import mask_pan
from posops.iso8583.message import Message
from posops.iso8583.response_codes import TIMEOUT

log = logging.getLogger(__name__)

#: UnionPay test card numbers (published for integration testing; never issued to anyone).
TEST_PAN = "6250946000000016"
TEST_EXPIRY = "2912"
TEST_PIN = "123456"


@dataclass(slots=True)
class TerminalRun:
    """What happened in one simulated session."""

    tid: str
    sign_in: str | None = None
    """The sign-in answer's code, ``timeout``, or ``None`` when the host was unreachable."""
    key_check: str | None = None
    approved: int = 0
    declined: Counter[str] = field(default_factory=Counter)
    timeouts: int = 0
    reversals: int = 0
    settled: str | None = None
    error: str | None = None

    @property
    def signed_in(self) -> bool:
        """True when the sign-in was approved and its keys verified."""
        return self.sign_in == "00" and self.key_check == "ok"

    def to_dict(self) -> dict[str, object]:
        """Return the run as JSON-ready data."""
        return {"tid": self.tid, "sign_in": self.sign_in, "key_check": self.key_check,
                "signed_in": self.signed_in, "approved": self.approved, "declined": dict(self.declined),
                "timeouts": self.timeouts, "reversals": self.reversals, "settled": self.settled,
                "error": self.error}


def pin_block(pin: str, pan: str, pin_key: bytes) -> str:
    """ISO 9564 format 0 PIN block, encrypted under the PIN key (hex)."""
    pin_field = bytes.fromhex(f"0{len(pin)}{pin}".ljust(16, "F"))
    pan_field = bytes.fromhex("0000" + pan[-13:-1])
    return tdes_encrypt(pin_key, bytes(a ^ b for a, b in zip(pin_field, pan_field, strict=True))).hex().upper()


class SimulatedTerminal:
    """One terminal talking to a host over one TCP connection."""

    def __init__(self, tid: str, mid: str = "898310048990001", *, key_seed: str = DEFAULT_KEY_SEED,
                 timeout: float = 5.0, log_to: FrameLog | None = None, pan: str = TEST_PAN,
                 expiry: str = TEST_EXPIRY, amount: int = 100, mcc: str | None = None) -> None:
        self.tid = tid
        self.mid = mid
        self.master_key = simulated_master_key(tid, key_seed)
        self.timeout = timeout
        self.log = log_to
        self.pan = pan
        self.expiry = expiry
        self.amount = amount
        self.mcc = mcc
        self.batch = "000001"
        self._stan = 0
        self._pin_key = b""
        self._mac_key = b""
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    def __repr__(self) -> str:
        return f"SimulatedTerminal(tid={self.tid!r}, pan={mask_pan(self.pan)!r})"

    async def run(self, host: str, port: int, count: int) -> TerminalRun:
        """Connect, sign in, make ``count`` purchases, settle, disconnect; return what happened."""
        result = TerminalRun(self.tid)
        try:
            self._reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), self.timeout)
        except (OSError, TimeoutError) as exc:
            result.error = f"cannot reach {host}:{port}: {exc.__class__.__name__}"
            return result
        self._writer = writer
        try:
            await self.sign_in(result)
            if result.signed_in:
                for _ in range(count):
                    await self.purchase(result)
                if count:
                    await self.settle(result)
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            result.error = f"connection lost: {exc.__class__.__name__}"
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        return result

    # -- transactions ------------------------------------------------------------------

    async def sign_in(self, result: TerminalRun) -> None:
        """Sign in with double-length keys (60.3 ``003``) and verify the check values."""
        request = Message("0800", {"11": self._next_stan(), "41": self.tid, "42": self.mid,
                                   "60": f"00{self.batch}003", "63": "001"})
        answer = await self._exchange(encode_frame(request), request)
        if answer is None:
            result.sign_in = TIMEOUT
            return
        result.sign_in = answer.response_code
        if answer.response_code != "00" or "62" not in answer.fields:
            return
        try:
            keys = split_working_keys(answer.fields["62"])
        except FrameError:
            result.key_check = "master_key_missing"
            return
        result.key_check = verify_working_keys(keys, self.master_key).evidence()["key_check"]
        if result.key_check == "ok":
            pin, mac = keys.get("pin"), keys.get("mac")
            assert pin is not None and mac is not None
            self._pin_key, self._mac_key = pin.decrypt(self.master_key), mac.decrypt(self.master_key)
            self.batch = answer.part_60("60.2") or self.batch
        else:
            log.warning("terminal %s: working key check values do not verify", self.tid)

    async def purchase(self, result: TerminalRun) -> None:
        """Make one purchase; reverse it if the answer never comes or its MAC is wrong."""
        fields = {
            "2": self.pan, "3": "000000", "4": f"{self.amount:012d}", "11": self._next_stan(),
            "14": self.expiry, "22": "021", "25": "00", "26": "06",
            "35": f"{self.pan}D{self.expiry}2010000000000"[:37], "41": self.tid, "42": self.mid, "49": "156",
            "52": pin_block(TEST_PIN, self.pan, self._pin_key), "53": "2600000000000000",
            "60": f"22{self.batch}000" + "50",
        }
        if self.mcc:
            fields["18"] = self.mcc
        request = Message("0200", fields)
        answer = await self._exchange(self._signed(request), request)
        log.info("%r purchase %r: %s", self, request, answer.response_code if answer else TIMEOUT)
        if answer is None:
            result.timeouts += 1
            await self.reverse(request, "98", result)
        elif answer.response_code == "00" and "64" in answer.fields and not self._answer_mac_ok(answer):
            result.declined["mac"] += 1
            await self.reverse(request, "A0", result)
        elif answer.response_code == "00":
            result.approved += 1
        else:
            result.declined[answer.response_code or "?"] += 1

    async def reverse(self, original: Message, reason: str, result: TerminalRun) -> None:
        """Send a reversal (冲正) of ``original`` with the reason code in field 39; one try."""
        keep = ("2", "3", "4", "11", "14", "22", "25", "41", "42", "49", "60")
        fields = {k: original.fields[k] for k in keep if k in original.fields}
        fields["39"] = reason
        request = Message("0400", fields)
        result.reversals += 1
        answer = await self._exchange(self._signed(request), request)
        if answer is None:
            result.timeouts += 1

    async def settle(self, result: TerminalRun) -> None:
        """Settle the batch (60.3 ``201``) with the approved purchases' totals in field 48."""
        totals = f"{result.approved * self.amount:012d}{result.approved:03d}" + "0" * 15 + "0"
        request = Message("0500", {"11": self._next_stan(), "41": self.tid, "42": self.mid,
                                   "48": totals.ljust(62, "0"), "49": "156", "60": f"00{self.batch}201",
                                   "63": "001"})
        answer = await self._exchange(encode_frame(request), request)
        result.settled = TIMEOUT if answer is None else answer.response_code

    # -- plumbing ----------------------------------------------------------------------

    def _next_stan(self) -> str:
        self._stan = self._stan % 999_999 + 1
        return f"{self._stan:06d}"

    def _signed(self, request: Message) -> bytes:
        frame = encode_frame(request.with_fields(f64="0" * (2 * MAC_BYTES)))
        return sign_frame(frame, self._mac_key)

    def _answer_mac_ok(self, answer: Message) -> bool:
        return verify_frame(encode_frame(answer), self._mac_key)

    async def _exchange(self, frame: bytes, request: Message) -> Message | None:
        """Send a frame and wait for its answer (same MTI pair and trace); ``None`` on timeout."""
        assert self._reader is not None and self._writer is not None
        self._log(TO_HOST, frame)
        await write_frame(self._writer, frame)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while (left := deadline - loop.time()) > 0:
            try:
                raw = await asyncio.wait_for(read_frame(self._reader), left)
            except TimeoutError:
                return None
            if raw is None:
                raise ConnectionResetError("host closed the connection")
            self._log(TO_TERMINAL, raw)
            try:
                answer = decode_frame(raw)
            except FrameError as exc:
                log.warning("terminal %s: unreadable answer: %s", self.tid, exc)
                continue
            if answer.mti == request.response_mti and answer.stan == request.stan:
                return answer
        return None

    def _log(self, direction: str, frame: bytes) -> None:
        if self.log is not None:
            self.log.write(TO_HOST if direction == TO_HOST else TO_TERMINAL, frame, datetime.now().astimezone())
