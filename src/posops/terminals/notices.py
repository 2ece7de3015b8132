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

from posops.core.labels import Label, catalog_sentence
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


def _screen(key: str, *, suspended: bool = True) -> ScreenNotice:
    """Build a screen notice from the catalog's lines, under the "suspended" headline unless told not to."""
    lines = catalog_sentence(key)
    zh, en = lines.zh.split("\n"), lines.en.split("\n")
    if suspended:
        head = catalog_sentence("terminals.notice.screen.suspended")
        zh, en = [head.zh, *zh], [head.en, *en]
    return ScreenNotice(tuple(zh), tuple(en))


_SCREEN = {reason: _screen(f"terminals.notice.screen.{reason}") for reason in SuspensionReason}
_REACTIVATED_SCREEN = _screen("terminals.notice.screen.reactivated", suspended=False)


def screen_notice(reason: SuspensionReason | str) -> ScreenNotice:
    """Return what the screen of a terminal suspended for ``reason`` shows."""
    return _SCREEN[SuspensionReason(reason)]


def reactivated_screen_notice() -> ScreenNotice:
    """Return what a reactivated terminal shows: it must sign in before it transacts."""
    return _REACTIVATED_SCREEN


def _notice(key: str, **values: str | Label) -> MerchantNotice:
    """Build a merchant notice from the catalog's ``key.title`` and ``key.body``."""
    title, body = catalog_sentence(f"{key}.title"), catalog_sentence(f"{key}.body", **values)
    return MerchantNotice(title.zh, body.zh, title.en, body.en)


def _terminal(terminal: str) -> Label:
    """Name the terminal at the start of a sentence: "终端 T1 " / "Terminal T1", or "your terminal"."""
    if terminal:
        return catalog_sentence("terminals.notice.terminal", terminal=terminal)
    return catalog_sentence("terminals.notice.your_terminal")


def _documents(documents: Sequence[str], default_key: str) -> Label:
    if not documents:
        return catalog_sentence(default_key)
    return Label("、".join(documents), "; ".join(documents))


def _arrears_amount(arrears: ArrearsStatement | None) -> Label:
    if arrears is None:
        return catalog_sentence("terminals.notice.arrears_amount_unknown")
    return catalog_sentence("terminals.notice.arrears_amount", as_of=arrears.as_of.isoformat(),
                            principal=format_yuan(arrears.principal_fen), penalty=format_yuan(arrears.penalty_fen),
                            total=format_yuan(arrears.total_fen))


def _version(required_version: str | None) -> Label:
    if required_version:
        return catalog_sentence("terminals.notice.version_at_least", version=required_version)
    return catalog_sentence("terminals.notice.version_latest")


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
    key = f"terminals.notice.suspended.{why}"
    who = _terminal(terminal)
    sign_in = catalog_sentence("terminals.notice.sign_in_after")
    if why is SuspensionReason.ARREARS:
        return _notice(key, terminal=who, amount=_arrears_amount(arrears), sign_in=sign_in)
    if why in (SuspensionReason.RISK_LIMIT, SuspensionReason.SECURITY):
        return _notice(key, terminal=who, documents=_documents(documents, "terminals.notice.documents_for_risk"),
                       sign_in=sign_in)
    if why is SuspensionReason.POLICY:
        return _notice(key, terminal=who.mid_sentence(), sign_in=sign_in,
                       documents=_documents(documents, "terminals.notice.documents_for_policy"))
    if why is SuspensionReason.SYSTEM_UPDATE:
        return _notice(key, terminal=who, version=_version(required_version), sign_in=sign_in)
    if why in (SuspensionReason.DEVICE_FAULT, SuspensionReason.DORMANT):
        return _notice(key, terminal=who, sign_in=sign_in)
    return _notice("terminals.notice.suspended.other", terminal=who, sign_in=sign_in)


def reactivation_approved_notice(terminal: str = "") -> MerchantNotice:
    """Return the merchant's notice that the terminal is active again and must sign in first."""
    return _notice("terminals.notice.reactivation_approved", terminal=_terminal(terminal))


def reactivation_rejected_notice(rejection_reason: str, terminal: str = "") -> MerchantNotice:
    """Return the merchant's notice that a reactivation request was rejected, with the reason."""
    return _notice("terminals.notice.reactivation_rejected", terminal=_terminal(terminal).mid_sentence(),
                   reason=rejection_reason)


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
