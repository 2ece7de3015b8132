"""What a suspended or reactivated terminal shows on its screen and tells its merchant; the dormancy rule.

Screen notices are at most :data:`SCREEN_LINES` lines of :data:`SCREEN_COLUMNS` columns (a
Chinese character takes two), which fits the smallest monochrome terminal screens. Merchant
notices say why the terminal stopped and exactly what to do next.

>>> screen_notice("arrears").zh[0]
'终端已停机'
>>> from datetime import datetime, timedelta, timezone
>>> now = datetime(2024, 6, 1, tzinfo=timezone.utc)
>>> is_due_for_dormancy(now - timedelta(days=91), now, days=90)
True
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from posops.terminals.arrears import ArrearsStatement, format_yuan
from posops.terminals.lifecycle import SuspensionReason, TerminalStatus

SCREEN_COLUMNS = 20
SCREEN_LINES = 4
DEFAULT_DORMANCY_DAYS = 90


def display_width(text: str) -> int:
    """Return how many screen columns ``text`` takes: two per wide (CJK) character, one otherwise."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


@dataclass(frozen=True)
class ScreenNotice:
    """A notice for the terminal's own screen, as lines in zh-CN and in English."""

    zh: tuple[str, ...]
    en: tuple[str, ...]

    def text(self, lang: str = "zh-CN") -> str:
        """Return the notice in ``lang`` as newline-separated lines."""
        return "\n".join(self.en if lang == "en" else self.zh)

    def fits(self, columns: int = SCREEN_COLUMNS, lines: int = SCREEN_LINES) -> bool:
        """Tell whether both languages fit a screen of ``lines`` x ``columns``."""
        return all(
            len(version) <= lines and all(display_width(line) <= columns for line in version)
            for version in (self.zh, self.en)
        )


@dataclass(frozen=True)
class MerchantNotice:
    """A message to the merchant (console, SMS, e-mail): a title and a body in zh-CN and English."""

    title_zh: str
    body_zh: str
    title_en: str
    body_en: str

    def title(self, lang: str = "zh-CN") -> str:
        """Return the title in ``lang``."""
        return self.title_en if lang == "en" else self.title_zh

    def body(self, lang: str = "zh-CN") -> str:
        """Return the body in ``lang``."""
        return self.body_en if lang == "en" else self.body_zh


_SUSPENDED_ZH = "终端已停机"
_SUSPENDED_EN = "TERMINAL SUSPENDED"

_SCREEN: dict[SuspensionReason, ScreenNotice] = {
    SuspensionReason.ARREARS: ScreenNotice(
        (_SUSPENDED_ZH, "原因:账户欠费", "请缴清欠费及罚金", "后申请复机"),
        (_SUSPENDED_EN, "Reason: arrears", "Pay what is owed,", "then apply to resume"),
    ),
    SuspensionReason.RISK_LIMIT: ScreenNotice(
        (_SUSPENDED_ZH, "原因:风控限制交易", "请联系服务商", "申请解除限制"),
        (_SUSPENDED_EN, "Reason: risk limit", "Call your provider", "to lift the limit"),
    ),
    SuspensionReason.DEVICE_FAULT: ScreenNotice(
        (_SUSPENDED_ZH, "原因:设备故障", "请联系服务商报修", "修复后申请复机"),
        (_SUSPENDED_EN, "Reason: device fault", "Report for repair,", "then apply to resume"),
    ),
    SuspensionReason.SYSTEM_UPDATE: ScreenNotice(
        (_SUSPENDED_ZH, "原因:需要系统升级", "请更新到最新版本", "并重启终端"),
        (_SUSPENDED_EN, "Reason: update due", "Install the update", "and restart"),
    ),
    SuspensionReason.SECURITY: ScreenNotice(
        (_SUSPENDED_ZH, "原因:安全风险", "请停止使用本机", "立即联系服务商"),
        (_SUSPENDED_EN, "Reason: security", "Stop using it and", "call your provider"),
    ),
    SuspensionReason.DORMANT: ScreenNotice(
        (_SUSPENDED_ZH, "原因:长期未使用", "请确认身份后", "申请复机"),
        (_SUSPENDED_EN, "Reason: unused", "Confirm identity,", "then apply to resume"),
    ),
    SuspensionReason.POLICY: ScreenNotice(
        (_SUSPENDED_ZH, "原因:政策调整", "请按要求补充资料", "后申请复机"),
        (_SUSPENDED_EN, "Reason: policy", "Provide documents,", "then apply to resume"),
    ),
    SuspensionReason.OTHER: ScreenNotice(
        (_SUSPENDED_ZH, "请联系服务商", "了解停机原因", "及复机办法"),
        (_SUSPENDED_EN, "Call your provider", "to learn why and", "how to resume"),
    ),
}

_REACTIVATED_SCREEN = ScreenNotice(
    ("终端已复机", "请先签到", "签到成功后", "即可正常收款"),
    ("TERMINAL ACTIVE", "Sign in first,", "then take payments", "as usual"),
)


