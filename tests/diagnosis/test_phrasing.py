"""The learned reading: trained on posops's own words only, and it helps on wording written by other hands."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from posops.diagnosis.knowledge import Knowledge
from posops.diagnosis.phrasing import phrasing_model, training_corpus
from posops.diagnosis.reading import read_complaint
from posops.diagnosis.textnorm import normalize

HERE = Path(__file__).parent
FORUM = yaml.safe_load((HERE / "heldout_forum.yaml").read_text(encoding="utf-8"))
CUES = yaml.safe_load((HERE / "heldout_cues.yaml").read_text(encoding="utf-8"))
CUES_TEST = [(e[0], e[1], e[2]) for e in CUES["test"]]
COMPLAINTS = yaml.safe_load((HERE / "heldout_complaints.yaml").read_text(encoding="utf-8"))


def _accuracy(knowledge: Knowledge, entries: list[tuple[str, str, str]]) -> float:
    right = 0
    for symptom, _, text in entries:
        symptoms = read_complaint(knowledge, text).symptoms
        right += max(symptoms, key=symptoms.__getitem__) == symptom
    return right / len(entries)


def _rules_only(knowledge: Knowledge) -> Knowledge:
    scoring = replace(knowledge.lexicon.scoring, phrasing_weight=1e-12)
    return replace(knowledge, lexicon=replace(knowledge.lexicon, scoring=scoring))


def test_no_held_out_wording_is_in_the_lexicon_or_the_training_corpus(knowledge: Knowledge) -> None:
    terms = {t.text for t in knowledge.lexicon.terms}
    corpus = "\n".join(normalize(t) for t in training_corpus(knowledge)[0])
    for _, _, text in [*FORUM, *CUES_TEST, *COMPLAINTS]:
        written = normalize(text)
        assert written.replace(" ", "") not in terms
        assert written not in corpus, text


def test_the_forum_set_covers_every_symptom_and_language(knowledge: Knowledge) -> None:
    assert {s for s, _, _ in FORUM} == set(knowledge.symptoms)
    assert {g for _, g, _ in FORUM} == {"zh", "zh-hant", "en", "typo"}


def test_the_reader_holds_up_on_forum_wording(knowledge: Knowledge) -> None:
    by_group: dict[str, list[tuple[str, str, str]]] = {}
    for entry in FORUM:
        by_group.setdefault(entry[1], []).append(entry)
    assert _accuracy(knowledge, FORUM) >= 0.92
    for group, entries in by_group.items():
        assert _accuracy(knowledge, entries) >= 0.75, group


@pytest.mark.parametrize("entries", [FORUM, CUES_TEST], ids=["forum", "cues-test"])
def test_the_learned_reading_helps_the_rules(knowledge: Knowledge, entries: list[tuple[str, str, str]]) -> None:
    assert _accuracy(knowledge, entries) > _accuracy(_rules_only(knowledge), entries)


def test_the_model_reads_words_the_lexicon_lacks(knowledge: Knowledge) -> None:
    model = phrasing_model(knowledge)
    probabilities = model.symptom_probabilities("小票打不出来")
    assert max(probabilities, key=probabilities.__getitem__) == "printer"
    assert sum(probabilities.values()) == pytest.approx(1.0)
    assert phrasing_model(knowledge) is model  # trained once per lexicon


def test_the_corpus_is_labelled_with_every_symptom(knowledge: Knowledge) -> None:
    texts, labels = training_corpus(knowledge)
    assert len(texts) == len(labels) and set(Counter(labels)) == set(knowledge.symptoms)
    assert training_corpus(knowledge) == (texts, labels)  # seeded: the same corpus every time
