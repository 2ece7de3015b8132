"""The engine's public interface: sessions, steps, assessments, errors, serialisation."""

from __future__ import annotations

import json
import re

import pytest

from posops.core.errors import Invalid
from posops.diagnosis.engine import Assessment, DiagnosisEngine, SessionState, Step, StepError
from posops.diagnosis.learning import ResolvedCase

CJK = re.compile(r"[\u3400-\u9fff]")


def play(engine: DiagnosisEngine, text: str, truth: str, checks: dict[str, str], evidence: dict[str, str]) -> list[str]:
    """Follow the engine's steps on a made-up case whose true cause is `truth`."""
    state = engine.start(text, evidence=evidence)
    steps: list[str] = []
    for _ in range(40):
        assessment = engine.assess(state)
        if assessment.status != "open" or assessment.next_step is None:
            break
        step = assessment.next_step
        steps.append(step.id)
        if step.kind == "check":
            outcome = checks.get(step.id, engine.knowledge.checks[step.id].outcomes[0])
        else:
            action = engine.knowledge.actions[step.id]
            outcome = "fixed" if action.fixes_all or truth in action.fixes else "not_fixed"
        state = SessionState.from_dict(json.loads(json.dumps(state.to_dict())))
        state = engine.apply(state, step.id, outcome)
    assert engine.assess(state).status in ("resolved", "escalated")
    return steps


def test_start_assess_resolve(engine: DiagnosisEngine) -> None:
    state = engine.start("打印出来是白纸,提示缺纸")
    assessment = engine.assess(state)
    assert isinstance(assessment, Assessment)
    assert assessment.status == "open"
    assert assessment.symptom == "printer"
    assert assessment.ranking[0][0] == "hw.printer_paper"
    assert [p for _, p in assessment.ranking] == sorted((p for _, p in assessment.ranking), reverse=True)
    step = assessment.next_step
    assert isinstance(step, Step)
    assert (step.kind, step.id) == ("action", "reload_paper")
    assert step.outcomes == ("fixed", "not_fixed", "unknown")
    assert "热敏纸" in step.guidance
    state = engine.apply(state, "reload_paper", "fixed")
    done = engine.assess(state)
    assert (done.status, done.next_step, done.resolved_by) == ("resolved", None, "reload_paper")


def test_escalate_answered_fixed_ends_escalated(engine: DiagnosisEngine) -> None:
    state = engine.apply(engine.start("机器坏了"), "escalate", "fixed")
    assert engine.assess(state).status == "escalated"


def test_english_assessment(engine: DiagnosisEngine) -> None:
    state = engine.start("the card reader can't read any card")
    assessment = engine.assess(state, lang="en")
    assert assessment.symptom == "card_read"
    assert assessment.next_step is not None
    step = assessment.next_step
    assert not CJK.search(step.title + step.guidance + assessment.explanation)
    assert "Most likely causes" in assessment.explanation
    zh = engine.assess(state, lang="zh-CN")
    assert "最可能的原因" in zh.explanation
    assert zh.next_step is not None and CJK.search(zh.next_step.title)


def test_check_step_offers_labelled_outcomes(engine: DiagnosisEngine) -> None:
    step = engine.assess(engine.start("", symptom="suspended"), lang="en").next_step
    assert step is not None and step.kind == "check"
    assert step.outcomes[-1] == "unknown"
    assert set(step.outcome_labels) == set(step.outcomes)


def test_given_symptom_wins_over_words(engine: DiagnosisEngine) -> None:
    assert engine.assess(engine.start("屏幕黑屏", symptom="printer")).symptom == "printer"


def test_evidence_is_used_and_not_asked_again(engine: DiagnosisEngine) -> None:
    state = engine.start("交易被拒绝", evidence={"response_code": "54"})
    assessment = engine.assess(state)
    assert assessment.ranking[0][0] == "card.expired"
    assert assessment.next_step is not None and assessment.next_step.id != "response_code"


