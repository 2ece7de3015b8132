"""The decoder's safe face: a decoded frame with card data masked, named and explained.

Everything posops shows, logs or stores about a frame comes from a :class:`SafeMessage`:

* the PAN (field 2) appears only as ``2_masked``, first six and last four digits;
* track data (35, 36) and the PIN block (52) are withheld: their numbers are listed, never
  their values;
* field 55 keeps only the chip tags that carry no cardholder data (no 56, 57, 5A, 5F20, 99,
  9F0B, 9F1F, 9F20, 9F6B); if it is not valid TLV it is withheld whole;
* the encrypted working keys of a sign-in answer (field 62) appear only as check values.

>>> frame = bytes.fromhex("003C600401000060310031000108000020000000C00012000029363239363930"
...                       "303233303133313030343839393030303100110000013200300003303031")
>>> safe = decode_safe(frame)
>>> safe.name.kind.id, safe.fields["41"], safe.field_60["60.3"]
('sign_in', '62969002', '003')
"""

from __future__ import annotations

from dataclasses import dataclass, field

from posops.iso8583.codec import CUP_POS, frame_from_hex
from posops.iso8583.errors import FrameError
from posops.iso8583.keys import KeyVerification, WorkingKeys, split_working_keys, verify_working_keys
from posops.iso8583.masking import mask_pan, safe_chip_data
from posops.iso8583.message import Message
from posops.iso8583.naming import SIGN_IN, MessageName, name_of
from posops.iso8583.response_codes import ResponseCode, lookup
from posops.iso8583.spec import FIELDS, WITHHELD_FIELDS, split_field_60
from posops.iso8583.tlv import TlvError


@dataclass(frozen=True, slots=True)
class SafeMessage:
    """A decoded frame fit to show: masked fields, its name, response meaning, key check values."""

    tpdu: str
    header: str
    mti: str
    name: MessageName
    fields: dict[str, str]
    withheld: tuple[str, ...] = ()
    field_60: dict[str, str] = field(default_factory=dict)
    response: ResponseCode | None = None
    working_keys: WorkingKeys | None = None
    key_verification: KeyVerification | None = None

    @property
    def tid(self) -> str | None:
        """Terminal id (field 41)."""
        return self.fields.get("41")

    def evidence(self) -> dict[str, str]:
        """Check id → outcome this one message establishes (response code, key check)."""
        found: dict[str, str] = {}
        if self.response is not None:
            found.update(self.response.evidence())
        if self.key_verification is not None and "key_check" not in found:
            found.update(self.key_verification.evidence())
        return found

    def causes(self) -> list[str]:
        """Taxonomy cause ids this message points at."""
        causes = list(self.response.causes) if self.response is not None else []
        if self.key_verification is not None and not self.key_verification.ok:
            causes.insert(0, "sw.master_key")
        return causes

    def to_dict(self) -> dict[str, object]:
        """Return the message as JSON-ready data (already masked)."""
        return {
            "tpdu": self.tpdu,
            "header": self.header,
            "mti": self.mti,
            "name": self.name.to_dict(),
            "fields": {k: self.fields[k] for k in sorted(self.fields, key=_field_order)},
            "field_names": {k: _field_name(k) for k in sorted(self.fields, key=_field_order)},
            "withheld": list(self.withheld),
            "field_60": self.field_60,
            "response": self.response.to_dict() if self.response is not None else None,
            "working_keys": self.working_keys.to_dict() if self.working_keys is not None else None,
            "key_verification": self.key_verification.to_dict() if self.key_verification is not None else None,
            "evidence": self.evidence(),
            "causes": self.causes(),
        }


def _field_name(key: str) -> str:
    spec = FIELDS[int(key.split("_", 1)[0])]
    return f"{spec.name.zh} / {spec.name.en}"


def _field_order(key: str) -> tuple[int, str]:
    number = key.split("_", 1)[0]
    return (int(number) if number.isdigit() else 999, key)


def safe_message(message: Message, master_key: bytes | None = None) -> SafeMessage:
    """Mask and explain a decoded message; with the terminal master key, verify sign-in key check values."""
    return _safe(message.tpdu, message.header, message.mti, dict(message.fields), master_key)


def _safe(tpdu: str, header: str, mti: str, fields: dict[str, str], master_key: bytes | None) -> SafeMessage:
    """Build the safe view, taking ownership of ``fields`` (masked in place)."""
    withheld = [number for number in WITHHELD_FIELDS if fields.pop(number, None) is not None]
    pan = fields.pop("2", None)
    if pan is not None:
        fields["2_masked"] = mask_pan(pan)
    chip = fields.get("55")
    if chip is not None:
        try:
            fields["55"] = safe_chip_data(chip)
        except TlvError:
            del fields["55"]
            withheld.append("55")
    parts = split_field_60(fields["60"]) if "60" in fields else {}
    name = name_of(mti, parts.get("60.1"), parts.get("60.3"))
    code = fields.get("39")
    working_keys = verification = None
    if name.kind is SIGN_IN and name.is_response and "62" in fields:
        try:
            working_keys = split_working_keys(fields.pop("62"))
        except FrameError:
            withheld.append("62")  # a sign-in answer's 62 that is not a key layout: show nothing of it
        else:
            fields["62_masked"] = " ".join(f"{k.name}:{k.check_value.hex().upper()}" for k in working_keys.keys)
            if master_key is not None and code == "00":
                verification = verify_working_keys(working_keys, master_key)
    return SafeMessage(
        tpdu=tpdu, header=header, mti=mti, name=name, fields=fields,
        withheld=tuple(sorted(withheld, key=int)) if withheld else (), field_60=parts,
        response=lookup(code) if code is not None else None,
        working_keys=working_keys, key_verification=verification,
    )


def decode_safe(frame: bytes, master_key: bytes | None = None) -> SafeMessage:
    """Decode one frame and return its safe view; raise :class:`FrameError` if malformed."""
    tpdu, header, mti, fields = CUP_POS.decode_parts(frame)
    return _safe(tpdu, header, mti, fields, master_key)


def decode_safe_hex(text: str, master_key: bytes | None = None) -> SafeMessage:
    """Decode a frame written as hex and return its safe view; raise :class:`FrameError` if malformed."""
    return decode_safe(frame_from_hex(text), master_key)
