"""Robustness of diagnosis to a misread complaint: does a decisive known fact win over the words?

For every cause of the knowledge base and every symptom the taxonomy does not link to it, one
session: the words are an example complaint of that wrong symptom, and the evidence is the
cause's decisive check outcomes (the fewest, at most three, whose likelihood ratio against every
other cause reaches 20). The case's other checks answer as the cause typically shows itself (each check's
most likely outcome). Played in-process like `bench/diagnosis_engine.py`; a case passes when the
first ranking puts the cause first and a repair that fixes it is proposed within two steps,
never escalating while a cheaper fix exists.

    .venv/bin/python bench/diagnosis_robustness.py [--details FILE]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from diagnosis_engine import diagnose_bench, engine_policy  # noqa: E402

from posops.diagnosis.engine import DiagnosisEngine  # noqa: E402
from posops.diagnosis.knowledge import Knowledge  # noqa: E402

FIX_WITHIN = 2
DECISIVE = 20.0
"""Likelihood ratio against every other cause that makes evidence decisive."""


def decisive_evidence(knowledge: Knowledge, cause: str) -> dict[str, str]:
    """The fewest check outcomes (at most three) that single `cause` out against every other cause.

    Greedy: add the outcome that most raises the smallest likelihood ratio of `cause` against any
    other cause, until that ratio reaches DECISIVE (or three outcomes are chosen).
    """
    table = knowledge.tables.outcome_given_cause
    others = [c for c in knowledge.causes if c != cause]
    ratio = dict.fromkeys(others, 1.0)
    chosen: dict[str, str] = {}
    while len(chosen) < 3 and min(ratio.values()) < DECISIVE:
        best: tuple[float, str, str] | None = None
        for check, by_cause in table.items():
            if check in chosen:
                continue
            for outcome in knowledge.checks[check].outcomes:
                here = by_cause[cause][outcome]
                worst = min(ratio[o] * here / by_cause[o][outcome] for o in others)
                if best is None or worst > best[0]:
                    best = (worst, check, outcome)
        assert best is not None
        _, check, outcome = best
        chosen[check] = outcome
        ratio = {o: ratio[o] * table[check][cause][outcome] / table[check][o][outcome] for o in others}
    return chosen


def typical_checks(knowledge: Knowledge, cause: str) -> dict[str, str]:
    """Every check's most likely outcome under `cause`: how the cause typically shows itself."""
    table = knowledge.tables.outcome_given_cause
    return {check: max(by_cause[cause], key=by_cause[cause].get) for check, by_cause in table.items()}


def wording(knowledge: Knowledge, symptom: str) -> str:
    """An example complaint of `symptom` that states no code or number of its own."""
    examples = knowledge.symptoms[symptom].examples
    return next((e for e in examples if not re.search(r"[0-9]", e)), examples[0])


def misread_cases(knowledge: Knowledge) -> Iterator[dict[str, Any]]:
    """One case per (cause, symptom the cause is not linked to), in the shared harness's format."""
    for cause, info in knowledge.causes.items():
        known = decisive_evidence(knowledge, cause)
        checks = {**typical_checks(knowledge, cause), **known}
        for symptom in knowledge.symptoms:
            if symptom in info.symptoms:
                continue
            yield {"id": f"{cause}~{symptom}", "text": wording(knowledge, symptom), "evidence": known,
                   "truth": {"cause": cause, "symptom": info.symptoms[0], "checks": checks}}


def play(engine: DiagnosisEngine, case: dict[str, Any]) -> dict[str, Any]:
    """Play one case and judge it: cause first, fix within two steps, no needless escalation."""
    game = diagnose_bench.Play(case)
    result = engine_policy(engine)(game)
    cause = case["truth"]["cause"]
    fix_at = next((i for i, step in enumerate(game.steps, 1)
                   if step in engine.knowledge.actions and diagnose_bench.fixes(step, cause)), None)
    needless = game.escalated and diagnose_bench.floor_cost(cause) < diagnose_bench.ESCALATE_COST
    first = bool(result["top1"])
    return {"id": case["id"], "cause_first": first, "fix_at": fix_at, "steps": len(game.steps),
            "needless_escalation": needless, "excess": game.cost - diagnose_bench.floor_cost(cause),
            "passed": first and fix_at is not None and fix_at <= FIX_WITHIN and not needless}


def main() -> None:
    """Play every misread case and print the summary (and, with --details, every case)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--details", type=Path, help="write one JSON line per case here")
    args = parser.parse_args()
    engine = DiagnosisEngine()
    rows = [play(engine, case) for case in misread_cases(engine.knowledge)]
    failed = [r for r in rows if not r["passed"]]
    summary = {
        "cases": len(rows),
        "causes": len({r["id"].split("~")[0] for r in rows}),
        "passed": len(rows) - len(failed),
        "cause_first": round(sum(r["cause_first"] for r in rows) / len(rows), 3),
        "fixed_within_two_steps": round(sum(r["fix_at"] is not None and r["fix_at"] <= FIX_WITHIN
                                            for r in rows) / len(rows), 3),
        "needless_escalations": sum(r["needless_escalation"] for r in rows),
        "mean_excess": round(statistics.fmean(r["excess"] for r in rows), 2),
        "causes_never_passing": sorted({r["id"].split("~")[0] for r in failed}
                                       - {r["id"].split("~")[0] for r in rows if r["passed"]}),
    }
    if args.details:
        args.details.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(json.dumps(summary, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
