"""How far can the first ranking's top3 go on these cases, and does fitting to them carry over?

Plays only the first step of every case (the complaint and the evidence telemetry already
knows) with four sets of knowledge and reports top1/top3 of the first ranking:

  written       the knowledge in src/posops/kb (what posops ships)
  loo-priors    leave-one-out: P(cause | symptom) refitted on the other cases' true causes
  loo-full      leave-one-out: priors and likelihoods refitted on the other cases' causes and checks
  fitted        priors set to the frequencies of every case, the scored one included (fitting the sample)

The refit is the one `posops kb learn` uses (posops.diagnosis.learning.refit). The leave-one-out
rows estimate what learning from cases like these does for a case not yet seen; `fitted` is
what copying the sample's frequencies would show on the sample itself. The engine never sees
the truth of the case it ranks, except in `fitted`, which exists to measure that.

    .venv/bin/python bench/diagnosis_top3.py [--cases ../shared/bench/cases-sample.jsonl]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from posops.diagnosis.engine import DiagnosisEngine
from posops.diagnosis.knowledge import Knowledge, load_knowledge
from posops.diagnosis.learning import ResolvedCase, refit

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CASES = REPO.parent / "shared" / "bench" / "cases-sample.jsonl"
# the written priors count as one case: the sample's own frequencies decide
FITTED_STRENGTH = 1.0


def first_ranking(knowledge: Knowledge, case: dict[str, Any]) -> list[str]:
    """The causes of the engine's first answer to `case`, best first."""
    engine = DiagnosisEngine(knowledge)
    assessment = engine.assess(engine.start(case["text"], evidence=case["evidence"]))
    return [cause for cause, _ in assessment.ranking]


def history(cases: Sequence[dict[str, Any]], *, checks: bool) -> list[ResolvedCase]:
    """Resolved cases as `kb learn` would read them: symptom, cause and (optionally) check outcomes."""
    return [ResolvedCase(c["truth"]["symptom"], c["truth"]["cause"], c["truth"]["checks"] if checks else {})
            for c in cases]


def score(cases: Sequence[dict[str, Any]], knowledge_for: Callable[[int], Knowledge]) -> dict[str, float]:
    """top1/top3 of the first ranking, case i ranked with `knowledge_for(i)`."""
    top1 = top3 = 0
    for index, case in enumerate(cases):
        ranking = first_ranking(knowledge_for(index), case)
        top1 += ranking[:1] == [case["truth"]["cause"]]
        top3 += case["truth"]["cause"] in ranking[:3]
    return {"top1": round(top1 / len(cases), 3), "top3": round(top3 / len(cases), 3)}


def main() -> None:
    """Print one JSON line per set of knowledge."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES)
    args = parser.parse_args()
    cases = [json.loads(line) for line in args.cases.read_text(encoding="utf-8").splitlines() if line.strip()]
    written = load_knowledge()

    def others(index: int, *, checks: bool) -> list[ResolvedCase]:
        return history([c for i, c in enumerate(cases) if i != index], checks=checks)

    fitted = refit(written, history(cases, checks=False), prior_strength=FITTED_STRENGTH)
    rows = {
        "written": lambda i: written,
        "loo-priors": lambda i: refit(written, others(i, checks=False)),
        "loo-full": lambda i: refit(written, others(i, checks=True)),
        "fitted": lambda i: fitted,
    }
    for name, knowledge_for in rows.items():
        print(json.dumps({"knowledge": name, "cases": len(cases), **score(cases, knowledge_for)}))


if __name__ == "__main__":
    main()
