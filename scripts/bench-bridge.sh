#!/usr/bin/env bash
# make bench-bridge: pg-bridge on the local stack, in one run on the same servers:
#   drain    a backlog of ROWS unpublished rows drained to JetStream
#   live     4 writers as fast as PostgreSQL allows (write rate, publish rate, capture→stored latency),
#            and one paced writer at 1,000 rows/s (latency)
#   ceiling  raw JetStream async publish of the same number of messages of the same size (C over libnats)
#   relay    the naive Python relay a user might write (psycopg + nats-py, batch 500, async publish, mark)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${BENCH_ROWS:-200000}
LIVE_SECONDS=${BENCH_LIVE_SECONDS:-10}

python3 -m pip install -q "psycopg[binary]" nats-py 2>/dev/null || python3 -m pip install -q --break-system-packages "psycopg[binary]" nats-py
[ -n "${BENCH_BIN:-}" ] || for product in fraiseql-bench fraiseql-observer; do swift build -c release --product "$product"; done
mkdir -p bench/bin
# shellcheck disable=SC2046 # pkg-config's flags are several words
gcc -O2 -o bench/bin/nats_raw_pub bench/nats_raw_pub.c $(pkg-config --cflags --libs libnats)
# shellcheck source=scripts/lib/bench.sh
source scripts/lib/bench.sh
bench_stack_up

drains=()
for _ in 1 2 3; do
    read -r one payload < <("$BIN/fraiseql-bench" bridge-drain "$POSTGRES_URL" "$NATS_URL" "$ROWS" 2>/dev/null)
    drains+=("$one")
done
drain=$(printf '%s\n' "${drains[@]}" | median)
read -r live_writes live_publish live_p50 live_p99 live_catchup < <(
    "$BIN/fraiseql-bench" bridge-live "$POSTGRES_URL" "$NATS_URL" 4 "$LIVE_SECONDS" 0)
read -r _ _ paced_p50 paced_p99 _ < <("$BIN/fraiseql-bench" bridge-live "$POSTGRES_URL" "$NATS_URL" 1 "$LIVE_SECONDS" 1000)
ceiling=$(bench/bin/nats_raw_pub "$NATS_URL" BENCH_CEILING bench.ceiling.x.insert "$ROWS" "${payload%.*}" 2>/dev/null)

relay_once() {
    local db="bench_relay_$RANDOM"
    psql -q "$POSTGRES_URL" -c "CREATE DATABASE $db"
    local relay_url="${POSTGRES_URL%/*}/$db"
    psql -q "$relay_url" -c "CREATE TABLE orders (id bigserial PRIMARY KEY, customer text, status text, total numeric, writer int, seq int)"
    printf '[postgres]\nurl = "%s"\n[[bridge.tables]]\ntable = "public.orders"\nentity = "order"\n' "$relay_url" >.stack/relay.toml
    "$BIN/fraiseql-observer" install --allow-superuser --config .stack/relay.toml >/dev/null
    psql -q "$relay_url" -c "INSERT INTO orders (customer, status, total, writer, seq)
        SELECT 'customer-' || g, 'pending', g * 1.5, 0, g FROM generate_series(1, $ROWS) AS g"
    python3 bench/relay.py "$relay_url" "$NATS_URL" BENCH_RELAY bench_relay
}
relay=$(for _ in 1 2 3; do relay_once; done | median)

echo
echo "drain $drain events/s (median of 3: ${drains[*]}; $ROWS-row backlog, mean message ${payload%.*} B; $(echo "100*$drain/$ceiling" | bc)% of ceiling, $(echo "scale=1; $drain/$relay" | bc)x relay)"
echo "live $live_publish events/s (4 writers at $live_writes rows/s; capture→stored p50 $live_p50 ms, p99 $live_p99 ms; caught up ${live_catchup}s after the writers stopped)"
echo "live-1000 latency p50 $paced_p50 ms, p99 $paced_p99 ms (one writer paced at 1,000 rows/s)"
echo "ceiling $ceiling events/s (bench/nats_raw_pub.c: libnats async publish, same count and size)"
echo "relay $relay events/s (median of 3; bench/relay.py: psycopg + nats-py, batch 500)"
echo "command: make bench-bridge (BENCH_ROWS=$ROWS, BENCH_LIVE_SECONDS=$LIVE_SECONDS)"
