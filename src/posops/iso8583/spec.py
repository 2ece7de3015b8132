"""The China UnionPay POS message spec as data: one row per field, like a jPOS packager.

Each :class:`FieldSpec` says what a field holds and how it travels on the wire; the codec
builds the ``pyiso8583`` spec from these rows (:func:`pyiso8583_spec`), so adding or
correcting a field is a change of data, not of code.

Wire conventions of CUP POS:

* numeric (``n``) and track (``z``) content is packed BCD; an odd number of digits is padded
  with one ``0`` nibble — on the left for fixed fields (``23`` → ``0x0001``), on the right for
  field 22 and for variable-length numerics (PAN ``19`` digits → 10 bytes, last nibble ``0``);
* LL / LLL length prefixes are BCD (1 or 2 bytes) and count digits for ``n``/``z`` content,
  bytes otherwise;
* ``an``/``ans`` content is ASCII; ``b`` content is binary and shown as upper-case hex.

>>> FIELDS[41].name.en
'Card acceptor terminal id'
>>> [s.name for s in FIELD_60_PARTS][:3]
['60.1', '60.2', '60.3']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from posops.core.labels import Label

Content = Literal["n", "z", "an", "ans", "b"]
Pad = Literal["left", "right"]

FIXED = 0
LLVAR = 2
LLLVAR = 3

TPDU_BYTES = 5
HEADER_BYTES = 6
LENGTH_BYTES = 2
TPDU_ID = 0x60
#: length prefix + TPDU + header + MTI + primary bitmap: the shortest possible frame.
MIN_FRAME_BYTES = LENGTH_BYTES + TPDU_BYTES + HEADER_BYTES + 2 + 8


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """How one data element is written: content type, length rule, padding, text encoding."""

    number: int
    name: Label
    content: Content
    length: int
    """Exact length for fixed fields, maximum for variable ones (digits for n/z, else bytes)."""
    prefix: int = FIXED
    """0 for fixed, 2 for LLVAR, 3 for LLLVAR (the number of length digits, BCD-packed)."""
    pad: Pad = "left"
    """Where the filler nibble of an odd-length numeric goes."""
    encoding: str = "ascii"
    """Text encoding of an/ans content."""

    @property
    def is_digits(self) -> bool:
        """True when the content is BCD nibbles (numeric or track data)."""
        return self.content in ("n", "z")

    def describe(self) -> str:
        """Return the spec's usual notation, e.g. ``n..19 LLVAR`` or ``b64``."""
        if self.content == "b" and self.prefix == FIXED:
            return f"b{self.length * 8}"
        dots = {FIXED: "", LLVAR: "..", LLLVAR: "..."}[self.prefix]
        kind = {FIXED: "", LLVAR: " LLVAR", LLLVAR: " LLLVAR"}[self.prefix]
        return f"{self.content}{dots}{self.length}{kind}"


def _f(number: int, zh: str, en: str, content: Content, length: int, prefix: int = FIXED,
       pad: Pad = "left", encoding: str = "ascii") -> FieldSpec:
    return FieldSpec(number, Label(zh, en), content, length, prefix, pad, encoding)


#: The fields a CUP POS terminal and its acquirer host exchange. A bitmap bit outside this
#: table is a framing error, never silently skipped.
FIELDS: Mapping[int, FieldSpec] = {s.number: s for s in (
    _f(2, "主账号", "Primary account number", "n", 19, LLVAR, pad="right"),
    _f(3, "交易处理码", "Processing code", "n", 6),
    _f(4, "交易金额", "Amount (fen)", "n", 12),
    _f(11, "受卡方系统跟踪号", "System trace audit number", "n", 6),
    _f(12, "受卡方所在地时间", "Local time (hhmmss)", "n", 6),
    _f(13, "受卡方所在地日期", "Local date (MMDD)", "n", 4),
    _f(14, "卡有效期", "Card expiry (YYMM)", "n", 4),
    _f(15, "清算日期", "Settlement date (MMDD)", "n", 4),
    # Not in every acquirer's 0200: those that put the merchant's category code on the wire use field 18.
    _f(18, "商户类别码", "Merchant category code (MCC)", "n", 4),
    _f(22, "服务点输入方式码", "POS entry mode", "n", 3, pad="right"),
    _f(23, "卡序列号", "Card sequence number", "n", 3),
    _f(25, "服务点条件码", "POS condition code", "n", 2),
    _f(26, "服务点PIN获取码", "PIN capture code", "n", 2),
    _f(32, "受理机构标识码", "Acquiring institution id", "n", 11, LLVAR, pad="right"),
    _f(35, "2磁道数据", "Track 2 data", "z", 37, LLVAR, pad="right"),
    _f(36, "3磁道数据", "Track 3 data", "z", 104, LLLVAR, pad="right"),
    _f(37, "检索参考号", "Retrieval reference number", "an", 12),
    _f(38, "授权标识应答码", "Authorization code", "an", 6),
    _f(39, "应答码", "Response code", "an", 2),
    _f(41, "受卡机终端标识码", "Card acceptor terminal id", "ans", 8),
    _f(42, "受卡方标识码", "Card acceptor (merchant) id", "ans", 15),
    _f(44, "附加响应数据", "Additional response data", "ans", 25, LLVAR),
    _f(48, "附加数据-私有", "Additional data (settlement totals)", "n", 322, LLLVAR, pad="right"),
    _f(49, "交易货币代码", "Currency code", "an", 3),
    _f(52, "个人标识码数据", "PIN block", "b", 8),
    _f(53, "安全控制信息", "Security control information", "n", 16),
    _f(54, "余额", "Balance amount", "an", 20, LLLVAR),
    _f(55, "IC卡数据域", "Chip card data (TLV)", "b", 255, LLLVAR),
    _f(58, "PBOC电子钱包标准的交易信息", "PBOC e-purse data", "ans", 100, LLLVAR),
    _f(60, "自定义域", "Reserved private (60.1 type, 60.2 batch, 60.3 network code…)", "n", 17,
       LLLVAR, pad="right"),
    _f(61, "原始信息域", "Original message data", "n", 29, LLLVAR, pad="right"),
    _f(62, "自定义域", "Reserved private (working keys, IC parameters…)", "b", 512, LLLVAR),
    # Field 63 is ASCII in every capture; GB18030 is its superset and also reads the
    # Chinese issuer names some hosts put in 63.2.
    _f(63, "自定义域", "Reserved private (63.1 card organisation, operator number…)", "ans", 163,
       LLLVAR, encoding="gb18030"),
    _f(64, "报文鉴别码", "Message authentication code", "b", 8),
)}


