"""Response codes (field 39): meaning, who is concerned, and the diagnosis evidence they give.

The evidence speaks the taxonomy's vocabulary (``shared/domain/taxonomy.yaml``): the check
``response_code`` only takes the outcomes listed there — any other code gives no
``response_code`` evidence — and ``causes`` are taxonomy cause ids the code points at.

>>> rc = lookup("A0")
>>> rc.zh, rc.category, rc.evidence()
('MAC校验错', 'security', {'response_code': 'A0', 'key_check': 'work_key_invalid'})
>>> lookup("12").evidence()
{}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from posops.core.response_codes import TIMEOUT, response_code_outcome

Category = Literal["success", "cardholder", "card", "issuer", "merchant", "terminal", "network", "host",
                   "security", "unknown"]


@dataclass(frozen=True, slots=True)
class ResponseCode:
    """One response code: bilingual meaning, category, the cause ids it points at, what to do."""

    code: str
    zh: str
    en: str
    category: Category
    causes: tuple[str, ...] = ()
    action_zh: str = ""
    action_en: str = ""
    key_check: str | None = None
    """Outcome of the taxonomy check ``key_check`` the code proves, if any."""

    @property
    def approved(self) -> bool:
        """True when the host accepted the request."""
        return self.category == "success"

    @property
    def outcome(self) -> str | None:
        """The taxonomy ``response_code`` outcome: ``none`` for success, ``None`` when not listed."""
        return "none" if self.approved else response_code_outcome(self.code)

    def evidence(self) -> dict[str, str]:
        """Check id → outcome that this code alone establishes."""
        found: dict[str, str] = {}
        if self.outcome is not None:
            found["response_code"] = self.outcome
        if self.key_check is not None:
            found["key_check"] = self.key_check
        return found

    def to_dict(self) -> dict[str, object]:
        """Return the code's meaning and evidence as JSON-ready data."""
        return {"code": self.code, "zh": self.zh, "en": self.en, "category": self.category,
                "action": {"zh": self.action_zh, "en": self.action_en}, "causes": list(self.causes),
                "evidence": self.evidence()}


def _rc(code: str, zh: str, en: str, category: Category, causes: tuple[str, ...] = (),
        action_zh: str = "", action_en: str = "", key_check: str | None = None) -> ResponseCode:
    return ResponseCode(code, zh, en, category, causes, action_zh, action_en, key_check)


_HOST = ("ext.host_outage",)
_REGISTRATION = ("acct.not_registered", "sw.params_lost")