def screen_notice(reason: SuspensionReason | str) -> ScreenNotice:
    """Return what the screen of a terminal suspended for ``reason`` shows."""
    return _SCREEN[SuspensionReason(reason)]


def reactivated_screen_notice() -> ScreenNotice:
    """Return what a reactivated terminal shows: it must sign in before it transacts."""
    return _REACTIVATED_SCREEN


def _docs(documents: Sequence[str], *, zh_none: str, en_none: str) -> tuple[str, str]:
    if not documents:
        return zh_none, en_none
    return "、".join(documents), "; ".join(documents)


def suspension_notice(
    reason: SuspensionReason | str,
    *,
    terminal: str = "",
    arrears: ArrearsStatement | None = None,
    documents: Sequence[str] = (),
    required_version: str | None = None,
) -> MerchantNotice:
    """Return the merchant's notice for a terminal suspended for ``reason``: why, and what to do next.

    ``terminal`` names it (e.g. its TID); ``arrears`` adds the amounts due, ``documents`` the
    papers risk or the new rule asks for, ``required_version`` the software version to reach.
    """
    why = SuspensionReason(reason)
    t_zh = f"终端 {terminal} " if terminal else "您的终端"
    t_en = f"Terminal {terminal}" if terminal else "Your terminal"
    resume_zh = "复机后请先在终端上签到,再正常收款。"
    resume_en = "Once reactivated, sign in on the terminal before taking payments."

    if why is SuspensionReason.ARREARS:
        if arrears is not None:
            amount_zh = (
                f"截至 {arrears.as_of.isoformat()},应缴欠费 {format_yuan(arrears.principal_fen)} 元、"
                f"罚金 {format_yuan(arrears.penalty_fen)} 元,合计 {format_yuan(arrears.total_fen)} 元。"
            )
            principal, penalty = format_yuan(arrears.principal_fen), format_yuan(arrears.penalty_fen)
            amount_en = (
                f"As of {arrears.as_of.isoformat()} you owe CNY {principal} in fees and CNY {penalty} "
                f"in penalty, CNY {format_yuan(arrears.total_fen)} in total."
            )
        else:
            amount_zh = "应缴金额按合同约定的费率计算,可在 posops 中查看。"
            amount_en = "The amount due is computed from your contracted fees and shown in posops."
        return MerchantNotice(
            "终端因欠费停机",
            f"{t_zh}因账户欠费已暂停收款。{amount_zh}请缴清欠费及罚金,"
            f"然后在 posops 提交复机申请并填写缴费凭证号;核对到账后即可复机。{resume_zh}",
            "Terminal suspended for arrears",
            f"{t_en} has stopped taking payments because the account is in arrears. {amount_en} "
            "Pay the fees and penalty, then submit a reactivation request in posops with the payment "
            f"voucher reference; once the payment is confirmed the terminal is reactivated. {resume_en}",
        )
    if why is SuspensionReason.RISK_LIMIT:
        d_zh, d_en = _docs(
            documents, zh_none="风控部门要求的材料", en_none="the documents the risk team asks for"
        )
        return MerchantNotice(
            "终端交易受风控限制",
            f"{t_zh}因服务商风控限制已暂停交易。请提交复机申请,并提供:{d_zh}。"
            f"风控部门审核通过后解除限制。{resume_zh}",
            "Transactions restricted by risk control",
            f"{t_en} is suspended by the provider's risk control. Submit a reactivation request with: "
            f"{d_en}. The restriction is lifted once the risk team approves it. {resume_en}",
        )
    if why is SuspensionReason.SECURITY:
        d_zh, d_en = _docs(
            documents, zh_none="风控部门要求的材料", en_none="the documents the risk team asks for"
        )
        return MerchantNotice(
            "终端因安全原因停机",
            f"{t_zh}因安全风险(如防拆触发或可疑交易)已停机。为保护您和持卡人的资金,请立即停止使用,"
            f"不要自行拆机或维修,并联系服务商。请提交复机申请并提供:{d_zh};"
            f"安全检查完成、风控部门审核通过后复机。{resume_zh}",
            "Terminal suspended for security",
            f"{t_en} was suspended for a security risk (such as tamper detection or suspicious "
            "transactions). To protect your money and your customers', stop using it, do not open or "
            f"repair it yourself, and call your provider. Submit a reactivation request with: {d_en}; "
            f"it is reactivated after a security inspection and the risk team's approval. {resume_en}",
        )
    if why is SuspensionReason.DEVICE_FAULT:
        return MerchantNotice(
            "终端因设备故障停机",
            f"{t_zh}因设备故障已停机。请在 posops 提交维修工单或联系服务商报修;"
            f"维修完成并经您验收后,提交复机申请。{resume_zh}",
            "Terminal suspended for a device fault",
            f"{t_en} was suspended because of a device fault. Open a repair ticket in posops or call "
            "your provider; once the repair is done and you have accepted it, submit a reactivation "
            f"request. {resume_en}",
        )
    if why is SuspensionReason.SYSTEM_UPDATE:
        v_zh = f" {required_version} 或更高版本" if required_version else "最新版本"
        v_en = f"version {required_version} or newer" if required_version else "the latest version"
        return MerchantNotice(
            "终端需要升级后才能使用",
            f"{t_zh}的软件版本过旧,已暂停收款。请在终端上下载并安装更新到{v_zh},然后重启;"
            f"终端上报新版本后提交复机申请。{resume_zh}",
            "Terminal needs a software update",
            f"{t_en} runs outdated software and has stopped taking payments. Download and install "
            f"{v_en} on the terminal and restart it; once it reports the new version, submit a "
            f"reactivation request. {resume_en}",
        )
    if why is SuspensionReason.DORMANT:
        return MerchantNotice(
            "终端因长期未使用停机",
            f"{t_zh}长期没有交易,已按规定停用。如需继续使用,请在 posops 重新确认身份,"
            f"然后提交复机申请。{resume_zh}",
            "Terminal suspended after a long time unused",
            f"{t_en} has had no transactions for a long time and was suspended as the rules require. "
            "To keep using it, re-confirm your identity in posops and submit a reactivation request. "
            f"{resume_en}",
        )
    if why is SuspensionReason.POLICY:
        d_zh, d_en = _docs(
            documents, zh_none="新规定要求的材料", en_none="the documents the new rule requires"
        )
        return MerchantNotice(
            "终端因政策调整暂停收款",
            f"因政策或业务调整,{t_zh}已暂停收款。请按新规定提供:{d_zh},然后提交复机申请。{resume_zh}",
            "Terminal suspended after a policy change",
            f"After a policy or business change, {t_en[0].lower()}{t_en[1:]} has stopped taking "
            f"payments. Provide {d_en} as the new rule requires, then submit a reactivation request. "
            f"{resume_en}",
        )
    return MerchantNotice(
        "终端已停机",
        f"{t_zh}已被服务商停机。请联系服务商了解原因;问题解决并经客服确认后,提交复机申请。{resume_zh}",
        "Terminal suspended",
        f"{t_en} was suspended by your provider. Call your provider to learn why; once the cause "
        f"is resolved and an agent has confirmed it, submit a reactivation request. {resume_en}",
    )


