"""The terminal heartbeat (schema version 1) and the parser that turns raw bytes into one.

A heartbeat is a contract with the terminals: unknown fields are kept and written back
unchanged, optional sections may be missing, and anything invalid is refused with one
:class:`HeartbeatError` whose ``reason`` is short enough for a dead-letter row.

>>> hb = parse_heartbeat(b'{"v": 1, "sn": "PAA920000001", "seq": 7, "ts": "2025-03-01T09:30:00+08:00"}')
>>> hb.sn, hb.seq, hb.battery is None
('PAA920000001', 7, True)
>>> try:
...     parse_heartbeat(b'{"v": 1, "sn": "X1", "seq": 1, "ts": "2025-03-01T09:30:00"}')
... except HeartbeatError as exc:
...     print(exc.reason)
ts: Input should have timezone info
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from posops.core.inputs import MULTI_LINE, ONE_LINE

MAX_PAYLOAD_BYTES = 64 * 1024
MAX_REASON_CHARS = 500
MAX_BIGINT = 2**63 - 1  # counters and seq must fit a BIGINT column
SERIAL_PATTERN = r"^[^/+#\s\x00-\x1f\x7f]{1,32}$"  # usable as one MQTT topic level; fits terminals.serial_number


_ISO_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_8601(value: object) -> object:
    """Read ISO-8601 text only: a bare number would pass for a Unix time in UTC."""
    if isinstance(value, bool | int | float):
        raise ValueError("Input should be an ISO-8601 date and time, not a number")
    if not isinstance(value, str):
        return value  # None, or a datetime given in Python: checked by the type itself
    if not _ISO_DATE_TIME.match(value):
        raise ValueError("Input should be an ISO-8601 date and time")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("Input should be an ISO-8601 date and time") from None


MAX_OFFSET = timedelta(hours=14)
"""The widest UTC offset a clock on Earth shows (UTC+14, Kiribati); PostgreSQL refuses offsets past ±15:59."""


def _earthly_offset(value: datetime) -> datetime:
    offset = value.utcoffset()
    if offset is not None and abs(offset) > MAX_OFFSET:
        raise ValueError("UTC offset out of range (-14:00 … +14:00)")
    return value


Timestamp = Annotated[AwareDatetime, BeforeValidator(_iso_8601), AfterValidator(_earthly_offset)]
"""An ISO-8601 date and time that names its timezone (``Z`` or an offset no wider than 14 hours)."""


class HeartbeatError(ValueError):
    """A payload that is not a valid heartbeat; ``reason`` says why in one line."""

    def __init__(self, reason: str) -> None:
        self.reason = reason[:MAX_REASON_CHARS]
        super().__init__(self.reason)


class _Section(BaseModel):
    """Common settings of every part of a heartbeat: strict types, unknown fields kept."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)


class Battery(_Section):
    """Battery charge and where the power comes from."""

    pct: int = Field(ge=0, le=100)
    charging: bool
    power_source: Literal["adapter", "battery"]


class Network(_Section):
    """The link the terminal uses to reach the acquirer host."""

    type: Literal["wifi", "4g", "ethernet"]
    signal_dbm: int | None = Field(default=None, ge=-150, le=0)
    ip: str | None = Field(default=None, max_length=64, pattern=ONE_LINE)
    gateway: str | None = Field(default=None, max_length=64, pattern=ONE_LINE)
    dns: list[Annotated[str, Field(max_length=64, pattern=ONE_LINE)]] = Field(default_factory=list, max_length=8)
    host_reachable: bool


class Software(_Section):
    """Installed payment application and firmware versions."""

    app: str = Field(min_length=1, max_length=64, pattern=ONE_LINE)
    firmware: str = Field(min_length=1, max_length=64, pattern=ONE_LINE)
    restarts: int | None = Field(default=None, ge=0, le=MAX_BIGINT)
    """Times the payment application has started since the terminal began counting (a crash restarts it)."""


class Reader(_Section):
    """Card reader counters since the terminal started counting."""

    swipe_err: int = Field(ge=0, le=MAX_BIGINT)
    chip_err: int = Field(ge=0, le=MAX_BIGINT)
    tap_err: int = Field(ge=0, le=MAX_BIGINT)
    reads: int = Field(ge=0, le=MAX_BIGINT)


class Printer(_Section):
    """Receipt printer state."""

    paper: Literal["ok", "low", "out"]
    head_temp_ok: bool


class SignIn(_Section):
    """The terminal's last sign-in (签到) to the acquirer host."""

    at: Timestamp | None = None
    ok: bool | None = None


class Heartbeat(_Section):
    """One status report from a terminal; only ``v``, ``sn``, ``seq`` and ``ts`` are required."""

    v: Literal[1]
    sn: str = Field(max_length=32, pattern=SERIAL_PATTERN)
    seq: int = Field(ge=0, le=MAX_BIGINT)
    ts: Timestamp
    battery: Battery | None = None
    network: Network | None = None
    software: Software | None = None
    reader: Reader | None = None
    printer: Printer | None = None
    tamper: bool | None = None
    screen_notice: str | None = Field(default=None, max_length=200, pattern=MULTI_LINE)
    last_rc: str | None = Field(default=None, max_length=16, pattern=ONE_LINE)
    last_signin: SignIn | None = None

    def to_json(self) -> bytes:
        """Serialise back to JSON bytes: the fields that were sent, unknown ones included."""
        return self.model_dump_json(exclude_unset=True).encode()

    @property
    def extra_fields(self) -> dict[str, Any]:
        """Top-level fields this schema version does not know (kept as received)."""
        return dict(self.__pydantic_extra__ or {})


def parse_heartbeat(data: bytes | str, *, expected_sn: str | None = None) -> Heartbeat:
    """Parse a JSON payload into a :class:`Heartbeat` or raise :class:`HeartbeatError`.

    ``expected_sn`` is the serial number the transport vouches for (the MQTT topic, the
    authenticated device); a payload naming another terminal is refused.
    """
    size = len(data.encode() if isinstance(data, str) else data)
    if size > MAX_PAYLOAD_BYTES:
        raise HeartbeatError(f"payload too large: {size} bytes (limit {MAX_PAYLOAD_BYTES})")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise HeartbeatError(f"payload is not UTF-8 text (byte {exc.start})") from None
    try:
        heartbeat = Heartbeat.model_validate_json(data)
    except ValidationError as exc:
        raise HeartbeatError(_describe(exc)) from None
    if expected_sn is not None and heartbeat.sn != expected_sn:
        raise HeartbeatError(f"sn {heartbeat.sn!r} does not match the sender {expected_sn!r}")
    return heartbeat


def _describe(exc: ValidationError) -> str:
    """One line naming each problem by its field path, e.g. ``battery.pct: Input should be …``."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        if error["type"] == "json_invalid":
            detail = error.get("ctx", {}).get("error")
            problems.append(f"not valid JSON: {detail}" if detail else "not valid JSON")
            continue
        where = ".".join(str(part) for part in error["loc"]) or "payload"
        problems.append(f"{where}: {error['msg'].removeprefix('Value error, ')}")
    return "; ".join(problems)
