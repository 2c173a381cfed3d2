#!/usr/bin/env bash
# A whole cluster on this machine: Redis, N workers and the page with the HTTP API (`make serve-cluster`).
# Usage: scripts/serve_cluster.sh [WORKERS] ; environment: REDIS_PORT (6390), PORT (7860), BIN (.venv/bin),
# SERVE_ARGS (more `styleforge serve` options, e.g. "--auth alice:secret").  Ctrl-C stops everything it started.
set -euo pipefail
WORKERS="${1:-2}"
REDIS_PORT="${REDIS_PORT:-6390}"
PORT="${PORT:-7860}"
BIN="${BIN:-.venv/bin}"
BROKER="redis://127.0.0.1:${REDIS_PORT}/0"
command -v redis-server >/dev/null || { echo "redis-server is not installed (make redis)" >&2; exit 2; }
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait || true
}
trap cleanup EXIT INT TERM
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --loglevel warning &
pids+=($!)
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
for i in $(seq "$WORKERS"); do
    OMP_WAIT_POLICY=PASSIVE "$BIN/styleforge" worker --broker "$BROKER" --queues fast,heavy --loglevel WARNING &
    pids+=($!)
done
echo "styleforge: Redis on 127.0.0.1:${REDIS_PORT}, ${WORKERS} worker(s); page and API on http://127.0.0.1:${PORT}"
# shellcheck disable=SC2086
"$BIN/styleforge" serve --port "$PORT" --broker "$BROKER" ${SERVE_ARGS:-} &
pids+=($!)
wait "${pids[-1]}"
