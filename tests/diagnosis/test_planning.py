"""Cost-aware planning: ECR ordering, value of information, escalation."""

from __future__ import annotations

import pytest

from posops.diagnosis.engine import DiagnosisEngine
from posops.diagnosis.inference import Model, Observations, infer, predictive_likelihood
from posops.diagnosis.planning import decide, expected_repair_cost, repair_order


def toy_model() -> Model:
    """Two causes, one cheap repair each, a service call, and a check that tells them apart."""
    return Model(
        causes=("a", "b"),
        cause_index={"a": 0, "b": 1},
        symptoms=("s",),
        symptom_index={"s": 0},
        prior=((0.7, 0.3),),
        likelihood={"look": {"is_a": (0.95, 0.05), "is_b": (0.05, 0.95)}},
        actions=("fix_a", "fix_b", "call"),
        action_index={"fix_a": 0, "fix_b": 1, "call": 2},
        action_cost=(10.0, 10.0, 100.0),
        action_fixes=((0,), (1,), (0, 1)),
        action_fixes_all=(False, False, True),
        check_cost={"look": 1.0},
    )


def test_expected_cost_of_repair_follows_p_over_c() -> None:
    model = toy_model()
    # fix_a first (0.7/10), then fix_b with the remaining 0.3: 10 + 0.3 * 10
    assert expected_repair_cost(model, (0.7, 0.3), ["fix_a", "fix_b", "call"]) == pytest.approx(13.0)
    assert [a for a, _ in repair_order(model, (0.3, 0.7), ["fix_a", "fix_b", "call"])] == ["fix_b", "fix_a"]


def test_escalation_comes_last_unless_nothing_cheaper_can_help() -> None:
    model = toy_model()
    assert [a for a, _ in repair_order(model, (0.7, 0.3), ["fix_a", "fix_b", "call"])] == ["fix_a", "fix_b"]
    decision = decide(model, (0.7, 0.3), ["call"], [], {})
    assert decision is not None and decision.id == "call"


def test_check_is_chosen_when_its_information_pays() -> None:
    model = toy_model()
    likelihoods = {"look": predictive_likelihood(model, "look", None)}
    expensive = Model(**{**toy_model().__dict__, "action_cost": (40.0, 40.0, 400.0)})
    decision = decide(expensive, (0.5, 0.5), ["fix_a", "fix_b", "call"], ["look"], likelihoods)
    assert decision is not None and decision.kind == "check" and decision.id == "look"
    assert decision.expected_cost < decision.repair_now_cost
    # when one cause is almost certain, looking first is not worth its cost
    decision = decide(model, (0.99, 0.01), ["fix_a", "fix_b", "call"], ["look"], likelihoods)
    assert decision is not None and decision.kind == "action" and decision.id == "fix_a"


def test_cheap_likely_repair_before_expensive_one(engine: DiagnosisEngine) -> None:
    obs = Observations(symptom_weights={"printer": 1.0}, hard={"printer_paper": "empty_or_reversed"})
    belief = infer(engine.model, obs)
    order = [a for a, _ in repair_order(engine.model, belief.causes, list(engine.model.actions))]
    assert order[0] == "reload_paper"
    assert order.index("reload_paper") < order.index("depot_repair")
    assert order.index("clean_printhead") < order.index("depot_repair")
    assert "escalate" not in order[:3]


def test_account_check_comes_before_account_repairs(engine: DiagnosisEngine) -> None:
    state = engine.start("", symptom="suspended")
    assessment = engine.assess(state)
    assert assessment.next_step is not None
    assert assessment.next_step.id == "account_status"


def test_escalates_only_when_every_cheaper_repair_failed(engine: DiagnosisEngine) -> None:
    state = engine.start("有几个键按不动", evidence={"keypad_test": "some_keys_dead"})
    proposed = []
    for _ in range(40):
        step = engine.assess(state).next_step
        assert step is not None
        proposed.append(step.id)
        if step.id == "escalate":
            break
        state = engine.apply(state, step.id, "not_fixed" if step.kind == "action" else "unknown")
    assert proposed[-1] == "escalate"
    assert "depot_repair" in proposed
    assert proposed.index("depot_repair") < proposed.index("escalate")
    assert len(proposed) == len(set(proposed))


def test_unknown_check_is_not_asked_again(engine: DiagnosisEngine) -> None:
    state = engine.start("", symptom="suspended")
    first = engine.assess(state).next_step
    assert first is not None and first.kind == "check"
    state = engine.apply(state, first.id, "unknown")
    for _ in range(10):
        step = engine.assess(state).next_step
        assert step is not None and step.id != first.id
        state = engine.apply(state, step.id, "not_fixed" if step.kind == "action" else step.outcomes[0])


def test_failed_repair_is_not_proposed_again(engine: DiagnosisEngine) -> None:
    state = engine.start("打印出来是白纸")
    first = engine.assess(state).next_step
    assert first is not None and first.kind == "action"
    state = engine.apply(state, first.id, "not_fixed")
    seen = {first.id}
    for _ in range(15):
        step = engine.assess(state).next_step
        if step is None:
            break
        assert step.id not in seen
        seen.add(step.id)
        state = engine.apply(state, step.id, "not_fixed" if step.kind == "action" else step.outcomes[0])
