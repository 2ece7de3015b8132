"""Plain-language explanation of an assessment, in zh-CN or English."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from posops.core.i18n import normalize_lang
from posops.core.labels import catalog_sentence
from posops.diagnosis.knowledge import Knowledge
from posops.diagnosis.vocabulary import SessionStatus, StepBy, StepKind


def _say(key: str, lang: str, **values: object) -> str:
    """Return the explanation sentence ``key`` in ``lang`` (zh-CN or en), its placeholders filled."""
    return catalog_sentence(f"diagnosis.explain.{key}", **values).text(lang)


@dataclass(frozen=True)
class NextStep:
    """What the explanation needs to know about the proposed step."""

    kind: StepKind
    id: str
    expected_cost: float
    repair_now_cost: float
    fix_probability: float


def explain(
    knowledge: Knowledge,
    lang: str,
    *,
    status: SessionStatus,
    symptom: str | None,
    symptom_probability: float,
    symptom_given: bool,
    ranking: Sequence[tuple[str, float]],
    phrases: Sequence[str],
    observed: Mapping[str, str],
    failed: Sequence[str],
    skipped: Sequence[str],
    fixed_by: str | None,
    next_step: NextStep | None,
    plain: bool = False,
) -> str:
    """Compose the explanation shown with an assessment; `plain` gives the merchant's one sentence, no figures."""
    lang = normalize_lang(lang)
    sep = _say("sep", lang)
    parts: list[str] = []
    if status == SessionStatus.ABANDONED:
        return _say("abandoned", lang)
    if status == SessionStatus.ESCALATED and fixed_by is None:
        return _say("handed_over", lang)
    if status != SessionStatus.OPEN and fixed_by is not None:
        repair = knowledge.actions[fixed_by].name(lang)
        if status == SessionStatus.ESCALATED:
            return _say("escalated", lang, name=repair)
        cause = knowledge.causes[ranking[0][0]].name(lang) if ranking else ""
        return _say("resolved", lang, name=repair, cause=cause)
    if plain:
        return _plain(knowledge, lang, ranking, next_step)
    if symptom is not None:
        name = knowledge.symptoms[symptom].name(lang)
        parts.append(_say("symptom_given" if symptom_given else "symptom", lang, name=name, p=symptom_probability))
    if ranking:
        items = sep.join(f"{knowledge.causes[c].name(lang)} {p:.0%}" for c, p in ranking[:3])
        parts.append(_say("causes", lang, items=items))
    if phrases:
        parts.append(_say("words", lang, items=sep.join(phrases[:6])))
    elif not symptom_given:
        parts.append(_say("not_understood", lang))
    if observed:
        items = sep.join(
            _say("pair", lang, k=knowledge.checks[c].name(lang), v=knowledge.checks[c].label(o, lang))
            for c, o in observed.items()
        )
        parts.append(_say("observed", lang, items=items))
    if failed:
        parts.append(_say("failed", lang, items=sep.join(knowledge.actions[a].name(lang) for a in failed)))
    if skipped:
        names = [(knowledge.checks.get(s) or knowledge.actions[s]).name(lang) for s in skipped]
        parts.append(_say("skipped", lang, items=sep.join(names)))
    if next_step is None:
        parts.append(_say("stuck", lang))
    elif next_step.kind == StepKind.CHECK:
        check = knowledge.checks[next_step.id]
        parts.append(_say("next_check", lang, name=check.name(lang), cost=check.cost, eco=next_step.expected_cost,
                          ecr=next_step.repair_now_cost))
    elif knowledge.actions[next_step.id].fixes_all:
        parts.append(_say("next_escalate", lang, name=knowledge.actions[next_step.id].name(lang)))
    else:
        action = knowledge.actions[next_step.id]
        parts.append(_say("next_action", lang, name=action.name(lang), p=next_step.fix_probability, cost=action.cost,
                          ecr=next_step.repair_now_cost))
    return ("" if lang == "zh-CN" else " ").join(parts)


def _plain(knowledge: Knowledge, lang: str, ranking: Sequence[tuple[str, float]], next_step: NextStep | None) -> str:
    """The merchant's why, in one sentence: what to do next and the cause it is about."""
    causes = [knowledge.causes[c].name(lang) for c, _ in ranking[:2]]
    if next_step is None:
        return _say("stuck", lang)
    step = knowledge.step(next_step.id)
    assert step is not None, next_step.id
    if step.by != StepBy.MERCHANT and not (next_step.kind == StepKind.ACTION and knowledge.actions[step.id].fixes_all):
        return _say("plain_desk", lang, name=step.name(lang), cause=causes[0] if causes else "")
    if next_step.kind == StepKind.CHECK:
        name = knowledge.checks[next_step.id].name(lang)
        if len(causes) < 2:
            return _say("plain_check_one", lang, name=name, a=causes[0] if causes else "")
        return _say("plain_check", lang, name=name, a=causes[0], b=causes[1])
    action = knowledge.actions[next_step.id]
    if action.fixes_all:
        return _say("plain_escalate", lang)
    fixed = [knowledge.causes[c].name(lang) for c, _ in ranking if c in action.fixes]
    return _say("plain_action", lang, name=action.name(lang), cause=fixed[0] if fixed else causes[0])

