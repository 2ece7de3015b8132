"""Single-fault Bayesian inference: posterior over causes (and symptoms) given words and evidence.

The joint model is P(symptom, cause, evidence) = P(symptom | words) · P(cause | symptom) ·
Π P(outcome | cause) over hard evidence · Π Σ_o P(o | cause)·L(o) over soft evidence
(outcomes the words report, with likelihood ratio L) · the words' cause factors · the
repair history (a failed repair leaves its causes only a small chance).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from posops.diagnosis.knowledge import Knowledge

FAILED_REPAIR_FACTOR = 0.002
OUTSIDE_FIX_FACTOR = 1e-6


@dataclass(frozen=True)
class Model:
    """The knowledge as index-based tables, for fast arithmetic."""

    causes: tuple[str, ...]
    cause_index: Mapping[str, int]
    symptoms: tuple[str, ...]
    symptom_index: Mapping[str, int]
    prior: tuple[tuple[float, ...], ...]  # [symptom][cause] P(cause | symptom)
    likelihood: Mapping[str, Mapping[str, tuple[float, ...]]]  # check -> outcome -> [cause]
    actions: tuple[str, ...]
    action_index: Mapping[str, int]
    action_cost: tuple[float, ...]
    action_fixes: tuple[tuple[int, ...], ...]
    action_fixes_all: tuple[bool, ...]
    check_cost: Mapping[str, float]


def compile_model(knowledge: Knowledge) -> Model:
    """Turn `knowledge` into index-based tables."""
    causes = tuple(knowledge.causes)
    cause_index = {c: i for i, c in enumerate(causes)}
    symptoms = tuple(knowledge.symptoms)
    prior = []
    for symptom in symptoms:
        listed = knowledge.tables.causes_given_symptom[symptom]
        others = [c for c in causes if c not in listed]
        off = knowledge.off_symptom_mass if others else 0.0
        row = [0.0] * len(causes)
        for cause, p in listed.items():
            row[cause_index[cause]] = (1.0 - off) * p
        for cause in others:
            row[cause_index[cause]] = off / len(others)
        prior.append(tuple(row))
    likelihood = {
        check: {
            outcome: tuple(table[cause][outcome] for cause in causes)
            for outcome in knowledge.checks[check].outcomes
        }
        for check, table in knowledge.tables.outcome_given_cause.items()
    }
    actions = tuple(knowledge.actions)
    return Model(
        causes=causes,
        cause_index=cause_index,
        symptoms=symptoms,
        symptom_index={s: i for i, s in enumerate(symptoms)},
        prior=tuple(prior),
        likelihood=likelihood,
        actions=actions,
        action_index={a: i for i, a in enumerate(actions)},
        action_cost=tuple(knowledge.actions[a].cost for a in actions),
        action_fixes=tuple(
            tuple(range(len(causes))) if knowledge.actions[a].fixes_all
            else tuple(sorted(cause_index[c] for c in knowledge.actions[a].fixes))
            for a in actions
        ),
        action_fixes_all=tuple(knowledge.actions[a].fixes_all for a in actions),
        check_cost={c: knowledge.checks[c].cost for c in knowledge.checks},
    )


@dataclass(frozen=True)
class Observations:
    """Everything known about a case, in the form inference needs."""

    symptom_weights: Mapping[str, float]
    hard: Mapping[str, str] = field(default_factory=dict)
    soft: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    cause_factors: Mapping[str, float] = field(default_factory=dict)
    failed: frozenset[str] = frozenset()
    fixed: str | None = None


@dataclass(frozen=True)
class Belief:
    """Posterior probabilities of causes and symptoms, aligned with the model's tuples."""

    causes: tuple[float, ...]
    symptoms: tuple[float, ...]


def evidence_factors(model: Model, obs: Observations) -> list[float]:
    """Return, per cause, the likelihood of everything observed apart from the symptom."""
    n = len(model.causes)
    factors = [1.0] * n
    for check, outcome in obs.hard.items():
        column = model.likelihood[check][outcome]
        for c in range(n):
            factors[c] *= column[c]
    for check, ratios in obs.soft.items():
        if check in obs.hard:
            continue  # the check itself was answered: the words add nothing
        table = model.likelihood[check]
        for c in range(n):
            factors[c] *= sum(table[o][c] * ratios.get(o, 1.0) for o in table)
    for cause, factor in obs.cause_factors.items():
        if cause in model.cause_index:
            factors[model.cause_index[cause]] *= factor
    for action in obs.failed:
        for c in model.action_fixes[model.action_index[action]]:
            factors[c] *= FAILED_REPAIR_FACTOR
    if obs.fixed is not None:
        fixing = set(model.action_fixes[model.action_index[obs.fixed]])
        for c in range(n):
            if c not in fixing:
                factors[c] *= OUTSIDE_FIX_FACTOR
    return factors


def infer(model: Model, obs: Observations) -> Belief:
    """Compute the posterior over causes and symptoms."""
    factors = evidence_factors(model, obs)
    n = len(model.causes)
    cause_mass = [0.0] * n
    symptom_mass = []
    for s, symptom in enumerate(model.symptoms):
        weight = obs.symptom_weights.get(symptom, 0.0)
        if weight <= 0:
            symptom_mass.append(0.0)
            continue
        row = model.prior[s]
        total = 0.0
        for c in range(n):
            joint = weight * row[c] * factors[c]
            cause_mass[c] += joint
            total += joint
        symptom_mass.append(total)
    z = sum(cause_mass)
    if z <= 0:  # contradictory evidence: fall back on the symptom prior alone
        return infer(model, Observations(symptom_weights=obs.symptom_weights))
    return Belief(tuple(m / z for m in cause_mass), tuple(m / z for m in symptom_mass))


def predictive_likelihood(model: Model, check: str, ratios: Mapping[str, float] | None) -> dict[str, list[float]]:
    """Return P(outcome | cause) for `check`, given the words' soft evidence about it (if any)."""
    table = model.likelihood[check]
    if not ratios:
        return {o: list(column) for o, column in table.items()}
    n = len(model.causes)
    norm = [sum(table[o][c] * ratios.get(o, 1.0) for o in table) for c in range(n)]
    return {o: [column[c] * ratios.get(o, 1.0) / norm[c] for c in range(n)] for o, column in table.items()}
