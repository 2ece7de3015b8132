"""Simulated acquirer host speaking CUP POS framing over TCP, with faults injectable per terminal.

It signs terminals in (fresh PIN and MAC keys encrypted under each terminal's master key,
with check values, in field 62), verifies the ANSI X9.19 MAC of financial requests with the
MAC key it issued, approves purchases, reversals and settlement, and can misbehave:

* ``unregistered`` — every request answered 97 (终端未登记);
* ``mac_out_of_sync`` — the host keeps a different MAC key than the one it sent: A0;
* ``master_key_mismatch`` — keys encrypted under another master key: the terminal's check
  values fail and it refuses them;
* ``outage`` — financial requests (0200, 0100, 0220, 0400, 0500) answered ``96`` or not at
  all (``silent``); sign-in still works, as when the front end is up but the switch is down;
* ``latency`` — seconds added before every answer.

Master keys are derived from the terminal id and a seed shared with the terminal simulator
(:func:`simulated_master_key`), standing in for key injection at the depot.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from posops.iso8583.codec import decode_frame, encode_frame
from posops.iso8583.errors import FrameError
from posops.iso8583.framing import read_frame, write_frame
from posops.iso8583.keys import issue_working_keys, tdes_decrypt
from posops.iso8583.mac import MAC_BYTES, sign_frame, verify_frame
from posops.iso8583.message import Message
from posops.iso8583.naming import (
    BALANCE_INQUIRY,
    BATCH_UPLOAD,
    BATCH_UPLOAD_END,
    ECHO_TEST,
    PURCHASE,
    REVERSAL,
    SETTLEMENT,
    SIGN_IN,
    SIGN_OFF,
    VOID,
    MessageKind,
    name_message,
)

log = logging.getLogger(__name__)

DEFAULT_KEY_SEED = "posops-sim"
ACQUIRER_ID = "48031000"
Outage = Literal["none", "96", "silent"]
_FINANCIAL_MTIS = frozenset({"0200", "0100", "0220", "0400", "0420", "0500"})


def simulated_master_key(tid: str, seed: str = DEFAULT_KEY_SEED) -> bytes:
    """Return the double-length master key the simulators agree on for a terminal."""
    return hashlib.sha256(f"{seed}:{tid}".encode()).digest()[:16]


@dataclass(frozen=True, slots=True)
class TerminalFaults:
    """Faults the host shows one terminal."""

    unregistered: bool = False
    mac_out_of_sync: bool = False
    master_key_mismatch: bool = False
    outage: Outage = "none"
    latency: float = 0.0


@dataclass(slots=True)
class _Session:
    pin_key: bytes = field(repr=False)
    mac_key: bytes = field(repr=False)
    batch: str = "000001"
    approved: Counter[str] = field(default_factory=Counter)


class AcquirerHost:
    """The host's logic (:meth:`answer`) and its TCP server (:meth:`serve`)."""

    def __init__(self, *, key_seed: str = DEFAULT_KEY_SEED, faults: Mapping[str, TerminalFaults] | None = None,
                 default_faults: TerminalFaults | None = None, clock: Callable[[], datetime] = datetime.now,
                 random_bytes: Callable[[int], bytes] = os.urandom) -> None:
        self.key_seed = key_seed
        self.faults = dict(faults or {})
        self.default_faults = default_faults or TerminalFaults()
        self.clock = clock
        self.random_bytes = random_bytes
        self.sessions: dict[str, _Session] = {}
        self.counts: Counter[str] = Counter()
        self._rrn = 0

    def faults_for(self, tid: str) -> TerminalFaults:
        """Return the faults injected for a terminal."""
        return self.faults.get(tid, self.default_faults)

    # -- the logic ---------------------------------------------------------------------

    def answer(self, frame: bytes) -> bytes | None:
        """Return the answer frame to a request frame, or ``None`` to stay silent."""
        return self.respond(frame)[0]

    def respond(self, frame: bytes) -> tuple[bytes | None, float]:
        """Return the answer frame (or ``None``) and the seconds to wait before sending it."""
        try:
            request = decode_frame(frame)
        except FrameError as exc:
            self.counts["malformed"] += 1
            log.warning("dropped a malformed frame: %s", exc)
            return None, 0.0
        if request.is_response:
            self.counts["unexpected_answer"] += 1
            return None, 0.0
        faults = self.faults_for(request.tid or "")
        return self._decide(frame, request, faults), faults.latency

    def _decide(self, frame: bytes, request: Message, faults: TerminalFaults) -> bytes | None:
        kind = name_message(request).kind
        self.counts[kind.id] += 1
        if faults.unregistered:
            return self._reply(request, "97")
        if request.mti in _FINANCIAL_MTIS and faults.outage != "none":
            if faults.outage == "silent":
                log.info("no answer to %r (outage)", request)
                return None
            return self._reply(request, "96")
        if kind is SIGN_IN:
            return self._sign_in(request, faults)
        if kind in (SIGN_OFF, ECHO_TEST):
            return self._reply(request, "00")
        if request.mti in _FINANCIAL_MTIS or kind in (BATCH_UPLOAD, BATCH_UPLOAD_END):
            return self._financial(frame, request, kind)
        return self._reply(request, "12")

    def _sign_in(self, request: Message, faults: TerminalFaults) -> bytes:
        tid = request.tid or ""
        master_key = simulated_master_key(tid, self.key_seed)
        if faults.master_key_mismatch:
            master_key = simulated_master_key(tid, self.key_seed + ":other")
        issued = issue_working_keys(master_key, random_bytes=self.random_bytes)
        mac_key = self.random_bytes(16) if faults.mac_out_of_sync else issued.mac_key
        previous = self.sessions.get(tid)
        batch = previous.batch if previous else "000001"
        self.sessions[tid] = _Session(issued.pin_key, mac_key, batch)
        network_code = request.part_60("60.3") or "003"
        return self._reply(request, "00", {"60": f"00{batch}{network_code}", "62": issued.field_62})

    def _financial(self, frame: bytes, request: Message, kind: MessageKind) -> bytes:
        session = self.sessions.get(request.tid or "")
        if session is None:
            return self._reply(request, "A0")  # never signed in: no MAC key to check with
        if "64" in request.fields and not verify_frame(frame, session.mac_key):
            return self._reply(request, "A0")
        if "52" in request.fields and not _pin_block_readable(request.fields["52"], session.pin_key):
            return self._reply(request, "99")
        extra: dict[str, str] = {}
        if kind in (PURCHASE, VOID):
            session.approved[kind.id] += 1
            extra["38"] = f"{self._rrn % 1_000_000:06d}"
        elif kind is BALANCE_INQUIRY:
            extra["54"] = "1002156C000000100000"
        elif kind is REVERSAL:
            session.approved["reversal"] += 1
        elif kind is SETTLEMENT:
            extra["48"] = request.fields.get("48", "0" * 62)
        return self._reply(request, "00", extra, mac_key=session.mac_key if request.mti != "0500" else None)

    # -- building answers --------------------------------------------------------------

    def _reply(self, request: Message, code: str, extra: Mapping[str, str] | None = None,
               mac_key: bytes | None = None) -> bytes:
        now = self.clock()
        self._rrn += 1
        self.counts[f"rc:{code}"] += 1
        echoed = ("2", "3", "4", "11", "14", "22", "23", "25", "41", "42", "49", "60")
        fields = {k: request.fields[k] for k in echoed if k in request.fields}
        fields.update({"12": now.strftime("%H%M%S"), "13": now.strftime("%m%d"), "32": ACQUIRER_ID,
                       "37": f"{now.strftime('%H%M%S')}{self._rrn % 1_000_000:06d}", "39": code})
        if request.mti in _FINANCIAL_MTIS:
            fields["15"] = now.strftime("%m%d")
        fields.update(extra or {})
        log.info("answer %s to %r", code, request)
        tpdu = request.tpdu[:2] + request.tpdu[6:10] + request.tpdu[2:6]  # swap destination and source
        answer = Message(request.response_mti, fields, tpdu, request.header)
        if mac_key is not None and code == "00":
            answer = answer.with_fields(f64="0" * (2 * MAC_BYTES))
            return sign_frame(encode_frame(answer), mac_key)
        return encode_frame(answer)

    # -- the server --------------------------------------------------------------------

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one terminal connection: answer each frame in turn until the terminal hangs up."""
        try:
            while (frame := await read_frame(reader)) is not None:
                answer, delay = self.respond(frame)
                if answer is None:
                    continue
                if delay:
                    await asyncio.sleep(delay)
                await write_frame(writer, answer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> asyncio.Server:
        """Start listening (port 0 picks a free one) and return the server."""
        return await asyncio.start_server(self.handle, host, port)


def _pin_block_readable(block_hex: str, pin_key: bytes) -> bool:
    """True when the PIN block decrypts to an ISO 9564 format 0 block (control 0, 4-12 digits)."""
    clear = tdes_decrypt(pin_key, bytes.fromhex(block_hex))
    return clear[0] >> 4 == 0 and 4 <= clear[0] & 0x0F <= 12
