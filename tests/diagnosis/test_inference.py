"""Bayesian inference: evidence moves the posterior the right way."""

from __future__ import annotations

import pytest

from posops.diagnosis.engine import DiagnosisEngine
from posops.diagnosis.inference import Observations, infer


def prob(engine: DiagnosisEngine, obs: Observations, cause: str) -> float:
    belief = infer(engine.model, obs)
    return belief.causes[engine.model.cause_index[cause]]


def test_prior_follows_the_symptom(engine: DiagnosisEngine) -> None:
    belief = infer(engine.model, Observations(symptom_weights={"printer": 1.0}))
    assert sum(belief.causes) == pytest.approx(1.0)
    top = engine.model.causes[max(range(len(belief.causes)), key=belief.causes.__getitem__)]
    assert top == "hw.printer_paper"
    assert belief.symptoms[engine.model.symptom_index["printer"]] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("symptom", "check", "outcome", "raised", "lowered"),
    [
        ("card_read", "known_good_card", "reads", "card.damaged", "hw.reader_dirty"),
        ("card_read", "known_good_card", "fails", "hw.reader_dirty", "card.damaged"),
        ("power", "other_outlet", "boots", "hw.power_supply", "hw.battery_drained"),
        ("network", "other_device_online", "no", "net.wifi", "net.sim"),
        ("declined", "response_code", "51", "card.funds", "card.pin"),
        ("declined", "response_code", "A0", "sw.keys", "card.funds"),
        ("suspended", "account_status", "dormant", "acct.dormant", "acct.arrears"),
        ("security", "tamper_flag", "triggered", "sec.tamper", "sec.fraud"),
        ("post_upgrade", "version_cohort", "yes", "sw.upgrade_bug", "sw.upgrade_incomplete"),
    ],
)
def test_evidence_shifts_the_posterior(
    engine: DiagnosisEngine, symptom: str, check: str, outcome: str, raised: str, lowered: str
) -> None:
    before = Observations(symptom_weights={symptom: 1.0})
    after = Observations(symptom_weights={symptom: 1.0}, hard={check: outcome})
    assert prob(engine, after, raised) > prob(engine, before, raised)
    assert prob(engine, after, lowered) < prob(engine, before, lowered)


def test_evidence_is_noisy_not_absolute(engine: DiagnosisEngine) -> None:
    obs = Observations(symptom_weights={"card_read": 1.0}, hard={"known_good_card": "reads"})
    assert 0 < prob(engine, obs, "hw.reader_dirty") < 0.2


def test_soft_evidence_from_words_counts_less_than_an_answer(engine: DiagnosisEngine) -> None:
    base = Observations(symptom_weights={"declined": 1.0})
    soft = Observations(symptom_weights={"declined": 1.0}, soft={"response_code": {"55": 5.0}})
    hard = Observations(symptom_weights={"declined": 1.0}, hard={"response_code": "55"})
    assert prob(engine, base, "card.pin") < prob(engine, soft, "card.pin") < prob(engine, hard, "card.pin")


def test_answered_check_overrides_what_the_words_said(engine: DiagnosisEngine) -> None:
    said = {"response_code": {"55": 20.0}}
    answered = Observations(symptom_weights={"declined": 1.0}, hard={"response_code": "51"}, soft=said)
    plain = Observations(symptom_weights={"declined": 1.0}, hard={"response_code": "51"})
    assert prob(engine, answered, "card.funds") == pytest.approx(prob(engine, plain, "card.funds"))


def test_failed_repair_nearly_removes_its_causes(engine: DiagnosisEngine) -> None:
    base = Observations(symptom_weights={"printer": 1.0})
    failed = Observations(symptom_weights={"printer": 1.0}, failed=frozenset({"reload_paper"}))
    assert prob(engine, failed, "hw.printer_paper") < 0.01 * prob(engine, base, "hw.printer_paper")
    assert prob(engine, failed, "hw.printer_paper") > 0
    assert prob(engine, failed, "hw.printer_head") > prob(engine, base, "hw.printer_head")


def test_fixing_repair_confines_the_posterior_to_its_causes(engine: DiagnosisEngine) -> None:
    obs = Observations(symptom_weights={"declined": 1.0}, hard={"response_code": "55"}, fixed="ask_other_payment")
    belief = infer(engine.model, obs)
    card = sum(belief.causes[engine.model.cause_index[c]] for c in engine.knowledge.actions["ask_other_payment"].fixes)
    assert card > 0.999


def test_cause_factors_from_words(engine: DiagnosisEngine) -> None:
    base = Observations(symptom_weights={"network": 1.0})
    hinted = Observations(symptom_weights={"network": 1.0}, cause_factors={"net.cable": 3.0})
    assert prob(engine, hinted, "net.cable") > prob(engine, base, "net.cable")


def test_mixed_symptoms_update_with_evidence(engine: DiagnosisEngine) -> None:
    weights = {"network": 0.5, "printer": 0.5}
    belief = infer(engine.model, Observations(symptom_weights=weights, hard={"printer_paper": "empty_or_reversed"}))
    assert belief.symptoms[engine.model.symptom_index["printer"]] > 0.9


def test_off_symptom_causes_keep_a_small_chance(engine: DiagnosisEngine) -> None:
    obs = Observations(symptom_weights={"printer": 1.0}, hard={"tamper_flag": "triggered", "risk_alerts": "present"})
    assert 0 < prob(engine, obs, "sec.tamper") < 1