CODES: Mapping[str, ResponseCode] = {r.code: r for r in (
    _rc("00", "交易成功", "Approved", "success"),
    _rc("01", "查发卡方", "Refer to issuer", "issuer", ("card.blocked", "card.funds"),
        "持卡人联系发卡行", "Cardholder calls the issuer"),
    _rc("02", "查发卡方的特殊条件", "Refer to issuer, special conditions", "issuer", (),
        "持卡人联系发卡行", "Cardholder calls the issuer"),
    _rc("03", "无效商户", "Invalid merchant", "merchant", _REGISTRATION,
        "服务商核对商户登记", "Provider checks the merchant registration"),
    _rc("04", "没收卡", "Pick up card", "card", ("card.blocked",), "没收卡片", "Keep the card"),
    _rc("05", "不予承兑", "Do not honour", "issuer", ("card.blocked", "card.funds"), "换卡", "Use another card"),
    _rc("06", "出错", "Error", "host", _HOST, "稍后重试", "Retry later"),
    _rc("07", "特殊条件下没收卡", "Pick up card, special conditions", "card", ("card.blocked",),
        "没收卡片", "Keep the card"),
    _rc("09", "请求正在处理中", "Request in progress", "host", (), "稍后重试", "Retry later"),
    _rc("12", "无效交易", "Invalid transaction", "issuer", ("acct.policy",),
        "检查交易类型", "Check the transaction type"),
    _rc("13", "无效金额", "Invalid amount", "cardholder", ("op.misuse",), "重新输入金额", "Enter the amount again"),
    _rc("14", "无效卡号", "Invalid card number", "card", ("card.damaged", "hw.reader_dirty", "hw.reader_faulty"),
        "重新刷卡或换卡", "Read the card again or use another"),
    _rc("15", "无此发卡方", "No such issuer", "issuer", (), "联系服务商", "Call the provider"),
    _rc("19", "重新送入交易", "Re-enter transaction", "terminal", (), "重试", "Retry"),
    _rc("21", "卡未初始化", "Card not initialised", "card", ("card.blocked",), "换卡", "Use another card"),
    _rc("22", "怀疑操作有误", "Suspected malfunction", "terminal", ("sw.keys", "op.misuse"),
        "重新签到", "Sign in again"),
    _rc("25", "找不到原始交易", "Original transaction not found", "terminal", ("op.misuse",),
        "核对原交易", "Check the original transaction"),
    _rc("30", "报文格式错误", "Format error", "terminal", ("sw.outdated", "sw.upgrade_bug"),
        "更新或重装终端程序", "Update or reinstall the terminal software"),
    _rc("31", "交换中心不支持的银行", "Bank not supported by switch", "issuer", ("acct.policy",),
        "换卡", "Use another card"),
    _rc("33", "过期的卡", "Expired card", "card", ("card.expired",), "换卡", "Use another card"),
    _rc("34", "有作弊嫌疑", "Suspected fraud", "security", ("sec.fraud",), "交风控处理", "Hand over to risk"),
    _rc("35", "受卡方与安全保密部门联系", "Card acceptor call security", "security", ("sec.fraud",),
        "交风控处理", "Hand over to risk"),
    _rc("36", "受限制的卡", "Restricted card", "card", ("card.blocked",), "换卡", "Use another card"),
    _rc("38", "允许的输入PIN次数超限", "PIN tries exceeded", "cardholder", ("card.pin",),
        "持卡人联系发卡行", "Cardholder calls the issuer"),
    _rc("39", "无此信用卡账户", "No credit account", "card", ("card.blocked",), "换卡", "Use another card"),
    _rc("40", "请求的功能尚不支持", "Function not supported", "issuer", ("acct.policy",)),
    _rc("41", "挂失卡", "Lost card", "card", ("card.blocked",), "没收卡片", "Keep the card"),
    _rc("43", "被窃卡", "Stolen card", "card", ("card.blocked",), "没收卡片", "Keep the card"),
    _rc("45", "不允许降级交易", "Fallback not allowed", "terminal",
        ("op.misuse", "hw.reader_dirty", "hw.reader_faulty"), "请插入芯片", "Insert the chip"),
    _rc("51", "余额不足", "Insufficient funds", "cardholder", ("card.funds",), "换卡", "Use another card"),
    _rc("54", "过期的卡", "Expired card", "card", ("card.expired",), "换卡", "Use another card"),
    _rc("55", "密码错", "Incorrect PIN", "cardholder", ("card.pin",), "重新输入密码", "Enter the PIN again"),
    _rc("57", "不允许持卡人进行的交易", "Transaction not permitted to cardholder", "merchant",
        ("acct.policy", "acct.risk_limit"), "联系服务商", "Call the provider"),
    _rc("58", "不允许终端进行的交易", "Transaction not permitted to terminal", "merchant",
        ("acct.risk_limit", "acct.policy"), "联系服务商", "Call the provider"),
    _rc("59", "有作弊嫌疑", "Suspected fraud", "security", ("sec.fraud",), "交风控处理", "Hand over to risk"),
    _rc("61", "超出金额限制", "Amount limit exceeded", "cardholder", ("card.funds", "acct.risk_limit")),
    _rc("62", "受限制的卡", "Restricted card", "card", ("card.blocked",), "换卡", "Use another card"),
    _rc("64", "原始金额错误", "Original amount incorrect", "terminal", ("op.misuse",)),
    _rc("65", "超出消费次数限制", "Frequency limit exceeded", "cardholder", ("card.funds", "acct.risk_limit")),
    _rc("68", "交易超时", "Response received too late", "network", _HOST, "重试", "Retry"),
    _rc("75", "允许的输入PIN次数超限", "PIN tries exceeded", "cardholder", ("card.pin",),
        "持卡人联系发卡行", "Cardholder calls the issuer"),
    _rc("77", "批次号不一致", "Batch number mismatch", "terminal", ("sw.keys",), "重新签到", "Sign in again"),
    _rc("78", "需要下载参数", "Parameters must be downloaded", "terminal", ("sw.params_lost",),
        "下载参数", "Download the parameters"),
    _rc("79", "脱机对账不平", "Offline reconciliation mismatch", "terminal", ()),
    _rc("89", "安全处理失败", "Security processing failed", "security", ("sw.keys",), "重新签到", "Sign in again"),
    _rc("90", "日切处理中", "Cut-off in progress", "host", _HOST, "稍后重试", "Retry later"),
    _rc("91", "发卡方状态不正常", "Issuer or switch inoperative", "host", _HOST,
        "稍后重试,期间使用其他收款方式", "Retry later; take payments another way meanwhile"),
    _rc("92", "发卡方线路异常", "Issuer unreachable", "host", _HOST,
        "稍后重试,期间使用其他收款方式", "Retry later; take payments another way meanwhile"),
    _rc("94", "重复交易", "Duplicate transmission", "terminal", (), "重新签到", "Sign in again"),
    _rc("96", "交换中心系统故障", "System malfunction", "host", _HOST,
        "稍后重试,期间使用其他收款方式", "Retry later; take payments another way meanwhile"),
    _rc("97", "终端未登记", "Terminal not registered", "merchant", _REGISTRATION,
        "服务商登记并开通终端", "Provider registers and activates the terminal"),
    _rc("98", "交换中心收不到发卡方应答", "Issuer response not received", "host", _HOST,
        "稍后重试,期间使用其他收款方式", "Retry later; take payments another way meanwhile"),
    _rc("99", "PIN格式错", "PIN format error", "security", ("sw.keys",), "重新签到", "Sign in again"),
    _rc("A0", "MAC校验错", "MAC verification failed", "security", ("sw.keys",), "重新签到", "Sign in again",
        key_check="work_key_invalid"),
    _rc(TIMEOUT, "无应答(超时)", "No answer (timeout)", "network",
        ("net.wifi", "net.sim", "net.cable", "net.config", "net.carrier_outage", "hw.comm_module",
         "ext.host_outage"), "检查网络后重试", "Check the connection and retry"),
)}


def lookup(code: str) -> ResponseCode:
    """Return what a response code means; unknown codes get category ``unknown`` and no evidence."""
    found = CODES.get(code)
    if found is not None:
        return found
    return ResponseCode(code, "未知应答码", "Unknown response code", "unknown")
