"""Plain-language explanation of an assessment, in zh-CN or English."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from posops.core.i18n import normalize_lang
from posops.diagnosis.knowledge import Knowledge

_TEXT = {
    "zh-CN": {
        "symptom": "故障现象判断为「{name}」({p:.0%})。",
        "symptom_given": "故障现象:「{name}」。",
        "causes": "最可能的原因:{items}。",
        "words": "描述中识别到:{items}。",
        "not_understood": "描述中没有识别出明确的故障现象,先按常见情况排查。",
        "observed": "已知情况:{items}。",
        "failed": "已尝试但未解决:{items}。",
        "skipped": "无法进行:{items}。",
        "next_check": "建议先检查:{name}(代价 {cost:g})——结果能缩小范围,预计总代价 {eco:.1f},直接维修约 {ecr:.1f}。",
        "next_action": "建议操作:{name}——约 {p:.0%} 的可能就此解决,代价 {cost:g},预计总代价 {ecr:.1f}。",
        "next_escalate": "较便宜的办法都不太可能解决,建议转人工:{name}。",
        "resolved": "已解决:「{name}」排除了故障,原因判断为{cause}。",
        "escalated": "已转人工处理:{name}。",
        "stuck": "没有可用的下一步,请转人工处理。",
        "sep": "、",
        "pair": "{k}:{v}",
    },
    "en": {
        "symptom": "The fault reads as “{name}” ({p:.0%}).",
        "symptom_given": "Fault: “{name}”.",
        "causes": "Most likely causes: {items}.",
        "words": "Recognised in the description: {items}.",
        "not_understood": "No clear symptom was recognised in the description; starting from the common faults.",
        "observed": "Known: {items}.",
        "failed": "Tried without success: {items}.",
        "skipped": "Could not be done: {items}.",
        "next_check": "Check first: {name} (cost {cost:g}) — the answer narrows things down; expected total "
        "{eco:.1f} against {ecr:.1f} for repairing straight away.",
        "next_action": "Do next: {name} — about {p:.0%} likely to fix it, cost {cost:g}, expected total {ecr:.1f}.",
        "next_escalate": "Nothing cheaper is likely to help; hand over: {name}.",
        "resolved": "Resolved: “{name}” cleared the fault; the cause is taken to be {cause}.",
        "escalated": "Handed over to a technician: {name}.",
        "stuck": "No further step is available; please hand over to a technician.",
        "sep": ", ",
        "pair": "{k}: {v}",
    },
}


@dataclass(frozen=True)
class NextStep:
    """What the explanation needs to know about the proposed step."""

    kind: str
    id: str
    expected_cost: float
    repair_now_cost: float
    fix_probability: float


def explain(
    knowledge: Knowledge,
    lang: str,
    *,
    status: str,
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
) -> str:
    """Compose the explanation shown with an assessment."""
    lang = normalize_lang(lang)
    t = _TEXT[lang]
    sep = t["sep"]
    parts: list[str] = []
    if status != "open" and fixed_by is not None:
        repair = knowledge.actions[fixed_by].name(lang)
        if status == "escalated":
            return t["escalated"].format(name=repair)
        cause = knowledge.causes[ranking[0][0]].name(lang) if ranking else ""
        return t["resolved"].format(name=repair, cause=cause)
    if symptom is not None:
        name = knowledge.symptoms[symptom].name(lang)
        key = "symptom_given" if symptom_given else "symptom"
        parts.append(t[key].format(name=name, p=symptom_probability))
    if ranking:
        items = sep.join(f"{knowledge.causes[c].name(lang)} {p:.0%}" for c, p in ranking[:3])
        parts.append(t["causes"].format(items=items))
    if phrases:
        parts.append(t["words"].format(items=sep.join(phrases[:6])))
    elif not symptom_given:
        parts.append(t["not_understood"])
    if observed:
        items = sep.join(
            t["pair"].format(k=knowledge.checks[c].name(lang), v=knowledge.checks[c].label(o, lang))
            for c, o in observed.items()
        )
        parts.append(t["observed"].format(items=items))
    if failed:
        parts.append(t["failed"].format(items=sep.join(knowledge.actions[a].name(lang) for a in failed)))
    if skipped:
        names = [(knowledge.checks.get(s) or knowledge.actions[s]).name(lang) for s in skipped]
        parts.append(t["skipped"].format(items=sep.join(names)))
    if next_step is None:
        parts.append(t["stuck"])
    elif next_step.kind == "check":
        check = knowledge.checks[next_step.id]
        parts.append(t["next_check"].format(
            name=check.name(lang), cost=check.cost, eco=next_step.expected_cost, ecr=next_step.repair_now_cost
        ))
    elif knowledge.actions[next_step.id].fixes_all:
        parts.append(t["next_escalate"].format(name=knowledge.actions[next_step.id].name(lang)))
    else:
        action = knowledge.actions[next_step.id]
        parts.append(t["next_action"].format(
            name=action.name(lang), p=next_step.fix_probability, cost=action.cost, ecr=next_step.repair_now_cost
        ))
    return ("" if lang == "zh-CN" else " ").join(parts)
