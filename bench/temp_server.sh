# Sourced by the benchmarks: serves posops on a temporary SQLite database until the script exits.
# Sets: repo, shared, tmp, port, base_url, POSOPS_* for the server and the posops CLI.
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared=${POSOPS_SHARED:-$repo/../shared}
tmp=$(mktemp -d)
port=${POSOPS_BENCH_PORT:-8765}
base_url="http://127.0.0.1:$port"
export POSOPS_DATABASE_URL="sqlite:///$tmp/bench.db" POSOPS_ADMIN_TOKEN="bench-$(date +%s%N)" POSOPS_ENV=test
"$repo/.venv/bin/posops" db upgrade >/dev/null
"$repo/.venv/bin/posops" serve --port "$port" --log-level warning >"$tmp/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 150); do
  curl -sf "$base_url/healthz" >/dev/null && break
  sleep 0.2
done
curl -sf "$base_url/healthz" >/dev/null || { cat "$tmp/server.log" >&2; exit 1; }

play() {  # play CASES with the given policies through the harness
  local cases=$1; shift
  "$repo/.venv/bin/python" "$shared/bench/diagnose_bench.py" --cases "$cases" "$@" \
    --base-url "$base_url" --token "$POSOPS_ADMIN_TOKEN"
}
