"""Message authentication code: ANSI X9.19 retail MAC over MTI … last field before 64.

The MAC block (MAB) runs from the MTI to the end of the field before 64, so the bitmap
(with bit 64 set) is covered. Data is zero-padded to whole 8-byte blocks, chained with DES
under the left half of the MAC key, and the last block is decrypted with the right half and
encrypted again with the left (with a single-length key this is plain CBC-DES, ANSI X9.9).

>>> key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
>>> retail_mac(key, b"Now is the time for all ").hex().upper()
'A1C72E74EA3FA9B6'
"""

from __future__ import annotations

import hmac

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes

from posops.iso8583.keys import BLOCK, tdes_decrypt, tdes_encrypt
from posops.iso8583.spec import HEADER_BYTES, LENGTH_BYTES, TPDU_BYTES

MAC_BYTES = 8
_MTI_AT = LENGTH_BYTES + TPDU_BYTES + HEADER_BYTES


def retail_mac(mac_key: bytes, data: bytes) -> bytes:
    """Return the 8-byte ANSI X9.19 MAC of ``data`` under an 8- or 16-byte key."""
    if len(mac_key) not in (8, 16):
        raise ValueError("a MAC key has 8 or 16 bytes")
    left, right = mac_key[:8], mac_key[8:] or mac_key[:8]
    padded = data + bytes(-len(data) % BLOCK) if data else bytes(BLOCK)
    encryptor = Cipher(TripleDES(left * 3), modes.CBC(bytes(BLOCK))).encryptor()
    last = (encryptor.update(padded) + encryptor.finalize())[-BLOCK:]
    if right == left:
        return last
    return tdes_encrypt(left, tdes_decrypt(right, last))


def mac_block(frame: bytes) -> bytes:
    """Return the bytes a frame's MAC covers: MTI through the field before 64 (whole frame with 64)."""
    return frame[_MTI_AT:-MAC_BYTES]


def sign_frame(frame: bytes, mac_key: bytes) -> bytes:
    """Return the frame with its last 8 bytes (field 64, encoded as zeros) set to the MAC."""
    return frame[:-MAC_BYTES] + retail_mac(mac_key, mac_block(frame))


def verify_frame(frame: bytes, mac_key: bytes) -> bool:
    """True when the frame's field 64 (its last 8 bytes) is the MAC of the rest under ``mac_key``."""
    return hmac.compare_digest(frame[-MAC_BYTES:], retail_mac(mac_key, mac_block(frame)))
