#!/usr/bin/env bash
# make bench-clients: our JetStream async publish and Redis pipelined SET rates next to the raw
# figures of the same servers in the same run (libnats in C, redis-benchmark), as a ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${BENCH_COUNT:-200000}
PAYLOAD=${BENCH_PAYLOAD:-256}
PIPELINE=${BENCH_PIPELINE:-100}

swift build -c release --product fraiseql-bench
mkdir -p bench/bin
gcc -O2 -o bench/bin/nats_raw_pub bench/nats_raw_pub.c $(pkg-config --cflags --libs libnats)
scripts/stack.sh up
trap 'scripts/stack.sh down' EXIT
# shellcheck disable=SC1091
source .stack/env
redis_port=${REDIS_URL##*:}
BIN=$(swift build -c release --show-bin-path)

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
runs() { for _ in 1 2 3; do "$@" 2>/dev/null; done | median; }

raw_nats=$(runs bench/bin/nats_raw_pub "$NATS_URL" BENCH_RAW bench.raw.x.insert "$COUNT" "$PAYLOAD")
our_nats=$(runs "$BIN/fraiseql-bench" nats-publish "$NATS_URL" "$COUNT" "$PAYLOAD" 1000)
raw_redis=$(for _ in 1 2 3; do redis-benchmark -p "$redis_port" -t set -n "$COUNT" -P "$PIPELINE" -c 1 -q --csv \
    | tail -n 1 | cut -d, -f2 | tr -d '"'; done | median)
our_redis=$(runs "$BIN/fraiseql-bench" redis-set "$REDIS_URL" "$COUNT" "$PIPELINE" 1)
# Four tasks sharing the connection (how services use it) against the same number of commands
# in flight from redis-benchmark on one connection.
raw_redis4=$(for _ in 1 2 3; do redis-benchmark -p "$redis_port" -t set -n "$COUNT" -P $((PIPELINE * 4)) -c 1 -q --csv \
    | tail -n 1 | cut -d, -f2 | tr -d '"'; done | median)
our_redis4=$(runs "$BIN/fraiseql-bench" redis-set "$REDIS_URL" "$COUNT" "$PIPELINE" 4)

printf '\n%-44s %12s %12s %7s\n' "case (median of 3, $COUNT ops)" "ours/s" "raw/s" "ratio"
printf '%-44s %12.0f %12.0f %6.0f%%\n' "JetStream async publish, ${PAYLOAD} B, msg id" "$our_nats" "$raw_nats" \
    "$(echo "100*$our_nats/$raw_nats" | bc -l)"
printf '%-44s %12.0f %12.0f %6.0f%%\n' "Redis SET, 1 connection, pipeline $PIPELINE" "$our_redis" "$raw_redis" \
    "$(echo "100*$our_redis/$raw_redis" | bc -l)"
printf '%-44s %12.0f %12.0f %6.0f%%\n' "Redis SET, 1 connection, 4 tasks x pipeline $PIPELINE" "$our_redis4" "$raw_redis4" \
    "$(echo "100*$our_redis4/$raw_redis4" | bc -l)"
echo "command: make bench-clients   raw: bench/nats_raw_pub.c (libnats), redis-benchmark -c 1 -P $PIPELINE (and -P $((PIPELINE * 4))) -t set"
