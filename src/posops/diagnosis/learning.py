"""Learning from resolved sessions: Dirichlet-smoothed refit of priors and likelihoods.

The written knowledge is the prior: each of its distributions counts as `strength`
pseudo-observations, so a handful of cases nudges it and thousands of cases override it.

    >>> from posops.diagnosis.knowledge import load_knowledge
    >>> kb = load_knowledge()
    >>> cases = [ResolvedCase("printer", "hw.printer_head", {"print_test": "faint"})] * 40
    >>> learned = refit(kb, cases)
    >>> learned.tables.causes_given_symptom["printer"]["hw.printer_head"] > 0.6
    True
    >>> again = load_knowledge(overlay=learned_overlay(learned))
    >>> again.tables == learned.tables
    True
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from posops.diagnosis.errors import KnowledgeError
from posops.diagnosis.knowledge import Knowledge, apply_overlay
from posops.diagnosis.vocabulary import StepOutcome

RATE_STRENGTH = 50.0
PRIOR_STRENGTH = 30.0
LIKELIHOOD_STRENGTH = 20.0
DIGITS = 6


@dataclass(frozen=True)
class ResolvedCase:
    """A closed diagnosis: the symptom, the cause that turned out true, and the check outcomes observed."""

    symptom: str
    cause: str
    evidence: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ResolvedCase:
        """Build a case from {"symptom", "cause", "evidence"} ("checks" is accepted for "evidence")."""
        observed = data.get("evidence", data.get("checks", {}))
        return cls(str(data["symptom"]), str(data["cause"]), {str(k): str(v) for k, v in observed.items()})


def refit(
    knowledge: Knowledge,
    cases: Iterable[ResolvedCase | Mapping[str, Any]],
    *,
    rate_strength: float = RATE_STRENGTH,
    prior_strength: float = PRIOR_STRENGTH,
    likelihood_strength: float = LIKELIHOOD_STRENGTH,
) -> Knowledge:
    """Return `knowledge` refitted on `cases` (all resolved cases so far; not cumulative).

    Symptom base rates, P(cause | symptom) and P(outcome | cause) become Dirichlet posterior
    means with the written knowledge as prior. Cases naming unknown ids raise KnowledgeError.
    """
    resolved = [c if isinstance(c, ResolvedCase) else ResolvedCase.from_dict(c) for c in cases]
    _validate(knowledge, resolved)
    written = knowledge.written
    overlay: dict[str, Any] = {"format": "posops.diagnosis.overlay", "version": 1, "cases": len(resolved)}
    if not resolved:
        return apply_overlay(knowledge, overlay)

    symptom_counts = Counter(c.symptom for c in resolved)
    overlay["symptom_rates"] = _posterior_mean(written.symptom_rates, symptom_counts, rate_strength)

    by_symptom: dict[str, Counter[str]] = defaultdict(Counter)
    for case in resolved:
        by_symptom[case.symptom][case.cause] += 1
    priors = {}
    for symptom, counts in by_symptom.items():
        prior = _effective_prior(knowledge, symptom)
        priors[symptom] = _posterior_mean(prior, counts, prior_strength)
    overlay["priors"] = priors

    outcome_counts: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    for case in resolved:
        for check, outcome in case.evidence.items():
            if outcome != StepOutcome.UNKNOWN:
                outcome_counts[check][case.cause][outcome] += 1
    likelihoods: dict[str, dict[str, dict[str, float]]] = {}
    for check, per_cause in outcome_counts.items():
        likelihoods[check] = {
            cause: _posterior_mean(written.outcome_given_cause[check][cause], counts, likelihood_strength)
            for cause, counts in per_cause.items()
        }
    overlay["likelihoods"] = likelihoods
    return apply_overlay(knowledge, overlay)


def learned_overlay(knowledge: Knowledge) -> dict[str, Any]:
    """Return the learned overlay of `knowledge` as JSON-serialisable data (empty if none)."""
    return dict(knowledge.overlay) if knowledge.overlay else {"format": "posops.diagnosis.overlay", "version": 1}


to_overlay = learned_overlay


def _effective_prior(knowledge: Knowledge, symptom: str) -> dict[str, float]:
    """P(cause | symptom) over all causes, with the off-symptom share spread as inference does."""
    listed = knowledge.written.causes_given_symptom[symptom]
    others = [c for c in knowledge.causes if c not in listed]
    off = knowledge.off_symptom_mass if others else 0.0
    prior = {c: (1.0 - off) * p for c, p in listed.items()}
    prior.update({c: off / len(others) for c in others})
    return prior


def _posterior_mean(prior: Mapping[str, float], counts: Mapping[str, int], strength: float) -> dict[str, float]:
    total = strength + sum(counts.values())
    mean = {k: (strength * p + counts.get(k, 0)) / total for k, p in prior.items()}
    norm = sum(mean.values())
    return {k: max(round(v / norm, DIGITS), 10.0**-DIGITS) for k, v in mean.items()}


def _validate(knowledge: Knowledge, cases: list[ResolvedCase]) -> None:
    for index, case in enumerate(cases):
        where = f"case[{index}]"
        if case.symptom not in knowledge.symptoms:
            raise KnowledgeError("resolved cases", where, f"unknown symptom {case.symptom!r}")
        if case.cause not in knowledge.causes:
            raise KnowledgeError("resolved cases", where, f"unknown cause {case.cause!r}")
        for check, outcome in case.evidence.items():
            if check not in knowledge.checks:
                raise KnowledgeError("resolved cases", where, f"unknown check {check!r}")
            if outcome != StepOutcome.UNKNOWN and outcome not in knowledge.checks[check].outcomes:
                raise KnowledgeError("resolved cases", where, f"check {check} has no outcome {outcome!r}")
