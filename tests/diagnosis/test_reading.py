"""Reading complaints: symptoms, response codes and screen messages out of free text."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from posops.diagnosis.knowledge import Knowledge
from posops.diagnosis.reading import TextReading, read_complaint
from posops.diagnosis.textnorm import normalize

HELD_OUT = yaml.safe_load((Path(__file__).parent / "heldout_complaints.yaml").read_text(encoding="utf-8"))


def top_symptom(reading: TextReading) -> str:
    return max(reading.symptoms, key=lambda s: reading.symptoms[s])


def test_held_out_wording_is_not_in_the_lexicon(knowledge: Knowledge) -> None:
    terms = {t.text for t in knowledge.lexicon.terms}
    for _, _, text in HELD_OUT:
        assert normalize(text).replace(" ", "") not in terms
        assert normalize(text) not in terms


def test_held_out_symptom_accuracy(knowledge: Knowledge) -> None:
    right, total = Counter[str](), Counter[str]()
    misses = []
    for symptom, group, text in HELD_OUT:
        total[group] += 1
        got = top_symptom(read_complaint(knowledge, text))
        if got == symptom:
            right[group] += 1
        else:
            misses.append((text, symptom, got))
    assert set(total) == {"zh", "zh-hant", "en", "typo"}
    assert sum(right.values()) / sum(total.values()) >= 0.95, misses
    for group in total:
        assert right[group] / total[group] >= 0.85, (group, misses)


def test_every_symptom_is_covered_by_the_held_out_set(knowledge: Knowledge) -> None:
    assert {s for s, _, _ in HELD_OUT} == set(knowledge.symptoms)


def test_symptoms_form_a_distribution(knowledge: Knowledge) -> None:
    reading = read_complaint(knowledge, "屏幕黑了")
    assert set(reading.symptoms) == set(knowledge.symptoms)
    assert sum(reading.symptoms.values()) == pytest.approx(1.0)


def test_text_without_clues_falls_back_on_base_rates(knowledge: Knowledge) -> None:
    reading = read_complaint(knowledge, "你好,请帮帮忙")
    assert not reading.understood
    assert reading.symptoms == pytest.approx(knowledge.tables.symptom_rates)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("交易失败,返回码96", "96"),
        ("签到一直失败, 提示97", "97"),
        ("payment declined, code 05", "05"),
        ("收款失败,显示A0", "A0"),
        ("刷卡报51错误", "51"),
        ("error: 55", "55"),
        ("交易失敗，返回碼:14", "14"),
        ("被拒了,提示33", "54"),  # 33 is the older code for an expired card
        ("交易被拒, 响应码 57", "58"),
        ("提示余额不足", "51"),
        ("显示密码输入次数超限", "75"),
        ("交易不成功,提示超出金额限制", "61"),
        ("shows do not honour", "05"),
        ("提示通讯超时", "timeout"),
        ('the terminal shows "PIN tries exceeded"', "75"),
        ('it says"card expired"', "54"),
    ],
)
def test_response_codes_are_read(knowledge: Knowledge, text: str, code: str) -> None:
    evidence = read_complaint(knowledge, text).evidence
    assert "response_code" in evidence
    assert max(evidence["response_code"], key=lambda o: evidence["response_code"][o]) == code


@pytest.mark.parametrize("text", ["今天收了51元, 交易失败", "刷了3次都失败", "我店里有12台机器", "签到失败"])
def test_numbers_that_are_not_codes_are_ignored(knowledge: Knowledge, text: str) -> None:
    evidence = read_complaint(knowledge, text).evidence
    assert not ({"51", "03", "12"} & set(evidence.get("response_code", {})))


@pytest.mark.parametrize(
    ("text", "notice"),
    [
        ("机器提示终端已停机,请联系服务商", "suspended"),
        ("突然不能用了,屏幕说交易受限", "restricted"),
        ("POS機提示設備被拆", "tamper"),
        ("插卡提示读卡失败", "read_error"),
        ("开机后显示签到失败", "signin_failed"),
        ("更新后提示“升级失败”", "upgrade_failed"),
        ("屏幕上显示电量低", "low_battery"),
        ("打印时提示缺纸", "no_paper"),
        ("the screen says low battery", "low_battery"),
    ],
)
def test_screen_messages_are_read(knowledge: Knowledge, text: str, notice: str) -> None:
    ratios = read_complaint(knowledge, text).evidence["screen_notice"]
    assert max(ratios, key=lambda o: ratios[o]) == notice


def test_quoted_message_counts_more_than_the_same_words_stated(knowledge: Knowledge) -> None:
    quoted = read_complaint(knowledge, "屏幕提示读卡失败").evidence["screen_notice"]["read_error"]
    stated = read_complaint(knowledge, "读卡失败").evidence["screen_notice"]["read_error"]
    assert quoted > stated > 1


def test_the_complaint_outweighs_a_message_quoted_after_it(knowledge: Knowledge) -> None:
    assert top_symptom(read_complaint(knowledge, "POS机签到失败,提示读卡失败")) == "sign_in"
    assert top_symptom(read_complaint(knowledge, "读卡不灵,还提示签到失败")) == "card_read"


def test_display_words_are_not_a_quote_marker_when_negated(knowledge: Knowledge) -> None:
    reading = read_complaint(knowledge, "屏幕不显示")
    assert top_symptom(reading) == "display"
    assert "screen_notice" not in reading.evidence


def test_denied_network_does_not_count(knowledge: Knowledge) -> None:
    plain = read_complaint(knowledge, "签到失败")
    denied = read_complaint(knowledge, "网络正常,签到失败")
    assert denied.symptoms["network"] <= plain.symptoms["network"] * 1.01
    assert "network_word" not in denied.concepts
    assert "network_word" in read_complaint(knowledge, "网络不正常").concepts
    assert "wifi" not in read_complaint(knowledge, "wifi is fine but sign in fails").concepts


def test_traditional_and_simplified_read_the_same(knowledge: Knowledge) -> None:
    simplified = read_complaint(knowledge, "签到失败,显示终端已停机")
    traditional = read_complaint(knowledge, "簽到失敗，顯示終端已停機")
    assert simplified.symptoms == pytest.approx(traditional.symptoms)
    assert simplified.evidence == traditional.evidence


@pytest.mark.parametrize(
    ("typo", "symptom"),
    [
        ("签倒失败", "sign_in"),
        ("读咔不灵", "card_read"),
        ("netwrok is down", "network"),
        ("reciept printer", "printer"),
    ],
)
def test_typos_are_tolerated(knowledge: Knowledge, typo: str, symptom: str) -> None:
    assert top_symptom(read_complaint(knowledge, typo)) == symptom


def test_words_hint_at_causes(knowledge: Knowledge) -> None:
    assert read_complaint(knowledge, "流量卡欠费了,连不上网").cause_factors["net.sim"] > 2
    assert read_complaint(knowledge, "只有这张卡读不出来").cause_factors["card.damaged"] > 1.5
    assert read_complaint(knowledge, "重启了也还是读不了卡").cause_factors["sw.crash"] < 1


def test_reading_round_trips_through_a_dict(knowledge: Knowledge) -> None:
    reading = read_complaint(knowledge, "刷卡提示交易失败 返回码55,只有这张卡")
    assert TextReading.from_dict(reading.to_dict()) == reading
