#!/usr/bin/env bash
# Diagnosis benchmark through the REST API: serves posops on a temporary SQLite database and plays
# the shared cases with the oracle (the floor), the articles' checklist and posops (the `api` policy).
# Usage: bench/diagnosis.sh [CASES.jsonl]   (default: ../shared/bench/cases-sample.jsonl)
set -euo pipefail
source "$(dirname "$0")/temp_server.sh"
play "${1:-$shared/bench/cases-sample.jsonl}" --policy oracle --policy checklist --policy api \
  --details "${POSOPS_BENCH_DETAILS:-$tmp/details.jsonl}"
