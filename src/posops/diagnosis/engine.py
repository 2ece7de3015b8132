"""The diagnosis engine: start a session from a complaint, apply answered steps, assess.

    >>> engine = DiagnosisEngine()
    >>> state = engine.start("打印出来是白纸,提示缺纸")
    >>> a = engine.assess(state, lang="en")
    >>> a.symptom, a.next_step.id
    ('printer', 'reload_paper')
    >>> state = engine.apply(state, "reload_paper", "fixed")
    >>> print(engine.assess(state).status)
    resolved

Sessions are plain data (`SessionState.to_dict()` / `from_dict()`), so a service can keep
them in a database between requests; the engine itself holds no session.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from posops.core.errors import excerpt
from posops.core.i18n import normalize_lang
from posops.core.labels import Label, catalog_label, catalog_sentence
from posops.diagnosis.errors import StepError
from posops.diagnosis.explanation import NextStep, explain
from posops.diagnosis.inference import Belief, Observations, compile_model, infer, predictive_likelihood
from posops.diagnosis.knowledge import STANDING_RATIO, Knowledge, load_knowledge
from posops.diagnosis.learning import ResolvedCase
from posops.diagnosis.planning import Decision, decide
from posops.diagnosis.reading import TextReading, read_complaint
from posops.diagnosis.vocabulary import ESCALATE, REPAIR_OUTCOMES, SessionStatus, StepBy, StepKind, StepOutcome

__all__ = ["Assessment", "DiagnosisEngine", "SessionState", "Step", "StepError", "status_word"]

RANKING_SIZE = 10
RANKING_FLOOR = 0.001
STATE_VERSION = 1
MAX_TEXT = 4000
HANDOVER_AFTER = 35  # answered steps after which the engine proposes the service call
SYMPTOM_QUESTION_COST = 1.0
"""What asking the person to pick the symptom costs, in the taxonomy's minutes (one tap)."""
SYMPTOM_CHOICES = 4
SYMPTOM_CHOICE_FLOOR = 0.05



def _outcome(key: str, lang: str) -> str:
    """Return the catalog's word for a step's answer: zh-CN for ``zh-CN``, English for any other language."""
    label = catalog_sentence(f"diagnosis.outcome.{key}")
    return label.zh if lang == "zh-CN" else label.en


def status_word(status: SessionStatus) -> Label:
    """A session's status as a refusal names it: the console's word in zh-CN, the API's value in English."""
    return Label(catalog_label(f"diagnosis.status_{status.value}").zh, status.value)


def _quoted(value: object) -> Label:
    """A refused id as a refusal repeats it (a short excerpt): “…” in zh-CN, Python's quotes in English."""
    text = excerpt(value) if isinstance(value, str) else value
    return Label(f"“{text}”", repr(text))


def _require_open(state: SessionState) -> None:
    """Refuse to change a session that is no longer open."""
    if state.status != SessionStatus.OPEN:
        raise StepError("status", key="diagnosis.error.already_closed", status=status_word(state.status))


@dataclass(frozen=True)
class Answer:
    """One answered step of a session."""

    kind: StepKind
    step: str
    outcome: str


