"""A provider unlike the written knowledge: its own fault frequencies, wording posops was not written against.

Generates diagnosis cases in the shared harness's format (../shared/bench/README.md) from a seeded
provider model:

- the provider's symptom rates and causes per symptom are draws from Dirichlet distributions centred
  on the written priors (`--spread`: the smaller, the further from them), and 3 % of its faults are
  reported under a symptom the taxonomy does not link them to (a suspended terminal reported as
  "can't take payments", a crash reported as a card problem);
- every check's true outcome is drawn from the written likelihoods (what terminals do is the same
  everywhere; how often each fault happens is not);
- the words are held-out complaints of the case's symptom (tests/diagnosis/heldout_*.yaml, written
  without looking at the lexicon) — never the taxonomy's examples the lexicon was written from;
- each telemetry check is already known with probability 0.5, as on a fleet with heartbeats.

    .venv/bin/python bench/diagnosis_provider.py generate --cases 400 --seed 11 --out /tmp/heldout.jsonl
    .venv/bin/python bench/diagnosis_provider.py measure --cases /tmp/heldout.jsonl

`generate` keeps the provider's true priors beside the cases (`heldout.provider.json`); `measure`
plays a case file in-process with the written knowledge (`engine`) and with those priors
(`reference`, the true model behind the cases), through the shared harness.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from diagnosis_engine import diagnose_bench, engine_policy  # noqa: E402

from posops.diagnosis.engine import DiagnosisEngine  # noqa: E402
from posops.diagnosis.knowledge import Knowledge, ProbabilityTables, load_knowledge  # noqa: E402

WORDING = [REPO / "tests/diagnosis/heldout_complaints.yaml", REPO / "tests/diagnosis/heldout_cues.yaml",
           REPO / "tests/diagnosis/heldout_forum.yaml"]
OFF_SYMPTOM = 0.03
KNOWN_TELEMETRY = 0.5


def _dirichlet(rng: random.Random, centre: Mapping[str, float], spread: float) -> dict[str, float]:
    draws = {k: rng.gammavariate(max(spread * p, 1e-3), 1.0) for k, p in centre.items()}
    total = sum(draws.values())
    return {k: v / total for k, v in draws.items()}


def provider_tables(knowledge: Knowledge, seed: int, spread: float = 8.0) -> ProbabilityTables:
    """The provider's true tables: priors drawn around the written ones, the written likelihoods."""
    rng = random.Random(seed)
    written = knowledge.tables
    rates = _dirichlet(rng, written.symptom_rates, spread * 4)
    causes = {}
    for symptom, row in written.causes_given_symptom.items():
        own = _dirichlet(rng, row, spread)
        others = [c for c in knowledge.causes if c not in own]
        causes[symptom] = {**{c: (1 - OFF_SYMPTOM) * p for c, p in own.items()},
                           **dict.fromkeys(others, OFF_SYMPTOM / len(others))}
    return ProbabilityTables(rates, causes, written.outcome_given_cause)


def wording_pools(files: Sequence[Path] = WORDING) -> dict[str, list[str]]:
    """Held-out complaints per symptom (of a dev/test file, the test half); entries stating evidence are left out."""
    pools: dict[str, list[str]] = {}
    for path in files:
        if not path.exists():
            continue
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        entries = document if isinstance(document, list) else document["test"]  # the dev half shaped the reader
        for entry in entries:
            if len(entry) > 3 and entry[3]:
                continue
            pools.setdefault(str(entry[0]), []).append(str(entry[2]))
    return pools


def _pick(rng: random.Random, weights: Mapping[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def generate(knowledge: Knowledge, tables: ProbabilityTables, n: int, seed: int,
             pools: Mapping[str, list[str]]) -> list[dict[str, Any]]:
    """`n` cases drawn from the provider's tables, worded from the held-out pools."""
    rng = random.Random(seed)
    telemetry = [c for c, check in knowledge.checks.items() if check.telemetry]
    cases = []
    for i in range(n):
        symptom = _pick(rng, {s: r for s, r in tables.symptom_rates.items() if pools.get(s)})
        cause = _pick(rng, tables.causes_given_symptom[symptom])
        checks = {check: _pick(rng, by_cause[cause]) for check, by_cause in tables.outcome_given_cause.items()}
        evidence = {c: checks[c] for c in telemetry if rng.random() < KNOWN_TELEMETRY}
        cases.append({"id": f"v{seed}-{i:05d}", "text": rng.choice(pools[symptom]), "evidence": evidence,
                      "truth": {"cause": cause, "symptom": symptom, "checks": checks}})
    return cases


def tables_file(cases_file: Path) -> Path:
    """Where the provider's true tables are kept beside its case file."""
    return cases_file.with_suffix(".provider.json")


def measure(cases_file: Path) -> dict[str, Any]:
    """Play `cases_file` with the written knowledge and with the provider's own priors (kept beside it)."""
    cases = [json.loads(line) for line in cases_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    written = load_knowledge()
    truth = json.loads(tables_file(cases_file).read_text(encoding="utf-8"))
    reference = replace(written, tables=ProbabilityTables(truth["symptom_rates"], truth["causes_given_symptom"],
                                                          written.tables.outcome_given_cause))
    out = {}
    for name, knowledge in (("engine", written), ("reference", reference)):
        rows = list(diagnose_bench.play_all(cases, engine_policy(DiagnosisEngine(knowledge))))
        out[name] = diagnose_bench.summarize(rows)
    oracle = list(diagnose_bench.play_all(cases, diagnose_bench.oracle))
    out["oracle"] = diagnose_bench.summarize(oracle)
    return out


def main() -> None:
    """`generate` a case file for a provider, or `measure` one."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="write cases of a provider as JSON lines")
    gen.add_argument("--cases", type=int, default=400)
    gen.add_argument("--provider-seed", type=int, default=7, help="which provider (its fault frequencies)")
    gen.add_argument("--seed", type=int, default=11, help="which draw of cases from that provider")
    gen.add_argument("--out", type=Path, required=True)
    mea = sub.add_parser("measure", help="play a case file with the written knowledge and the true model")
    mea.add_argument("--cases", type=Path, required=True)
    args = parser.parse_args()
    if args.command == "generate":
        knowledge = load_knowledge()
        tables = provider_tables(knowledge, args.provider_seed)
        cases = generate(knowledge, tables, args.cases, args.seed, wording_pools())
        args.out.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases), encoding="utf-8")
        truth = {"symptom_rates": tables.symptom_rates, "causes_given_symptom": tables.causes_given_symptom}
        tables_file(args.out).write_text(json.dumps(truth, indent=1), encoding="utf-8")
        print(json.dumps({"cases": len(cases), "out": str(args.out)}))
    else:
        print(json.dumps(measure(args.cases), indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
