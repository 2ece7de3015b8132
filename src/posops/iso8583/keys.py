"""Working keys of a sign-in answer (field 62), their check values, and the 3DES behind them.

A sign-in answer carries the PIN key and the MAC key (and with 60.3 ``004`` a track key),
each encrypted under the terminal master key and followed by a 4-byte check value: the
first 4 bytes of the clear key encrypting eight zero bytes. A terminal whose master key is
wrong or lost computes different check values and refuses the keys.

>>> tmk = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
>>> issued = issue_working_keys(tmk, random_bytes=lambda n: bytes(range(n)))
>>> keys = split_working_keys(issued.field_62)
>>> [(k.name, k.length, k.check_value.hex().upper()) for k in keys.keys]
[('pin', 16, 'DDADA161'), ('mac', 16, 'DDADA161')]
>>> verify_working_keys(keys, tmk).evidence()
{'key_check': 'ok'}
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes

from posops.core.labels import Label
from posops.iso8583.errors import FrameError, frame_reason

BLOCK = 8
CHECK_VALUE_BYTES = 4

#: Field 62 layouts of a sign-in answer by total length: (key name, slot bytes) in order.
LAYOUTS: dict[int, tuple[tuple[str, int], ...]] = {
    24: (("pin", 8), ("mac", 8)),
    40: (("pin", 16), ("mac", 16)),
    60: (("pin", 16), ("mac", 16), ("track", 16)),
}
KEY_LABELS = {
    "pin": Label("PIN密钥", "PIN key"),
    "mac": Label("MAC密钥", "MAC key"),
    "track": Label("磁道密钥", "Track key"),
}


def _cipher(key: bytes) -> Cipher[modes.ECB]:
    if len(key) == 8:
        full = key * 3
    elif len(key) == 16:
        full = key + key[:8]
    elif len(key) == 24:
        full = key
    else:
        raise ValueError(f"a DES/3DES key has 8, 16 or 24 bytes, not {len(key)}")
    return Cipher(TripleDES(full), modes.ECB())


def tdes_encrypt(key: bytes, data: bytes) -> bytes:
    """Encrypt whole 8-byte blocks with (3)DES in ECB mode; an 8-byte key means single DES."""
    encryptor = _cipher(key).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def tdes_decrypt(key: bytes, data: bytes) -> bytes:
    """Decrypt whole 8-byte blocks with (3)DES in ECB mode."""
    decryptor = _cipher(key).decryptor()
    return decryptor.update(data) + decryptor.finalize()


def check_value(clear_key: bytes) -> bytes:
    """Return a key's check value: the first 4 bytes of the key encrypting eight zero bytes."""
    return tdes_encrypt(clear_key, bytes(BLOCK))[:CHECK_VALUE_BYTES]


@dataclass(frozen=True, slots=True)
class WorkingKey:
    """One encrypted working key and its check value (the key itself is never shown)."""

    name: str
    encrypted: bytes = field(repr=False)
    check_value: bytes

    @property
    def length(self) -> int:
        """Effective key length: a 16-byte slot whose second half is zero holds a single-length key."""
        if len(self.encrypted) == 16 and not any(self.encrypted[8:]):
            return 8
        return len(self.encrypted)

    def decrypt(self, master_key: bytes) -> bytes:
        """Return the clear key, decrypted under the terminal master key."""
        return tdes_decrypt(master_key, self.encrypted[:self.length])

    def to_dict(self) -> dict[str, object]:
        """Return name, length and check value; never the key."""
        label = KEY_LABELS[self.name]
        return {"name": self.name, "zh": label.zh, "en": label.en, "length": self.length,
                "check_value": self.check_value.hex().upper()}


@dataclass(frozen=True, slots=True)
class WorkingKeys:
    """The keys of one sign-in answer, in field order."""

    keys: tuple[WorkingKey, ...]

    def get(self, name: str) -> WorkingKey | None:
        """Return the key named ``pin``, ``mac`` or ``track``, if present."""
        return next((k for k in self.keys if k.name == name), None)

    def to_dict(self) -> list[dict[str, object]]:
        """Return the keys' names, lengths and check values."""
        return [k.to_dict() for k in self.keys]


def split_working_keys(value_hex: str) -> WorkingKeys:
    """Split field 62 of a sign-in answer into keys and check values (24, 40 or 60 bytes)."""
    raw = bytes.fromhex(value_hex)
    layout = LAYOUTS.get(len(raw))
    if layout is None:
        raise FrameError("62", None, frame_reason("working_keys", size=len(raw)))
    keys = []
    at = 0
    for name, size in layout:
        keys.append(WorkingKey(name, raw[at:at + size], raw[at + size:at + size + CHECK_VALUE_BYTES]))
        at += size + CHECK_VALUE_BYTES
    return WorkingKeys(tuple(keys))


@dataclass(frozen=True, slots=True)
class KeyVerification:
    """Which check values the master key confirms."""

    matches: dict[str, bool]

    @property
    def ok(self) -> bool:
        """True when every check value matched."""
        return all(self.matches.values())

    def evidence(self) -> dict[str, str]:
        """``key_check`` outcome: ``ok``, or ``master_key_missing`` when a check value differs."""
        return {"key_check": "ok" if self.ok else "master_key_missing"}

    def to_dict(self) -> dict[str, object]:
        """Return the per-key results and the evidence."""
        return {"matches": dict(self.matches), "ok": self.ok, "evidence": self.evidence()}


def verify_working_keys(keys: WorkingKeys, master_key: bytes) -> KeyVerification:
    """Decrypt each key under the master key and compare its check value with the one sent."""
    return KeyVerification({k.name: check_value(k.decrypt(master_key)) == k.check_value for k in keys.keys})


@dataclass(frozen=True, slots=True)
class IssuedKeys:
    """Fresh working keys as a host issues them: the clear keys (host side) and field 62."""

    pin_key: bytes = field(repr=False)
    mac_key: bytes = field(repr=False)
    track_key: bytes | None = field(repr=False)
    field_62: str = field(repr=False)


def issue_working_keys(master_key: bytes, *, track_key: bool = False,
                       random_bytes: Callable[[int], bytes] = os.urandom) -> IssuedKeys:
    """Make double-length PIN and MAC keys (and a track key), encrypted under the master key."""
    clear = {name: random_bytes(16) for name in (("pin", "mac", "track") if track_key else ("pin", "mac"))}
    value = b"".join(tdes_encrypt(master_key, key) + check_value(key) for key in clear.values())
    return IssuedKeys(clear["pin"], clear["mac"], clear.get("track"), value.hex().upper())
