"""What posops knows wins over a misread complaint: the reading is never sure, decisive facts decide."""

from __future__ import annotations

import pytest

from posops.diagnosis.engine import DiagnosisEngine
from posops.diagnosis.knowledge import Knowledge
from posops.diagnosis.reading import read_complaint

ACCOUNT_STATES = {
    "arrears": "acct.arrears",
    "dormant": "acct.dormant",
    "risk_limited": "acct.risk_limit",
    "policy_hold": "acct.policy",
    "not_registered": "acct.not_registered",
}
MISREAD = ["收不了款", "can't take payments", "签到失败", "刷卡没反应", "交易失败", "POS机连不上网"]


@pytest.mark.parametrize("text", MISREAD)
@pytest.mark.parametrize(("state", "cause"), ACCOUNT_STATES.items())
def test_a_known_account_state_outranks_the_words(engine: DiagnosisEngine, text: str, state: str,
                                                  cause: str) -> None:
    words_alone = engine.assess(engine.start(text)).ranking
    assert words_alone[0][0] != cause  # the words point elsewhere…
    ranking = engine.assess(engine.start(text, evidence={"account_status": state})).ranking
    assert ranking[0][0] == cause  # …and the record decides


@pytest.mark.parametrize("text", MISREAD)
@pytest.mark.parametrize("state", ["arrears", "dormant", "policy_hold", "not_registered"])
def test_a_recorded_hold_is_lifted_first(engine: DiagnosisEngine, text: str, state: str) -> None:
    decision = engine.next_decision(engine.start(text, evidence={"account_status": state}))
    assert decision is not None and decision.kind == "action"
    assert ACCOUNT_STATES[state] in engine.knowledge.actions[decision.id].fixes


def test_a_hold_two_causes_share_is_left_to_the_planner(engine: DiagnosisEngine) -> None:
    # a risk hold is also how a fraud freeze or a tamper lock shows: the record does not say which to lift
    assert engine.knowledge.standing_cause("account_status", "risk_limited") is None
    assert engine.knowledge.standing_cause("account_status", "ok") is None
    state = engine.start("刷卡没反应", evidence={"account_status": "risk_limited", "tamper_flag": "triggered"})
    decision = engine.next_decision(state)
    assert decision is not None and decision.id != "apply_unlock"


@pytest.mark.parametrize("text", ["收不了款", "can't take payments"])
def test_a_tripped_tamper_switch_outranks_a_vague_complaint(engine: DiagnosisEngine, text: str) -> None:
    ranking = engine.assess(engine.start(text, evidence={"tamper_flag": "triggered"})).ranking
    assert ranking[0][0] == "sec.tamper"


def test_a_known_state_also_moves_the_symptom(engine: DiagnosisEngine) -> None:
    state = engine.start("收不了款", evidence={"account_status": "dormant"})
    assert engine.assess(state).next_step is not None
    assert engine.assess(state).symptom_ranking[0][0] == "suspended"
    assert engine.assess(engine.start("收不了款")).symptom_ranking[0][0] == "declined"


def test_the_reading_keeps_every_symptom_within_reach(knowledge: Knowledge) -> None:
    doubt = knowledge.lexicon.scoring.symptom_doubt
    reading = read_complaint(knowledge, "打印出来是白纸,提示缺纸")
    assert max(reading.symptoms, key=reading.symptoms.__getitem__) == "printer"
    for symptom, rate in knowledge.tables.symptom_rates.items():
        assert reading.symptoms[symptom] >= doubt * rate * 0.999
    assert sum(reading.symptoms.values()) == pytest.approx(1.0)


def test_words_that_say_nothing_leave_the_base_rates(knowledge: Knowledge) -> None:
    reading = read_complaint(knowledge, "你好")
    assert reading.symptoms == pytest.approx(dict(knowledge.tables.symptom_rates))


def test_a_vague_complaint_keeps_the_causes_of_a_stopped_terminal_open(knowledge: Knowledge) -> None:
    vague = read_complaint(knowledge, "收不了款").symptoms
    named = read_complaint(knowledge, "交易被拒绝").symptoms
    assert vague["suspended"] > 5 * named["suspended"]
    assert max(vague, key=vague.__getitem__) == "declined"


@pytest.mark.parametrize(("text", "code"), [
    ("签到失败 97", "97"), ("簽到失敗97", "97"), ("sign-in failed 97", "97"), ("刷卡失败 51", "51"),
    ("declined 51 twice", "51"), ("payment failed 05 for 3 customers", "05"),
])
def test_a_bare_code_after_the_symptom_is_read(knowledge: Knowledge, text: str, code: str) -> None:
    assert read_complaint(knowledge, text).codes == (code,)


@pytest.mark.parametrize("text", ["交易失败3次", "交易失败 10次了", "付款失败50元", "sign-in failed 10 times"])
def test_a_count_after_the_symptom_is_not_a_code(knowledge: Knowledge, text: str) -> None:
    assert read_complaint(knowledge, text).codes == ()


def test_a_bare_sign_in_code_reaches_its_causes(engine: DiagnosisEngine) -> None:
    plain = {c for c, _ in engine.assess(engine.start("签到失败")).ranking[:2]}
    coded = {c for c, _ in engine.assess(engine.start("签到失败 97")).ranking[:2]}
    assert coded != plain
    assert "acct.not_registered" in coded  # 97: terminal not registered with the acquirer
