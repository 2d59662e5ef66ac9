#!/usr/bin/env bash
# make bench-clients: our JetStream async publish and Redis pipelined SET rates next to the raw
# figures of the same servers in the same run (libnats in C, redis-benchmark), as a ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${BENCH_COUNT:-200000}
PAYLOAD=${BENCH_PAYLOAD:-256}
PIPELINE=${BENCH_PIPELINE:-100}

[ -n "${BENCH_BIN:-}" ] || swift build -c release --product fraiseql-bench
mkdir -p bench/bin
# shellcheck disable=SC2046 # pkg-config's flags are several words
gcc -O2 -o bench/bin/nats_raw_pub bench/nats_raw_pub.c $(pkg-config --cflags --libs libnats)
# shellcheck source=scripts/lib/bench.sh
source scripts/lib/bench.sh
bench_stack_up
redis_port=${REDIS_URL##*:}

RUNS=${BENCH_RUNS:-5}
redis_raw() { redis-benchmark -p "$redis_port" -t set -n "$COUNT" -P "$1" -c 1 -q --csv | tail -n 1 | cut -d, -f2 | tr -d '"'; }

# Each case alternates our client and the reference RUNS times, so that a noisy moment on the
# machine hits both; it prints the median of each and the median of the per-pair ratios.
# usage: pair NAME "OUR COMMAND" "RAW COMMAND"
pair() {
    local name=$1 ours=$2 raw=$3 o r
    local -a our_runs=() raw_runs=() ratios=()
    for _ in $(seq "$RUNS"); do
        o=$(eval "$ours" 2>/dev/null)
        r=$(eval "$raw" 2>/dev/null)
        our_runs+=("$o")
        raw_runs+=("$r")
        ratios+=("$(echo "100*$o/$r" | bc -l)")
    done
    printf '%-48s %12.0f %12.0f %6.0f%%   (ratios: %s)\n' "$name" \
        "$(printf '%s\n' "${our_runs[@]}" | median)" "$(printf '%s\n' "${raw_runs[@]}" | median)" \
        "$(printf '%s\n' "${ratios[@]}" | median)" "$(printf '%.0f%% ' "${ratios[@]}")"
}

printf '\n%-48s %12s %12s %7s\n' "case (medians of $RUNS alternating runs, $COUNT ops)" "ours/s" "raw/s" "ratio"
pair "JetStream async publish, ${PAYLOAD} B, msg id" \
    "$BIN/fraiseql-bench nats-publish $NATS_URL $COUNT $PAYLOAD 1000" \
    "bench/bin/nats_raw_pub $NATS_URL BENCH_RAW bench.raw.x.insert $COUNT $PAYLOAD"
pair "Redis SET, 1 connection, pipeline $PIPELINE" \
    "$BIN/fraiseql-bench redis-set $REDIS_URL $COUNT $PIPELINE 1" "redis_raw $PIPELINE"
# Four tasks sharing the connection (how services use it) against the same number of commands
# in flight from redis-benchmark on one connection.
pair "Redis SET, 1 connection, 4 tasks x pipeline $PIPELINE" \
    "$BIN/fraiseql-bench redis-set $REDIS_URL $COUNT $PIPELINE 4" "redis_raw $((PIPELINE * 4))"
echo "command: make bench-clients   raw: bench/nats_raw_pub.c (libnats), redis-benchmark -c 1 -P $PIPELINE (and -P $((PIPELINE * 4))) -t set"
