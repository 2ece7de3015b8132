"""Measure the complaint reader on held-out complaints with cues (tests/diagnosis/heldout_cues.yaml).

The `test` list is scored against thresholds; the `dev` list is for looking at mistakes. Print the figures
of both lists with `measure(load_knowledge(), load_entries(split))`; never print the test list's failures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

import posops
from posops.diagnosis.knowledge import Knowledge, load_knowledge
from posops.diagnosis.reading import read_complaint

DATA = Path(__file__).with_name("heldout_cues.yaml")
KB_DIR = Path(posops.__file__).parent / "kb"
GROUPS = ("zh", "zh-hant", "en", "typo")
SPLITS = ("dev", "test")

# Floors measured on the test list, rounded down to the next 0.05; raise them as the reader improves.
SYMPTOM_ACCURACY_MIN = 0.95
CUE_RECALL_MIN = 0.65
CUE_PRECISION_MIN = 0.80


@dataclass(frozen=True)
class Entry:
    """One held-out complaint: the symptom it describes and the evidence its words state plainly."""

    symptom: str
    group: str
    text: str
    cues: Mapping[str, str]


@dataclass
class Measure:
    """Figures of the reader on one list, and the entries it got wrong."""

    entries: int = 0
    symptom_hits: int = 0
    expected_cues: int = 0
    recalled_cues: int = 0
    produced_cues: int = 0
    correct_cues: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def symptom_accuracy(self) -> float:
        """Share of entries whose most probable symptom is the expected one."""
        return self.symptom_hits / self.entries if self.entries else 0.0

    @property
    def cue_recall(self) -> float:
        """Share of expected (check, outcome) pairs the reader points to."""
        return self.recalled_cues / self.expected_cues if self.expected_cues else 0.0

    @property
    def cue_precision(self) -> float:
        """Share of the reader's evidence items whose outcome is the expected one."""
        return self.correct_cues / self.produced_cues if self.produced_cues else 1.0


def load_entries(split: str) -> list[Entry]:
    """Load one list (`dev` or `test`) of the held-out file."""
    document = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    return [
        Entry(str(symptom), str(group), str(text), {str(c): str(o) for c, o in (cues or {}).items()})
        for symptom, group, text, cues in document[split]
    ]


def pointed_outcome(outcomes: Mapping[str, float]) -> str | None:
    """Return the outcome the words point to: the largest likelihood ratio, if it is above 1."""
    if not outcomes:
        return None
    best = max(outcomes, key=lambda outcome: outcomes[outcome])
    return best if outcomes[best] > 1.0 else None


def measure(knowledge: Knowledge, entries: list[Entry]) -> Measure:
    """Read every entry and score symptoms and cues.

    symptom accuracy  share of entries whose argmax symptom equals the expected symptom.
    cue recall        over all expected (check, outcome) pairs of all entries: share for which the reading's
                      evidence for that check points to that outcome (largest ratio, above 1).
    cue precision     over all evidence items the reader produced (one per entry and check with a pointed
                      outcome): share whose pointed outcome is the one the entry's mapping names for that check.
                      Every entry counts, both those whose mapping names the check (the item is right only
                      when the outcomes agree) and those whose mapping names nothing for it (the item is an
                      unexpected cue, since a mapping holds all the evidence the words state plainly).
    """
    result = Measure()
    for entry in entries:
        reading = read_complaint(knowledge, entry.text)
        guessed = max(reading.symptoms, key=lambda symptom: reading.symptoms[symptom])
        pointed = {check: pointed_outcome(outcomes) for check, outcomes in reading.evidence.items()}
        pointed = {check: outcome for check, outcome in pointed.items() if outcome is not None}
        missed = {check: outcome for check, outcome in entry.cues.items() if pointed.get(check) != outcome}
        extra = {check: outcome for check, outcome in pointed.items() if entry.cues.get(check) != outcome}
        result.entries += 1
        result.symptom_hits += guessed == entry.symptom
        result.expected_cues += len(entry.cues)
        result.recalled_cues += len(entry.cues) - len(missed)
        result.produced_cues += len(pointed)
        result.correct_cues += len(pointed) - len(extra)
        if guessed != entry.symptom or missed or extra:
            result.failures.append(
                {"text": entry.text, "symptom": entry.symptom, "read": guessed, "missed": missed, "extra": extra}
            )
    return result


@pytest.fixture(scope="module")
def kb() -> Knowledge:
    return load_knowledge()


@pytest.fixture(scope="module")
def test_figures(kb: Knowledge) -> Measure:
    return measure(kb, load_entries("test"))


@pytest.mark.parametrize("split", SPLITS)
def test_entries_speak_the_taxonomy(kb: Knowledge, split: str) -> None:
    for entry in load_entries(split):
        assert entry.symptom in kb.symptoms, entry.text
        assert entry.group in GROUPS, entry.text
        assert entry.text.strip(), entry
        for check, outcome in entry.cues.items():
            assert check in kb.checks, (entry.text, check)
            assert outcome in kb.checks[check].outcomes, (entry.text, check, outcome)


def test_lists_cover_every_symptom_and_group_with_the_same_mix(kb: Knowledge) -> None:
    dev, test = load_entries("dev"), load_entries("test")
    for entries in (dev, test):
        assert {e.symptom for e in entries} == set(kb.symptoms)
        assert {e.group for e in entries} == set(GROUPS)
    for symptom in kb.symptoms:
        assert sum(e.symptom == symptom for e in dev) == sum(e.symptom == symptom for e in test), symptom


def test_lists_do_not_share_texts() -> None:
    def key(text: str) -> str:
        return "".join(text.lower().split())

    dev = {key(e.text) for e in load_entries("dev")}
    test = [key(e.text) for e in load_entries("test")]
    assert len(test) == len(set(test))
    assert not dev & set(test)


def test_texts_are_not_copied_into_the_knowledge_files() -> None:
    kb_text = "\n".join(path.read_text(encoding="utf-8").lower() for path in sorted(KB_DIR.glob("*.yaml")))
    assert kb_text
    copied = [e.text for split in SPLITS for e in load_entries(split) if e.text.lower() in kb_text]
    assert not copied, f"{len(copied)} held-out texts appear verbatim in the knowledge files"


def test_symptom_accuracy_on_the_test_list(test_figures: Measure) -> None:
    assert test_figures.entries > 0
    assert test_figures.symptom_accuracy >= SYMPTOM_ACCURACY_MIN, f"{test_figures.symptom_accuracy:.3f}"


def test_cue_recall_on_the_test_list(test_figures: Measure) -> None:
    assert test_figures.expected_cues > 0
    assert test_figures.cue_recall >= CUE_RECALL_MIN, (
        f"recall {test_figures.cue_recall:.3f}, precision {test_figures.cue_precision:.3f}"
    )


def test_cue_precision_on_the_test_list(test_figures: Measure) -> None:
    assert test_figures.produced_cues > 0
    assert test_figures.cue_precision >= CUE_PRECISION_MIN, f"precision {test_figures.cue_precision:.3f}"
