import pytest

from posops.telemetry.evidence import CHECK_OUTCOMES
from posops.telemetry.screen_text import screen_notice_outcome


@pytest.mark.parametrize(("text", "outcome"), [
    ("终端已停机,请联系服务商", "suspended"),
    ("Terminal suspended, call your provider", "suspended"),
    ("该终端已停用", "suspended"),
    ("交易受限,请联系收单机构", "restricted"),
    ("不允许的交易", "restricted"),
    ("Transaction not permitted", "restricted"),
    ("设备被拆,已锁机", "tamper"),
    ("安全警告:终端被锁", "tamper"),
    ("TAMPER DETECTED", "tamper"),
    ("读卡失败,请重新刷卡", "read_error"),
    ("Card read error", "read_error"),
    ("签到失败,请重试", "signin_failed"),
    ("Sign-in failed (A0)", "signin_failed"),
    ("升级失败,请重新下载", "upgrade_failed"),
    ("Update failed", "upgrade_failed"),
    ("电量低,请充电", "low_battery"),
    ("Low battery", "low_battery"),
    ("打印机缺纸", "no_paper"),
    ("Printer out of paper", "no_paper"),
    ("请刷卡", "none"),
    ("欢迎使用", "none"),
    ("Please insert card", "none"),
    ("", "none"),
    ("   ", "none"),
])
def test_screen_texts_in_either_language_map_to_taxonomy_outcomes(text: str, outcome: str):
    assert screen_notice_outcome(text) == outcome
    assert outcome in CHECK_OUTCOMES["screen_notice"]


def test_no_text_at_all_means_nothing_special_on_screen():
    assert screen_notice_outcome(None) == "none"


@pytest.mark.parametrize(("traditional", "outcome"), [
    ("終端已停機", "suspended"), ("簽到失敗", "signin_failed"), ("讀卡錯誤", "read_error"), ("電量低", "low_battery"),
])
def test_traditional_chinese_reads_like_simplified(traditional: str, outcome: str):
    assert screen_notice_outcome(traditional) == outcome


def test_spacing_case_and_punctuation_do_not_matter():
    assert screen_notice_outcome("  签 到 失 败！ ") == "signin_failed"
    assert screen_notice_outcome("SIGN IN FAILED") == "signin_failed"


def test_the_stronger_state_wins_when_a_screen_says_two_things():
    assert screen_notice_outcome("终端已停机,交易受限") == "suspended"
    assert screen_notice_outcome("设备被锁,已停用") == "tamper"


@pytest.mark.parametrize("text", ["请联系客服 95516", "程序异常,正在重启", "Error 0x3F"])
def test_texts_it_does_not_understand_give_no_outcome(text: str):
    assert screen_notice_outcome(text) is None
