"""Name a CUP POS message (sign-in, purchase, reversal, …) from its MTI, 60.1 and 60.3.

Answers are named like their requests; :attr:`MessageName.role` tells them apart.

>>> name_of("0810", "00", "003").kind.id, name_of("0810", "00", "003").role
('sign_in', 'response')
>>> name_of("0200", "23", "000").kind.zh
'消费撤销'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from posops.iso8583.message import Message

Role = Literal["request", "response"]


@dataclass(frozen=True, slots=True)
class MessageKind:
    """What a message is for: a stable id and its names in zh-CN and English."""

    id: str
    zh: str
    en: str

    def to_dict(self) -> dict[str, str]:
        """Return the kind as JSON-ready data."""
        return {"id": self.id, "zh": self.zh, "en": self.en}


def _k(id: str, zh: str, en: str) -> MessageKind:
    return MessageKind(id, zh, en)


SIGN_IN = _k("sign_in", "签到", "Sign-in")
SIGN_OFF = _k("sign_off", "签退", "Sign-off")
ECHO_TEST = _k("echo_test", "回响测试", "Echo test")
PARAMETER_DOWNLOAD = _k("parameter_download", "参数下载", "Parameter download")
STATUS_UPLOAD = _k("status_upload", "状态上送", "Status upload")
NETWORK_MANAGEMENT = _k("network_management", "网络管理", "Network management")
PURCHASE = _k("purchase", "消费", "Purchase")
VOID = _k("void", "消费撤销", "Void")
BALANCE_INQUIRY = _k("balance_inquiry", "余额查询", "Balance inquiry")
PRE_AUTH = _k("pre_auth", "预授权", "Pre-authorization")
PRE_AUTH_VOID = _k("pre_auth_void", "预授权撤销", "Pre-authorization void")
PRE_AUTH_COMPLETION = _k("pre_auth_completion", "预授权完成", "Pre-authorization completion")
PRE_AUTH_COMPLETION_VOID = _k("pre_auth_completion_void", "预授权完成撤销", "Pre-authorization completion void")
REFUND = _k("refund", "退货", "Refund")
OFFLINE_SETTLEMENT = _k("offline_settlement", "离线结算", "Offline settlement")
SETTLEMENT_ADJUSTMENT = _k("settlement_adjustment", "结算调整", "Settlement adjustment")
FINANCIAL = _k("financial", "金融交易", "Financial transaction")
AUTHORIZATION = _k("authorization", "授权交易", "Authorization")
FINANCIAL_ADVICE = _k("financial_advice", "金融通知", "Financial advice")
REVERSAL = _k("reversal", "冲正", "Reversal")
SETTLEMENT = _k("settlement", "结算", "Settlement")
BATCH_UPLOAD = _k("batch_upload", "批上送", "Batch upload")
BATCH_UPLOAD_END = _k("batch_upload_end", "批上送结束", "Batch upload end")
SCRIPT_ADVICE = _k("script_advice", "IC卡脚本处理结果通知", "Chip script result advice")
UNKNOWN = _k("unknown", "未知报文", "Unknown message")

#: 0800/0810 by 60.3: sign-in (key length variants) and the download families.
_NET_0800: Mapping[str, MessageKind] = {
    "001": SIGN_IN, "003": SIGN_IN, "004": SIGN_IN,
    "360": _k("parameter_transfer", "参数传递", "Parameter transfer"),
    "370": _k("ca_key_download", "IC卡公钥下载", "CA public key download"),
    "371": _k("ca_key_download_end", "IC卡公钥下载结束", "CA public key download end"),
    "380": _k("ic_parameter_download", "IC卡参数下载", "Chip parameter download"),
    "381": _k("ic_parameter_download_end", "IC卡参数下载结束", "Chip parameter download end"),
    "390": _k("blacklist_download", "黑名单下载", "Blacklist download"),
    "391": _k("blacklist_download_end", "黑名单下载结束", "Blacklist download end"),
    "394": _k("contactless_parameter_download", "非接参数下载", "Contactless parameter download"),
    "395": _k("contactless_parameter_download_end", "非接参数下载结束", "Contactless parameter download end"),
    "396": _k("card_bin_download", "卡BIN下载", "Card BIN list download"),
    "397": _k("card_bin_download_end", "卡BIN下载结束", "Card BIN list download end"),
    "398": _k("card_bin_blacklist_download", "卡BIN黑名单下载", "Card BIN blacklist download"),
    "399": _k("card_bin_blacklist_download_end", "卡BIN黑名单下载结束", "Card BIN blacklist download end"),
}
#: 0820/0830 by 60.3: sign-off, echo test and status uploads (parameter queries).
_NET_0820: Mapping[str, MessageKind] = {
    "002": SIGN_OFF,
    "301": ECHO_TEST,
    "372": _k("ca_key_status_upload", "IC卡公钥下载状态上送", "CA public key status upload"),
    "382": _k("ic_parameter_status_upload", "IC卡参数下载状态上送", "Chip parameter status upload"),
}
#: 0200 / 0100 / 0220 by 60.1, the transaction type.
_BY_TYPE: Mapping[str, Mapping[str, MessageKind]] = {
    "0200": {"01": BALANCE_INQUIRY, "22": PURCHASE, "23": VOID, "20": PRE_AUTH_COMPLETION,
             "21": PRE_AUTH_COMPLETION_VOID},
    "0100": {"10": PRE_AUTH, "11": PRE_AUTH_VOID},
    "0220": {"25": REFUND, "24": PRE_AUTH_COMPLETION, "30": OFFLINE_SETTLEMENT, "32": SETTLEMENT_ADJUSTMENT,
             "34": SETTLEMENT_ADJUSTMENT},
}
_DEFAULT: Mapping[str, MessageKind] = {
    "0800": NETWORK_MANAGEMENT, "0820": NETWORK_MANAGEMENT, "0200": FINANCIAL, "0100": AUTHORIZATION,
    "0220": FINANCIAL_ADVICE, "0400": REVERSAL, "0420": REVERSAL, "0500": SETTLEMENT,
    "0320": BATCH_UPLOAD, "0620": SCRIPT_ADVICE,
}
#: Kinds whose answer is "the response code of the last transaction or sign-in".
TRANSACTIONS = frozenset({
    SIGN_IN, PURCHASE, VOID, BALANCE_INQUIRY, PRE_AUTH, PRE_AUTH_VOID, PRE_AUTH_COMPLETION,
    PRE_AUTH_COMPLETION_VOID, REFUND, OFFLINE_SETTLEMENT, SETTLEMENT_ADJUSTMENT, FINANCIAL, AUTHORIZATION,
    FINANCIAL_ADVICE,
})
#: Kinds that move money: an approved one is the terminal's "last transaction" (dormancy counts from it).
MONEY_MOVING = TRANSACTIONS - {SIGN_IN, BALANCE_INQUIRY}


@dataclass(frozen=True, slots=True)
class MessageName:
    """A message's kind plus whether it is the request or the answer."""

    kind: MessageKind
    role: Role

    @property
    def is_response(self) -> bool:
        """True for answers."""
        return self.role == "response"

    def to_dict(self) -> dict[str, str]:
        """Return the name as JSON-ready data."""
        return {**self.kind.to_dict(), "role": self.role}