@dataclass(frozen=True)
class SessionState:
    """Everything a diagnosis session has learned so far; immutable, JSON-serialisable."""

    text: str
    reading: TextReading
    symptom: str | None = None
    evidence: Mapping[str, str] = field(default_factory=dict)
    answers: tuple[Answer, ...] = ()
    status: SessionStatus = SessionStatus.OPEN
    recorded: tuple[str, ...] = ()
    """Causes a record of the provider's own establishes (no check records them): a campaign whose health gate
    halted the version the terminal runs records a defect in that release. Like a standing check's outcome,
    each weighs STANDING_RATIO in the belief and its repair comes first."""

    @property
    def observed(self) -> dict[str, str]:
        """Check outcomes known so far: initial evidence and answered checks (not `unknown`)."""
        known = {c: o for c, o in self.evidence.items() if o != StepOutcome.UNKNOWN}
        known.update({a.step: a.outcome for a in self.answers
                      if a.kind == StepKind.CHECK and a.outcome != StepOutcome.UNKNOWN})
        return known

    @property
    def failed_actions(self) -> tuple[str, ...]:
        """Repairs answered `not_fixed`, in order."""
        return tuple(a.step for a in self.answers if a.kind == StepKind.ACTION and a.outcome == StepOutcome.NOT_FIXED)

    @property
    def skipped(self) -> tuple[str, ...]:
        """Steps answered `unknown` (nobody could do them); never proposed again."""
        initial = [c for c, o in self.evidence.items() if o == StepOutcome.UNKNOWN]
        return tuple(initial + [a.step for a in self.answers if a.outcome == StepOutcome.UNKNOWN])

    @property
    def fixed_by(self) -> str | None:
        """The repair answered `fixed`, if any."""
        fixes = (a.step for a in self.answers if a.kind == StepKind.ACTION and a.outcome == StepOutcome.FIXED)
        return next(fixes, None)

    def answered(self, step: str) -> bool:
        """Tell whether `step` was answered already (as evidence or as a step)."""
        return step in self.evidence or any(a.step == step for a in self.answers)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable form (see `from_dict`)."""
        return {
            "version": STATE_VERSION,
            "text": self.text,
            "symptom": self.symptom,
            "evidence": dict(self.evidence),
            "answers": [{"kind": a.kind, "step": a.step, "outcome": a.outcome} for a in self.answers],
            "status": self.status,
            "reading": self.reading.to_dict(),
            "recorded": list(self.recorded),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SessionState:
        """Rebuild a state from `to_dict` output."""
        if data.get("version") != STATE_VERSION:
            raise StepError("state", key="diagnosis.error.state_version", version=repr(data.get("version")))
        return cls(
            text=str(data["text"]),
            reading=TextReading.from_dict(data["reading"]),
            symptom=data.get("symptom"),
            evidence={str(k): str(v) for k, v in data.get("evidence", {}).items()},
            answers=tuple(Answer(StepKind(a["kind"]), str(a["step"]), str(a["outcome"]))
                          for a in data.get("answers", ())),
            status=SessionStatus(data.get("status", SessionStatus.OPEN)),
            recorded=tuple(str(c) for c in data.get("recorded", ())),  # absent from states stored before it
        )


@dataclass(frozen=True)
class Step:
    """A step proposed to the person: a check to make or a repair to try."""

    kind: StepKind
    id: str
    title: str
    guidance: str
    outcomes: tuple[str, ...]
    outcome_labels: Mapping[str, str]
    cost: float
    by: StepBy
    fix_probability: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable form."""
        return {
            "kind": self.kind,
            "id": self.id,
            "title": self.title,
            "guidance": self.guidance,
            "outcomes": list(self.outcomes),
            "outcome_labels": dict(self.outcome_labels),
            "cost": self.cost,
            "by": self.by,
            "fix_probability": self.fix_probability,
        }


