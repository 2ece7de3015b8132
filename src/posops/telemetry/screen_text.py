"""Reads what a terminal's screen says (zh-CN, zh-TW or English) as a ``screen_notice`` outcome.

>>> screen_notice_outcome("终端已停机,请联系服务商")
'suspended'
>>> screen_notice_outcome("Sign-in failed, please retry")
'signin_failed'
>>> screen_notice_outcome("打印機缺紙")
'no_paper'
>>> screen_notice_outcome("请联系客服 8008") is None
True
"""

from __future__ import annotations

import re
from functools import lru_cache

from opencc import OpenCC

# First match wins: stronger states come first, so "终端已停机,交易受限" reads as suspended and
# "设备被锁,已停用" as tamper. Patterns (zh, then en) are written against normalised text (see
# _normalise): simplified Chinese, lower case, without spaces or punctuation.
_PATTERNS: tuple[tuple[str, str, str], ...] = (
    ("tamper",
     r"防拆|被拆|拆机|篡改|安全(告警|警告|报警)|(设备|终端|机器)(已|被)锁|锁机",
     r"tamper|securityalert|devicelocked"),
    ("suspended",
     r"停机|停用|暂停(服务|使用)|已冻结|已注销",
     r"suspended|disabled|deactivated"),
    ("restricted",
     r"受限|限制交易|交易限制|不允许(的|此|该)?交易|禁止交易",
     r"restricted|notpermitted|notallowed"),
    ("upgrade_failed",
     r"(升级|更新|安装)(失败|未完成|异常|出错)|校验失败",
     r"(upgrade|update|install(ation)?)failed"),
    ("signin_failed",
     r"签到(失败|不成功|错误|异常|超时)|未签到|请(先|重新)签到",
     r"sign(in|on)failed|log(in|on)failed"),
    ("read_error",
     r"读卡(失败|错误|异常|不成功)|无法读卡|读不到卡|请重新(刷|插|挥)卡|刷卡失败",
     r"(card)?readerror|(cannot|unableto)readcard|chiperror|swipeagain"),
    ("low_battery",
     r"电量(低|不足|过低)|低电量|请(及时)?充电",
     r"lowbattery|batterylow|pleasecharge"),
    ("no_paper",
     r"缺纸|纸(张)?用完|无纸|没有纸|请装纸",
     r"outofpaper|paperout|nopaper|paperempty"),
    # Idle and success screens: the terminal shows nothing that points at a fault.
    ("none",
     r"^$|^(请(刷|插|挥)卡|欢迎(使用|光临)?|交易成功|签到成功|待机|主菜单)+$",
     r"^(welcome|ready|approved|(please)?(swipe|insert|tap)(your)?card|mainmenu)+$"),
)
_RULES = tuple((outcome, re.compile(f"{zh}|{en}")) for outcome, zh, en in _PATTERNS)
_NOT_WORD = re.compile(r"[\W_]+")


@lru_cache(maxsize=1)
def _to_simplified() -> OpenCC:
    return OpenCC("t2s")


def _normalise(text: str) -> str:
    return _NOT_WORD.sub("", _to_simplified().convert(text).casefold())


def screen_notice_outcome(text: str | None) -> str | None:
    """The taxonomy outcome of ``screen_notice`` for this screen text, or None when unrecognised.

    No text at all (``None`` or blank) means the screen shows nothing special: ``"none"``.
    """
    if text is None:
        return "none"
    normalised = _normalise(text)
    for outcome, pattern in _RULES:
        if pattern.search(normalised):
            return outcome
    return None
