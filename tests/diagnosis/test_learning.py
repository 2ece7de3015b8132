"""Learning: refitting priors and likelihoods from resolved cases, and the overlay round trip."""

from __future__ import annotations

import json

import pytest

from posops.diagnosis.engine import DiagnosisEngine
from posops.diagnosis.knowledge import Knowledge, KnowledgeError, load_knowledge
from posops.diagnosis.learning import ResolvedCase, learned_overlay, refit


def printer_cases(n_head: int, n_paper: int) -> list[ResolvedCase]:
    head = [ResolvedCase("printer", "hw.printer_head", {"print_test": "faint"})] * n_head
    paper = [ResolvedCase("printer", "hw.printer_paper", {"print_test": "nothing"})] * n_paper
    return head + paper


def test_refit_moves_priors_towards_observed_frequencies(knowledge: Knowledge) -> None:
    written = knowledge.tables.causes_given_symptom["printer"]["hw.printer_head"]
    few = refit(knowledge, printer_cases(8, 2)).tables.causes_given_symptom["printer"]["hw.printer_head"]
    many = refit(knowledge, printer_cases(800, 200)).tables.causes_given_symptom["printer"]["hw.printer_head"]
    assert written < few < many < 0.8  # smoothed: never all the way to the raw 0.8
    assert many == pytest.approx(0.8, abs=0.02)


def test_refit_keeps_distributions_valid(knowledge: Knowledge) -> None:
    learned = refit(knowledge, printer_cases(5, 5))
    for dist in learned.tables.causes_given_symptom.values():
        assert sum(dist.values()) == pytest.approx(1.0, abs=1e-4)
        assert min(dist.values()) > 0
    table = learned.tables.outcome_given_cause["print_test"]["hw.printer_head"]
    assert sum(table.values()) == pytest.approx(1.0, abs=1e-4)
    assert min(table.values()) > 0


def test_refit_moves_likelihoods(knowledge: Knowledge) -> None:
    cases = [ResolvedCase("printer", "hw.printer_head", {"print_test": "nothing"})] * 60
    before = knowledge.tables.outcome_given_cause["print_test"]["hw.printer_head"]["nothing"]
    after = refit(knowledge, cases).tables.outcome_given_cause["print_test"]["hw.printer_head"]["nothing"]
    assert before < after < 1.0
    untouched = refit(knowledge, cases).tables.outcome_given_cause["print_test"]["hw.printer_paper"]
    assert untouched == knowledge.tables.outcome_given_cause["print_test"]["hw.printer_paper"]


def test_refit_starts_from_the_written_knowledge(knowledge: Knowledge) -> None:
    once = refit(knowledge, printer_cases(20, 0))
    twice = refit(once, printer_cases(20, 0))
    assert twice.tables == once.tables  # not counted twice
    assert knowledge.tables.causes_given_symptom == knowledge.written.causes_given_symptom


def test_overlay_round_trips_through_json(knowledge: Knowledge) -> None:
    learned = refit(knowledge, printer_cases(30, 10))
    overlay = json.loads(json.dumps(learned_overlay(learned)))
    assert overlay["cases"] == 40
    reloaded = load_knowledge(overlay=overlay)
    assert reloaded.tables == learned.tables
    assert learned_overlay(reloaded) == overlay


def test_learned_knowledge_changes_the_engine(knowledge: Knowledge) -> None:
    learned = refit(knowledge, printer_cases(300, 0))
    before = DiagnosisEngine(knowledge).assess(DiagnosisEngine(knowledge).start("", symptom="printer"))
    after_engine = DiagnosisEngine(learned)
    after = after_engine.assess(after_engine.start("", symptom="printer"))
    assert before.ranking[0][0] == "hw.printer_paper"
    assert after.ranking[0][0] == "hw.printer_head"


def test_broken_overlay_is_rejected(knowledge: Knowledge) -> None:
    overlay = learned_overlay(refit(knowledge, printer_cases(3, 3)))
    overlay["priors"]["printer"]["hw.printer_head"] = 0.9
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(overlay=overlay)
    assert (caught.value.file, caught.value.entry) == ("overlay", "priors.printer")
    with pytest.raises(KnowledgeError, match="format"):
        load_knowledge(overlay={"priors": {}})


def test_cases_with_unknown_ids_are_rejected(knowledge: Knowledge) -> None:
    with pytest.raises(KnowledgeError, match="unknown cause"):
        refit(knowledge, [{"symptom": "printer", "cause": "hw.gremlins", "evidence": {}}])
    with pytest.raises(KnowledgeError, match="no outcome"):
        refit(knowledge, [{"symptom": "printer", "cause": "hw.printer_head", "evidence": {"print_test": "pink"}}])
