"""Benchmark the diagnosis engine in-process with the shared harness (../shared/bench).

Plays every case as the `api` policy does — start from the case's text and evidence, follow
`next_step`, answer with the harness's answers — but calls DiagnosisEngine directly, with a
JSON round trip of the session state between steps as a service storing it would do.

    .venv/bin/python bench/diagnosis_engine.py --cases ../shared/bench/cases-sample.jsonl \
        --policy oracle --policy checklist --policy engine
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
HARNESS = REPO.parent / "shared" / "bench"
sys.path.insert(0, str(HARNESS))

import diagnose_bench  # noqa: E402

from posops.diagnosis.engine import DiagnosisEngine, SessionState  # noqa: E402


def engine_policy(engine: DiagnosisEngine) -> Any:
    """Return a harness policy that drives `engine` like the REST API would."""

    def run(play: diagnose_bench.Play) -> dict[str, Any]:
        t0 = time.perf_counter()
        state = engine.start(play.case["text"], evidence=play.case["evidence"])
        stored = json.dumps(state.to_dict())
        assessment = engine.assess(state)
        latencies = [time.perf_counter() - t0]
        first_ranking = [cause for cause, _ in assessment.ranking]
        while assessment.status == "open" and assessment.next_step and not play.over:
            step = assessment.next_step.id
            outcome = play.answer(step)
            t0 = time.perf_counter()
            state = engine.apply(SessionState.from_dict(json.loads(stored)), step, outcome)
            stored = json.dumps(state.to_dict())
            assessment = engine.assess(state)
            latencies.append(time.perf_counter() - t0)
        cause = play.truth["cause"]
        return {
            "latencies": latencies,
            "top1": first_ranking[:1] == [cause],
            "top3": cause in first_ranking[:3],
            "symptom_ok": assessment.symptom == play.truth["symptom"],
            "final_status": assessment.status,
        }

    return run


def main() -> None:
    """Run the shared harness with the in-process `engine` policy added."""
    engine = DiagnosisEngine()
    diagnose_bench.main(extra_policies={"engine": engine_policy(engine)})


if __name__ == "__main__":
    main()
