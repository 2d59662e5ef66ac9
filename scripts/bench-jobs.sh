#!/usr/bin/env bash
# make bench-jobs: 100,000 noop jobs enqueued and drained end to end by 1 and 2 job-worker
# processes (full retry/DLQ bookkeeping: every completion is the Lua ack script), next to the raw
# XADD/XREADGROUP/XACK rate of the same Redis server (bench/redis_raw_jobs.c over hiredis).
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${BENCH_COUNT:-100000}
CONCURRENCY=${BENCH_CONCURRENCY:-256}

[ -n "${BENCH_BIN:-}" ] || swift build -c release --product fraiseql-bench
[ -n "${BENCH_BIN:-}" ] || swift build -c release --product job-worker
mkdir -p bench/bin
# shellcheck disable=SC2046 # pkg-config's flags are several words
gcc -O2 -o bench/bin/redis_raw_jobs bench/redis_raw_jobs.c $(pkg-config --cflags --libs hiredis)
# shellcheck source=scripts/lib/bench.sh
source scripts/lib/bench.sh
bench_stack_up
redis_port=${REDIS_URL##*:}



# One drain with $1 worker processes; prints jobs/s.
drain() {
    local workers=$1 prefix="bench$RANDOM:" config="$workdir/jobs-$1.toml"
    cat >"$config" <<TOML
[log]
level = "warning"
[redis]
url = "$REDIS_URL"
key_prefix = "$prefix"
[jobs]
queues = ["bench"]
concurrency = $CONCURRENCY
TOML
    pids=()
    for _ in $(seq "$workers"); do
        port=$(free_port)
        FRAISEQL_METRICS_LISTEN="127.0.0.1:$port" "$BIN/job-worker" --config "$config" &
        pids+=($!)
        for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null && break; sleep 0.05; done
    done
    "$BIN/fraiseql-bench" jobs-drain "$REDIS_URL" "$prefix" bench "$COUNT"
    for pid in "${pids[@]}"; do kill "$pid"; wait "$pid" 2>/dev/null || true; done
    pids=()
}

one=$(for _ in 1 2 3; do drain 1; done | median)
two=$(for _ in 1 2 3; do drain 2; done | median)
ceiling=$(for _ in 1 2 3; do bench/bin/redis_raw_jobs 127.0.0.1 "$redis_port" "$COUNT"; done | median)

echo
echo "median of 3 runs, $COUNT noop jobs each, concurrency $CONCURRENCY per worker"
printf '1 worker       %8.0f jobs/s\n' "$one"
printf '2 workers      %8.0f jobs/s\n' "$two"
printf 'redis ceiling  %8.0f jobs/s   (XADD + XREADGROUP + XACK, hiredis, 1 connection, batches of 1000)\n' "$ceiling"
echo "command: make bench-jobs   goal: >= 10000 jobs/s with 1 worker"