def reactivation_approved_notice(terminal: str = "") -> MerchantNotice:
    """Return the merchant's notice that the terminal is active again and must sign in first."""
    t_zh = f"终端 {terminal} " if terminal else "您的终端"
    t_en = f"Terminal {terminal}" if terminal else "Your terminal"
    return MerchantNotice(
        "复机申请已通过",
        f"{t_zh}已恢复使用。请先在终端上签到(更新密钥),签到成功后即可正常收款;"
        "如签到失败,请重启终端后再试,仍不成功请联系服务商。",
        "Reactivation approved",
        f"{t_en} is active again. Sign in on the terminal first (this refreshes its keys); after a "
        "successful sign-in it takes payments as usual. If sign-in fails, restart the terminal and try "
        "again, and call your provider if it still fails.",
    )


def reactivation_rejected_notice(rejection_reason: str, terminal: str = "") -> MerchantNotice:
    """Return the merchant's notice that a reactivation request was rejected, with the reason."""
    t_zh = f"终端 {terminal} " if terminal else "您的终端"
    t_en = f"terminal {terminal}" if terminal else "your terminal"
    return MerchantNotice(
        "复机申请未通过",
        f"{t_zh}的复机申请未通过,原因:{rejection_reason}。请按要求处理后,在 posops 重新提交申请。",
        "Reactivation request rejected",
        f"The reactivation request for {t_en} was rejected: {rejection_reason}. Deal with this, then "
        "resubmit the request in posops.",
    )


# ---------------------------------------------------------------- dormancy


@dataclass(frozen=True)
class TerminalActivity:
    """What the dormancy rule needs to know about one terminal."""

    terminal_id: int | str
    status: TerminalStatus | str
    last_transaction_at: datetime | None
    activated_at: datetime | None = None
    """Used when the terminal never transacted: idleness counts from activation."""


def is_due_for_dormancy(
    last_activity: datetime | None, now: datetime, days: int = DEFAULT_DORMANCY_DAYS
) -> bool:
    """Tell whether a terminal last active at ``last_activity`` has been idle ``days`` days or more.

    ``None`` (nothing known) is never due. Use timezone-aware datetimes (UTC) throughout.
    """
    if days < 1:
        raise ValueError("the dormancy period must be at least one day")
    if last_activity is None:
        return False
    return now - last_activity >= timedelta(days=days)


def due_for_dormancy(
    terminals: Iterable[TerminalActivity], now: datetime, days: int = DEFAULT_DORMANCY_DAYS
) -> list[int | str]:
    """Return the ids of the active terminals with no transaction for ``days`` days, oldest first.

    A terminal that never transacted counts from its activation; one with neither time is skipped.
    """
    due = []
    for t in terminals:
        if TerminalStatus(t.status) is not TerminalStatus.ACTIVE:
            continue
        last = t.last_transaction_at or t.activated_at
        if last is not None and is_due_for_dormancy(last, now, days):
            due.append((last, t.terminal_id))
    due.sort(key=lambda pair: pair[0])
    return [terminal_id for _, terminal_id in due]