@dataclass(frozen=True, slots=True)
class SubfieldSpec:
    """One numeric part of field 60: its dotted name, width in digits and meaning."""

    name: str
    width: int
    label: Label


#: Field 60 is a run of numeric parts; a message carries as many as it needs (at least 60.1).
FIELD_60_PARTS: tuple[SubfieldSpec, ...] = (
    SubfieldSpec("60.1", 2, Label("交易类型码", "Transaction type")),
    SubfieldSpec("60.2", 6, Label("批次号", "Batch number")),
    SubfieldSpec("60.3", 3, Label("网络管理信息码", "Network management code")),
    SubfieldSpec("60.4", 1, Label("终端读取能力", "Terminal read capability")),
    SubfieldSpec("60.5", 1, Label("IC卡条件代码", "Chip condition code")),
    SubfieldSpec("60.6", 1, Label("部分扣款和返回余额标志", "Partial approval / balance flag")),
    SubfieldSpec("60.7", 3, Label("账户类型", "Account type")),
)


def split_field_60(value: str) -> dict[str, str]:
    """Split field 60 into its parts; a short value yields only the parts it holds.

    >>> split_field_60("00000132003")
    {'60.1': '00', '60.2': '000132', '60.3': '003'}
    """
    return dict(_split_60(value))


@lru_cache(maxsize=8192)
def _split_60(value: str) -> tuple[tuple[str, str], ...]:
    parts = []
    at = 0
    for part in FIELD_60_PARTS:
        if at >= len(value):
            break
        parts.append((part.name, value[at:at + part.width]))
        at += part.width
    return tuple(parts)


def join_field_60(parts: Mapping[str, str]) -> str:
    """Join field 60 parts back into the field value (the inverse of :func:`split_field_60`)."""
    out = []
    for part in FIELD_60_PARTS:
        if part.name not in parts:
            break
        value = parts[part.name]
        if len(value) != part.width or not value.isdigit():
            raise ValueError(f"{part.name} must be {part.width} digits")
        out.append(value)
    return "".join(out)


#: Card data never shown: track 2, track 3 and the PIN block (PAN is shown masked).
WITHHELD_FIELDS = frozenset({"35", "36", "52"})
#: Tags of field 55 that carry cardholder data: track equivalents, PAN, name, PIN data.
SENSITIVE_TAGS = frozenset({"56", "57", "5A", "5F20", "99", "9F0B", "9F1F", "9F20", "9F6B"})


def pyiso8583_spec(fields: Mapping[int, FieldSpec] = FIELDS) -> dict[str, dict[str, Any]]:
    """Build the ``pyiso8583`` spec dict: 11-byte TPDU+header as ``h``, BCD MTI, binary bitmap."""
    spec: dict[str, dict[str, Any]] = {
        "h": {"data_enc": "b", "len_enc": "b", "len_type": 0, "max_len": TPDU_BYTES + HEADER_BYTES,
              "desc": "TPDU + header"},
        "t": {"data_enc": "b", "len_enc": "b", "len_type": 0, "max_len": 2, "desc": "MTI (BCD)"},
        "p": {"data_enc": "b", "len_enc": "b", "len_type": 0, "max_len": 8, "desc": "Primary bitmap"},
        "1": {"data_enc": "b", "len_enc": "b", "len_type": 0, "max_len": 8, "desc": "Secondary bitmap"},
    }
    for s in fields.values():
        entry: dict[str, Any] = {
            "data_enc": "b" if s.content in ("n", "z", "b") else s.encoding,
            "len_enc": "bcd",
            "len_type": {FIXED: 0, LLVAR: 1, LLLVAR: 2}[s.prefix],
            "max_len": s.length,
            "desc": s.name.en,
        }
        if s.is_digits:
            entry["len_count"] = "nibbles"
            entry["left_pad" if s.pad == "left" else "right_pad"] = "0"
        spec[str(s.number)] = entry
    return spec