@pytest.mark.parametrize(
    ("text", "truth", "checks", "evidence"),
    [
        ("POS机读卡不灵", "hw.reader_dirty", {"known_good_card": "fails", "read_method": "insert_only"}, {}),
        ("签到失败,返回码A0", "sw.keys", {"key_check": "work_key_invalid"}, {"response_code": "A0"}),
        ("机器停机了", "acct.dormant", {"account_status": "dormant"}, {}),
        ("连不上网", "net.sim", {"sim_status": "suspended_or_depleted", "net_indicator": "weak"}, {}),
        ("升级后打不开", "sw.upgrade_incomplete", {"upgrade_log": "incomplete", "sw_version": "outdated"}, {}),
        ("POS机提示设备被拆", "sec.tamper", {"tamper_flag": "triggered"}, {}),
    ],
)
def test_cases_are_resolved_without_needless_escalation(
    engine: DiagnosisEngine, text: str, truth: str, checks: dict[str, str], evidence: dict[str, str]
) -> None:
    steps = play(engine, text, truth, checks, evidence)
    assert "escalate" not in steps
    assert len(steps) <= 8


def test_state_round_trips_through_json(engine: DiagnosisEngine) -> None:
    state = engine.start("签到失败", evidence={"net_indicator": "none"})
    state = engine.apply(state, "sim_status", "unknown")
    state = engine.apply(state, "restart_router", "not_fixed")
    restored = SessionState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert restored == state
    assert engine.assess(restored) == engine.assess(state)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda e: e.start("x", symptom="no_such_symptom"), "symptom"),
        (lambda e: e.start("x", evidence={"no_such_check": "ok"}), "evidence.no_such_check"),
        (lambda e: e.start("x", evidence={"power_led": "blinking"}), "evidence.power_led"),
        (lambda e: e.apply(e.start("x"), "no_such_step", "fixed"), "step"),
        (lambda e: e.apply(e.start("x"), "power_led", "fixed"), "outcome"),
        (lambda e: e.apply(e.start("x"), "restart_terminal", "ok"), "outcome"),
        (lambda e: e.apply(e.start("x", evidence={"power_led": "on"}), "power_led", "off"), "step"),
        (lambda e: e.apply(e.apply(e.start("x"), "restart_terminal", "not_fixed"), "restart_terminal", "fixed"),
         "step"),
        (lambda e: e.apply(e.apply(e.start("x"), "reload_paper", "fixed"), "power_led", "on"), "step"),
    ],
)
def test_step_errors_name_the_field(engine: DiagnosisEngine, call, field: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(StepError) as caught:
        call(engine)
    assert caught.value.field == field
    assert isinstance(caught.value, Invalid)


def test_resolved_case_for_learning(engine: DiagnosisEngine) -> None:
    state = engine.start("交易被拒绝", evidence={"response_code": "51"})
    assert engine.resolved_case(state) is None
    state = engine.apply(state, "ask_other_payment", "fixed")
    case = engine.resolved_case(state)
    assert case is not None
    assert (case.symptom, case.cause) == ("declined", "card.funds")
    assert case.evidence == {"response_code": "51"}


def test_helpers_for_the_service(engine: DiagnosisEngine) -> None:
    assert engine.is_action("clean_reader") and not engine.is_action("power_led")
    assert engine.step_cost("escalate") == 3000 and engine.step_cost("power_led") == 1
    assert engine.step_cost("nothing") is None
    assert engine.cause_name("hw.reader_dirty", "en").startswith("Card reader dirty")
    ranking = [("card.pin", 0.5), ("sw.keys", 0.3), ("card.funds", 0.2)]
    assert engine.likely_fixed_cause("re_sign_in", ranking) == "sw.keys"
    assert engine.likely_fixed_cause("ask_other_payment", ranking) == "card.pin"
    assert engine.likely_fixed_cause("clean_reader", ranking) is None


def test_score_rates_the_knowledge_on_resolved_cases(engine: DiagnosisEngine) -> None:
    cases = [
        ResolvedCase("declined", "card.funds", {"response_code": "51"}),
        ResolvedCase("declined", "card.pin", {"response_code": "55"}),
        ResolvedCase("printer", "hw.printer_head", {"print_test": "ok"}),
    ]
    score = engine.score(cases)
    assert score["cases"] == 3
    assert score["top1"] == pytest.approx(2 / 3, abs=1e-3)
    assert score["top3"] == 1.0
    assert score["log_loss"] > 0