def _request_family(mti: str) -> tuple[str, Role]:
    """Map an MTI to its request MTI and the role (0810 → 0800, response; advices count as requests)."""
    digit = int(mti[2])
    if digit % 2:
        return f"{mti[:2]}{digit - 1}{mti[3]}", "response"
    return mti, "request"


def kind_of(mti: str, type_code: str | None, network_code: str | None) -> MessageKind:
    """Return the kind of a message given its MTI, 60.1 and 60.3 (either may be ``None``)."""
    if len(mti) != 4 or not mti.isdigit():
        return UNKNOWN
    family, _ = _request_family(mti)
    if family == "0800":
        code = network_code or ""
        if code in _NET_0800:
            return _NET_0800[code]
        return PARAMETER_DOWNLOAD if code[:1] == "3" else NETWORK_MANAGEMENT
    if family == "0820":
        code = network_code or ""
        if code in _NET_0820:
            return _NET_0820[code]
        return STATUS_UPLOAD if code[:1] == "3" else NETWORK_MANAGEMENT
    if family == "0320":
        return BATCH_UPLOAD_END if network_code == "202" else BATCH_UPLOAD
    by_type = _BY_TYPE.get(family)
    if by_type is not None and type_code is not None and type_code in by_type:
        return by_type[type_code]
    return _DEFAULT.get(family, UNKNOWN)


@lru_cache(maxsize=4096)
def name_of(mti: str, type_code: str | None = None, network_code: str | None = None) -> MessageName:
    """Return kind and role of a message from its MTI, 60.1 and 60.3 (names are immutable and cached)."""
    role: Role = "request"
    if len(mti) == 4 and mti.isdigit():
        _, role = _request_family(mti)
    return MessageName(kind_of(mti, type_code, network_code), role)


def name_message(message: Message) -> MessageName:
    """Return kind and role of a decoded message."""
    return name_of(message.mti, message.part_60("60.1"), message.part_60("60.3"))


#: Every kind by its id (for showing a stored kind id by name).
KINDS: Mapping[str, MessageKind] = {kind.id: kind for kind in (
    *TRANSACTIONS, *_NET_0800.values(), *_NET_0820.values(), *_DEFAULT.values(),
    *(kind for by_type in _BY_TYPE.values() for kind in by_type.values()),
    BATCH_UPLOAD_END, PARAMETER_DOWNLOAD, STATUS_UPLOAD, UNKNOWN)}
