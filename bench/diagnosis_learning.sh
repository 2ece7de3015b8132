#!/usr/bin/env bash
# Does `posops kb learn` help? The held-out cases are measured with the written knowledge (in-process
# engine, same decisions as the API); the history cases are played through the API as the provider's
# past sessions (their resolved sessions are stored); `posops kb learn` refits the knowledge from them;
# the held-out cases are measured again through the API.
# Usage: bench/diagnosis_learning.sh [CASES.jsonl]            (halves of one file: alternate lines)
#        bench/diagnosis_learning.sh HISTORY.jsonl HELDOUT.jsonl (e.g. from bench/diagnosis_provider.py)
set -euo pipefail
source "$(dirname "$0")/temp_server.sh"
if [ $# -ge 2 ]; then
  cp "$1" "$tmp/history.jsonl"
  cp "$2" "$tmp/heldout.jsonl"
else
  cases=${1:-$shared/bench/cases-sample.jsonl}
  awk 'NR % 2 == 1' "$cases" >"$tmp/history.jsonl"
  awk 'NR % 2 == 0' "$cases" >"$tmp/heldout.jsonl"
fi
echo "== held-out cases, written knowledge"
"$repo/.venv/bin/python" "$repo/bench/diagnosis_engine.py" --cases "$tmp/heldout.jsonl" --policy oracle --policy engine
echo "== history cases through the API (their resolved sessions are stored), then posops kb learn"
play "$tmp/history.jsonl" --policy api >/dev/null
"$repo/.venv/bin/posops" kb learn --min-cases 20
echo "== held-out cases through the API, with the learned knowledge"
play "$tmp/heldout.jsonl" --policy oracle --policy api
