#!/usr/bin/env bash
# Diagnosis benchmark through the REST API: serves posops on a temporary SQLite database and plays
# the shared cases with the oracle (the floor), the articles' checklist and posops (the `api` policy).
# Usage: bench/diagnosis.sh [CASES.jsonl]   (default: ../shared/bench/cases-sample.jsonl)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
shared=${POSOPS_SHARED:-$repo/../shared}
cases=${1:-$shared/bench/cases-sample.jsonl}
tmp=$(mktemp -d)
port=${POSOPS_BENCH_PORT:-8765}
export POSOPS_DATABASE_URL="sqlite:///$tmp/bench.db" POSOPS_ADMIN_TOKEN="bench-$(date +%s%N)" POSOPS_ENV=test
"$repo/.venv/bin/posops" db upgrade >/dev/null
"$repo/.venv/bin/posops" serve --port "$port" --log-level warning >"$tmp/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.2
done
"$repo/.venv/bin/python" "$shared/bench/diagnose_bench.py" --cases "$cases" \
  --policy oracle --policy checklist --policy api \
  --base-url "http://127.0.0.1:$port" --token "$POSOPS_ADMIN_TOKEN" --details "${POSOPS_BENCH_DETAILS:-$tmp/details.jsonl}"
