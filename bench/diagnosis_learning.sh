#!/usr/bin/env bash
# Does `posops kb learn` help? Splits the cases in two halves (alternate lines): the held-out half is
# measured with the written knowledge (in-process engine, same decisions as the API), then the other
# half is played through the API as the provider's history, `posops kb learn` refits the knowledge from
# its resolved sessions, and the held-out half is measured again through the API.
# Usage: bench/diagnosis_learning.sh [CASES.jsonl]
set -euo pipefail
source "$(dirname "$0")/temp_server.sh"
cases=${1:-$shared/bench/cases-sample.jsonl}
awk 'NR % 2 == 1' "$cases" >"$tmp/history.jsonl"
awk 'NR % 2 == 0' "$cases" >"$tmp/heldout.jsonl"
echo "== held-out half, written knowledge"
"$repo/.venv/bin/python" "$repo/bench/diagnosis_engine.py" --cases "$tmp/heldout.jsonl" --policy oracle --policy engine
echo "== history half through the API (its resolved sessions are stored), then posops kb learn"
play "$tmp/history.jsonl" --policy api >/dev/null
"$repo/.venv/bin/posops" kb learn --min-cases 20
echo "== held-out half through the API, with the learned knowledge"
play "$tmp/heldout.jsonl" --policy oracle --policy api
