"""Notices for the terminal screen and the merchant, and the dormancy rule."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from posops.terminals.arrears import FeePlan, compute_arrears
from posops.terminals.lifecycle import SuspensionReason
from posops.terminals.notices import (
    SCREEN_COLUMNS,
    SCREEN_LINES,
    ScreenNotice,
    TerminalActivity,
    display_width,
    due_for_dormancy,
    is_due_for_dormancy,
    reactivated_screen_notice,
    reactivation_approved_notice,
    reactivation_rejected_notice,
    screen_notice,
    suspension_notice,
)

CJK = re.compile(r"[\u4e00-\u9fff]")
NOW = datetime(2024, 6, 30, 12, tzinfo=UTC)


def test_display_width_counts_chinese_double() -> None:
    assert display_width("abc") == 3
    assert display_width("终端") == 4
    assert display_width("原因:欠费") == 9


@pytest.mark.parametrize("reason", list(SuspensionReason))
def test_screen_notice_for_every_reason_is_bilingual_and_fits(reason: SuspensionReason) -> None:
    notice = screen_notice(reason)
    assert notice.fits()
    assert all(CJK.search(line) for line in notice.zh)
    assert not any(CJK.search(line) for line in notice.en)
    assert notice.text("en").count("\n") == len(notice.en) - 1


def test_screen_notices_differ_by_reason() -> None:
    assert len({screen_notice(r).zh for r in SuspensionReason}) == len(SuspensionReason)
    assert len({screen_notice(r).en for r in SuspensionReason}) == len(SuspensionReason)


def test_fits_detects_an_overflowing_notice() -> None:
    wide = ScreenNotice(("终" * (SCREEN_COLUMNS // 2 + 1),), ("ok",))
    tall = ScreenNotice(("终",) * (SCREEN_LINES + 1), ("ok",))
    assert not wide.fits() and not tall.fits()


def test_reactivated_screen_asks_to_sign_in() -> None:
    notice = reactivated_screen_notice()
    assert notice.fits()
    assert "签到" in notice.text("zh-CN") and "sign in" in notice.text("en").lower()


@pytest.mark.parametrize("reason", list(SuspensionReason))
def test_merchant_notice_for_every_reason_explains_the_next_step(reason: SuspensionReason) -> None:
    notice = suspension_notice(reason, terminal="12345678")
    assert CJK.search(notice.title_zh) and CJK.search(notice.body_zh)
    assert not CJK.search(notice.title_en) and not CJK.search(notice.body_en)
    assert "12345678" in notice.body_zh and "12345678" in notice.body_en
    assert "复机申请" in notice.body_zh and "reactivation request" in notice.body_en
    assert notice.title("en") == notice.title_en and notice.body("zh-CN") == notice.body_zh


def test_arrears_notice_shows_the_amounts() -> None:
    plan = FeePlan(monthly_fee_fen=3_000, daily_penalty_bp=5, grace_days=5, monthly_data_fee_fen=1_000)
    statement = compute_arrears(plan, [date(2024, 5, 1), date(2024, 6, 1)], date(2024, 6, 30))
    notice = suspension_notice("arrears", arrears=statement)
    for text in (notice.body_zh, notice.body_en):
        assert "80.00" in text and "1.58" in text and "81.58" in text
    assert "缴费凭证" in notice.body_zh and "voucher" in notice.body_en


def test_documents_and_version_appear_in_the_notice() -> None:
    risk = suspension_notice("risk_limit", documents=["情况说明", "交易流水"])
    assert "情况说明、交易流水" in risk.body_zh
    update = suspension_notice("system_update", required_version="3.10.0")
    assert "3.10.0" in update.body_zh and "3.10.0" in update.body_en


def test_reactivation_notices() -> None:
    approved = reactivation_approved_notice("12345678")
    assert "签到" in approved.body_zh and "sign in" in approved.body_en.lower()
    rejected = reactivation_rejected_notice("凭证号查无此笔")
    assert "凭证号查无此笔" in rejected.body_zh and "凭证号查无此笔" in rejected.body_en
    assert "重新提交" in rejected.body_zh and "resubmit" in rejected.body_en


# ---------------------------------------------------------------- dormancy


def test_dormancy_boundary() -> None:
    assert is_due_for_dormancy(NOW - timedelta(days=90), NOW, days=90)
    assert not is_due_for_dormancy(NOW - timedelta(days=90) + timedelta(seconds=1), NOW, days=90)
    assert not is_due_for_dormancy(None, NOW, days=90)
    with pytest.raises(ValueError):
        is_due_for_dormancy(NOW, NOW, days=0)


def test_due_for_dormancy_selects_idle_active_terminals_oldest_first() -> None:
    fleet = [
        TerminalActivity(1, "active", NOW - timedelta(days=10)),
        TerminalActivity(2, "active", NOW - timedelta(days=40)),
        TerminalActivity(3, "active", NOW - timedelta(days=200)),
        TerminalActivity(4, "suspended", NOW - timedelta(days=300)),
        TerminalActivity(5, "active", None, activated_at=NOW - timedelta(days=31)),
        TerminalActivity(6, "active", None, activated_at=NOW - timedelta(days=5)),
        TerminalActivity(7, "active", None),
        TerminalActivity(8, "onboarding", None, activated_at=NOW - timedelta(days=100)),
        TerminalActivity(9, "decommissioned", NOW - timedelta(days=400)),
    ]
    assert due_for_dormancy(fleet, NOW, days=30) == [3, 2, 5]
    assert due_for_dormancy(fleet, NOW, days=90) == [3]
    assert due_for_dormancy(fleet, NOW, days=365) == []


def test_a_recent_transaction_outweighs_an_old_activation() -> None:
    fleet = [
        TerminalActivity("T1", "active", NOW - timedelta(days=1), activated_at=NOW - timedelta(days=999))
    ]
    assert due_for_dormancy(fleet, NOW, days=30) == []