@dataclass(frozen=True)
class Assessment:
    """Where a session stands: status, symptom, ranked causes, next step and why."""

    status: SessionStatus
    symptom: str | None
    ranking: list[tuple[str, float]]
    next_step: Step | None
    explanation: str
    symptom_ranking: list[tuple[str, float]] = field(default_factory=list)
    expected_cost: float | None = None
    resolved_by: str | None = None
    symptom_question: list[tuple[str, float]] = field(default_factory=list)
    """Symptoms to offer the person when picking one is worth more than it costs (else empty)."""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable form."""
        return {
            "status": self.status,
            "symptom": self.symptom,
            "ranking": [{"cause": c, "probability": p} for c, p in self.ranking],
            "next_step": self.next_step.to_dict() if self.next_step else None,
            "explanation": self.explanation,
            "symptom_ranking": [{"symptom": s, "probability": p} for s, p in self.symptom_ranking],
            "expected_cost": self.expected_cost,
            "resolved_by": self.resolved_by,
            "symptom_question": [{"symptom": s, "probability": p} for s, p in self.symptom_question],
        }


class DiagnosisEngine:
    """Diagnose terminal faults with the knowledge base; stateless apart from the knowledge."""

    def __init__(self, knowledge: Knowledge | None = None) -> None:
        self.knowledge = knowledge if knowledge is not None else load_knowledge()
        self.model = compile_model(self.knowledge)

    # --- session lifecycle -------------------------------------------------------------

    def start(
        self, text: str, symptom: str | None = None, evidence: Mapping[str, str] | None = None,
        recorded: Sequence[str] = (),
    ) -> SessionState:
        """Open a session from the merchant's words, an optional known symptom, known evidence and recorded causes."""
        if not isinstance(text, str):
            raise StepError("text", key="diagnosis.error.text_type")
        if len(text) > MAX_TEXT:
            raise StepError("text", key="diagnosis.error.text_too_long", max=MAX_TEXT)
        if symptom is not None and symptom not in self.knowledge.symptoms:
            raise StepError("symptom", key="diagnosis.error.unknown_symptom", symptom=_quoted(symptom))
        checked: dict[str, str] = {}
        for check, outcome in (evidence or {}).items():
            if check not in self.knowledge.checks:
                raise StepError(f"evidence.{excerpt(check)}", key="diagnosis.error.unknown_check",
                                check=_quoted(check))
            value = str(outcome)
            if value != StepOutcome.UNKNOWN and value not in self.knowledge.checks[check].outcomes:
                raise StepError(f"evidence.{check}", key="diagnosis.error.no_such_outcome",
                                check=self._step_word(check), outcome=_quoted(value))
            checked[check] = value
        unknown = [cause for cause in recorded if cause not in self.knowledge.causes]
        if unknown:
            raise ValueError(f"recorded causes not in the knowledge: {unknown}")  # a caller's slip, not an input
        return SessionState(text=text, reading=read_complaint(self.knowledge, text), symptom=symptom, evidence=checked,
                            recorded=tuple(dict.fromkeys(recorded)))

    def apply(self, state: SessionState, step_id: str, outcome: str) -> SessionState:
        """Record the answer to a step; returns the new state (the given one is unchanged)."""
        if state.status != SessionStatus.OPEN:
            raise StepError("step", key="diagnosis.error.already_closed", status=status_word(state.status))
        outcome = str(outcome)
        if step_id in self.knowledge.checks:
            check = self.knowledge.checks[step_id]
            if state.answered(step_id):
                raise StepError("step", key="diagnosis.error.check_answered", check=self._step_word(step_id))
            if outcome != StepOutcome.UNKNOWN and outcome not in check.outcomes:
                labels = self.outcome_labels(step_id)
                allowed = Label("、".join(f"“{labels[o]}”" for o in (*check.outcomes, StepOutcome.UNKNOWN)),
                                ", ".join((*check.outcomes, StepOutcome.UNKNOWN)))
                raise StepError("outcome", key="diagnosis.error.outcome_not_allowed", check=self._step_word(step_id),
                                outcome=_quoted(outcome), allowed=allowed)
            return replace(state, answers=(*state.answers, Answer(StepKind.CHECK, step_id, outcome)))
        if step_id in self.knowledge.actions:
            if state.answered(step_id):
                raise StepError("step", key="diagnosis.error.repair_tried", action=self._step_word(step_id))
            if outcome not in REPAIR_OUTCOMES:
                labels = self.outcome_labels(step_id)
                fixed, not_fixed, unknown = (Label(labels[o], o.value) for o in REPAIR_OUTCOMES)
                raise StepError("outcome", key="diagnosis.error.repair_outcome", fixed=fixed, not_fixed=not_fixed,
                                unknown=unknown, outcome=_quoted(outcome))
            status = SessionStatus.OPEN
            if outcome == StepOutcome.FIXED:
                status = SessionStatus.ESCALATED if step_id == ESCALATE else SessionStatus.RESOLVED
            return replace(state, answers=(*state.answers, Answer(StepKind.ACTION, step_id, outcome)), status=status)
        raise StepError("step", key="diagnosis.error.unknown_step", step=_quoted(step_id))

    def hand_over(self, state: SessionState) -> SessionState:
        """Stop asking and hand the case to the service desk, with everything learned so far."""
        _require_open(state)
        return replace(state, status=SessionStatus.ESCALATED)

    def confirm_symptom(self, state: SessionState, symptom: str) -> SessionState:
        """Record the symptom the person picked; the reading of their words stops counting."""
        _require_open(state)
        if symptom not in self.knowledge.symptoms:
            raise StepError("symptom", key="diagnosis.error.unknown_symptom", symptom=_quoted(symptom))
        return replace(state, symptom=symptom)

    def symptom_question(self, state: SessionState, belief: Belief,
                         decision: Decision | None) -> list[tuple[str, float]]:
        """The symptoms to offer when asking the person to pick one lowers the expected cost, as a check would."""
        if state.symptom is not None or decision is None or state.status != SessionStatus.OPEN:
            return []
        ranked = sorted(zip(self.model.symptoms, belief.symptoms, strict=True), key=lambda x: -x[1])
        choices = [(s, p) for s, p in ranked[:SYMPTOM_CHOICES] if p >= SYMPTOM_CHOICE_FLOOR]
        if len(choices) < 2:
            return []
        expected = (1.0 - sum(p for _, p in choices)) * decision.expected_cost
        for symptom, p in choices:
            then = self.next_decision(replace(state, symptom=symptom))
            expected += p * (then.expected_cost if then is not None else 0.0)
        worth_it = SYMPTOM_QUESTION_COST + expected < decision.expected_cost
        return [(s, round(p, 4)) for s, p in choices] if worth_it else []

    def abandon(self, state: SessionState) -> SessionState:
        """Close a session nobody answers any more; what it learned stays for the record."""
        _require_open(state)
        return replace(state, status=SessionStatus.ABANDONED)

    # --- reasoning ---------------------------------------------------------------------

    def observations(self, state: SessionState) -> Observations:
        """Translate a session into the observations inference uses."""
        weights = {state.symptom: 1.0} if state.symptom else dict(state.reading.symptoms)
        factors = dict(state.reading.cause_factors)
        for cause in state.recorded:
            factors[cause] = factors.get(cause, 1.0) * STANDING_RATIO
        return Observations(
            symptom_weights=weights,
            hard=state.observed,
            soft={c: r for c, r in state.reading.evidence.items() if c in self.knowledge.checks},
            cause_factors=factors,
            failed=frozenset(state.failed_actions),
            fixed=state.fixed_by,
        )

    def belief(self, state: SessionState) -> Belief:
        """Return the posterior over causes and symptoms for a session."""
        return infer(self.model, self.observations(state))

    def next_decision(self, state: SessionState, belief: Belief | None = None) -> Decision | None:
        """Return the planner's choice of next step for an open session, or None."""
        if state.status != SessionStatus.OPEN:
            return None
        belief = belief or self.belief(state)
        blocked = set(state.skipped) | {a.step for a in state.answers}
        actions = [a for a in self.model.actions if a not in blocked]
        observed = state.observed
        told = self._told(state)
        checks = [
            c for c in self.knowledge.checks
            if c not in observed and c not in blocked and c not in state.evidence and c not in told
        ]
        if len(state.answers) >= HANDOVER_AFTER and ESCALATE in actions:
            # a session this long is going nowhere: hand over rather than keep the merchant waiting
            cost = self.knowledge.actions[ESCALATE].cost
            return Decision(StepKind.ACTION, ESCALATE, cost, cost, 1.0)
        standing = self._standing_repair(observed, actions, belief, state.recorded)
        if standing is not None:
            return standing
        soft = state.reading.evidence
        likelihoods = {c: predictive_likelihood(self.model, c, soft.get(c)) for c in checks}
        return decide(self.model, belief.causes, actions, checks, likelihoods)

    def _standing_repair(self, observed: Mapping[str, str], actions: list[str], belief: Belief,
                         recorded: Sequence[str] = ()) -> Decision | None:
        """The cheapest untried repair of a recorded hold (terminal state first), then of a recorded cause, or None.

        A suspension or hold in the provider's record stops payments whatever else is wrong, so
        lifting it is needed in every plan and costs nothing extra when done first. A cause the
        provider's own records establish (a release its upgrade gate halted) is repaired next, the same way.
        """
        standing = [self.knowledge.standing_cause(check, outcome) for check, outcome in observed.items()]
        for cause in [*standing, *recorded]:
            if cause is None:
                continue
            repairs = [a for a in actions if cause in self.knowledge.actions[a].fixes]
            if repairs:
                first = min(repairs, key=lambda a: self.knowledge.actions[a].cost)
                cost = self.knowledge.actions[first].cost
                share = belief.causes[self.model.cause_index[cause]]
                return Decision(StepKind.ACTION, first, cost, cost, share)
        return None

    def _told(self, state: SessionState) -> set[str]:
        """Checks the person already answered in their own words (a quoted screen message or code)."""
        quoted = self.knowledge.lexicon.scoring.quoted_evidence_ratio
        return {c for c, ratios in state.reading.evidence.items() if max(ratios.values(), default=0) >= quoted}

    def assess(self, state: SessionState, lang: str = "zh-CN", audience: StepBy = StepBy.SUPPORT) -> Assessment:
        """Assess a session: status, symptom, ranked causes, next step and an explanation in `lang`.

        A merchant `audience` is told the why in plain words; the desk also sees the figures.
        """
        lang = normalize_lang(lang)
        belief = self.belief(state)
        ranking = sorted(zip(self.model.causes, belief.causes, strict=True), key=lambda x: -x[1])
        ranking = [(c, p) for c, p in ranking[:RANKING_SIZE] if p >= RANKING_FLOOR] or ranking[:1]
        symptoms = sorted(zip(self.model.symptoms, belief.symptoms, strict=True), key=lambda x: -x[1])
        symptom = state.symptom or symptoms[0][0]
        symptom_p = 1.0 if state.symptom else symptoms[0][1]
        decision = self.next_decision(state, belief)
        step = self._step(decision, lang) if decision else None
        explanation = explain(
            self.knowledge,
            lang,
            status=state.status,
            symptom=symptom,
            symptom_probability=symptom_p,
            symptom_given=state.symptom is not None,
            ranking=ranking,
            phrases=state.reading.phrases,
            observed=state.observed,
            failed=state.failed_actions,
            skipped=state.skipped,
            fixed_by=state.fixed_by,
            plain=audience == StepBy.MERCHANT,
            next_step=NextStep(decision.kind, decision.id, decision.expected_cost, decision.repair_now_cost,
                               decision.fix_probability) if decision else None,
        )
        return Assessment(
            status=state.status,
            symptom=symptom,
            ranking=[(c, round(p, 4)) for c, p in ranking],
            next_step=step,
            explanation=explanation,
            symptom_ranking=[(s, round(p, 4)) for s, p in symptoms[:5] if p >= RANKING_FLOOR],
            expected_cost=round(decision.repair_now_cost, 2) if decision else None,
            resolved_by=state.fixed_by,
            symptom_question=self.symptom_question(state, belief, decision),
        )

    def resolved_case(self, state: SessionState) -> ResolvedCase | None:
        """Turn a resolved session into a learning example: symptom, most likely cause, observed checks."""
        if state.status == SessionStatus.OPEN or state.fixed_by is None:
            return None
        belief = self.belief(state)
        cause = max(zip(self.model.causes, belief.causes, strict=True), key=lambda x: x[1])[0]
        symptoms = zip(self.model.symptoms, belief.symptoms, strict=True)
        symptom = state.symptom or max(symptoms, key=lambda x: x[1])[0]
        return ResolvedCase(symptom=symptom, cause=cause, evidence=state.observed)

    def likely_fixed_cause(self, action: str, ranking: Sequence[tuple[str, float]]) -> str | None:
        """Return the best-ranked cause that `action` fixes (the cause a `fixed` answer confirms)."""
        repair = self.knowledge.actions.get(action)
        if repair is None:
            return None
        for cause, _ in ranking:
            if repair.fixes_all or cause in repair.fixes:
                return cause
        return None

    def score(self, cases: Iterable[ResolvedCase]) -> dict[str, float]:
        """Measure how well the knowledge explains resolved cases: top-1/top-3 rate and log loss.

        Each case is assessed from its symptom and observed evidence alone (no words).
        """
        n = top1 = top3 = 0
        loss = 0.0
        for case in cases:
            state = self.start("", symptom=case.symptom, evidence=dict(case.evidence))
            belief = self.belief(state)
            ranked = sorted(zip(self.model.causes, belief.causes, strict=True), key=lambda x: -x[1])
            names = [c for c, _ in ranked]
            n += 1
            top1 += names[0] == case.cause
            top3 += case.cause in names[:3]
            loss -= math.log(max(belief.causes[self.model.cause_index[case.cause]], 1e-12))
        if n == 0:
            return {"cases": 0.0, "top1": 0.0, "top3": 0.0, "log_loss": 0.0}
        return {
            "cases": float(n),
            "top1": round(top1 / n, 4),
            "top3": round(top3 / n, 4),
            "log_loss": round(loss / n, 4),
        }

    # --- names and costs ---------------------------------------------------------------

    def is_action(self, step_id: str) -> bool:
        """Tell whether `step_id` is a repair action (otherwise a check, or unknown)."""
        return step_id in self.knowledge.actions

    def performer(self, step_id: str) -> StepBy | None:
        """Return who can take a check or action (merchant, support, technician), or None for an unknown id."""
        step = self.knowledge.step(step_id)
        return step.by if step is not None else None

    def step_cost(self, step_id: str) -> float | None:
        """Return the cost of a check or action, or None for an unknown id."""
        step = self.knowledge.step(step_id)
        return step.cost if step is not None else None

    def cause_name(self, cause: str, lang: str = "zh-CN") -> str:
        """Return the name of a cause in `lang` (the id itself if unknown)."""
        known = self.knowledge.causes.get(cause)
        return known.name(lang) if known is not None else cause

    def symptom_name(self, symptom: str, lang: str = "zh-CN") -> str:
        """Return the name of a symptom in `lang` (the id itself if unknown)."""
        known = self.knowledge.symptoms.get(symptom)
        return known.name(lang) if known is not None else symptom

    # --- presentation ------------------------------------------------------------------

    def outcome_labels(self, step_id: str, lang: str = "zh-CN") -> dict[str, str]:
        """Return the words for each answer of a step in `lang`, `unknown` included."""
        check = self.knowledge.checks.get(step_id)
        if check is not None:
            labels = {o: check.label(o, lang) for o in check.outcomes}
            labels[StepOutcome.UNKNOWN] = _outcome("unknown_check", lang)
            return labels
        return {StepOutcome.FIXED: _outcome("fixed", lang), StepOutcome.NOT_FIXED: _outcome("not_fixed", lang),
                StepOutcome.UNKNOWN: _outcome("unknown_action", lang)}

    def step_title(self, step_id: str, lang: str = "zh-CN") -> str:
        """Return the title of a check or action in `lang` (the id itself if unknown)."""
        step = self.knowledge.step(step_id)
        return step.name(lang) if step is not None else step_id

    def _step_word(self, step_id: str) -> Label:
        """A known step as a refusal names it: its title in zh-CN, its id in English (the API's words)."""
        return Label(self.step_title(step_id), step_id)

    def _step(self, decision: Decision, lang: str) -> Step:
        labels = self.outcome_labels(decision.id, lang)
        if decision.kind == StepKind.CHECK:
            check = self.knowledge.checks[decision.id]
            outcomes = (*check.outcomes, StepOutcome.UNKNOWN)
            return Step(StepKind.CHECK, check.id, check.name(lang), check.how[lang], outcomes, labels,
                        check.cost, check.by)
        action = self.knowledge.actions[decision.id]
        return Step(
            StepKind.ACTION,
            action.id,
            action.name(lang),
            action.how[lang],
            REPAIR_OUTCOMES,
            labels,
            action.cost,
            action.by,
            round(decision.fix_probability, 4),
        )
