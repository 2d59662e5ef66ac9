#!/usr/bin/env bash
# make bench: the fleet benchmark. Release builds of pg-bridge, observer-worker and job-worker run
# as processes on the local stack; 4 writers commit order rows into PostgreSQL at an offered rate
# (1k, 5k, 20k rows/s, then as fast as they can) for BENCH_SECONDS; every row matches one observer
# with one webhook action to bench/http_sink.c (one epoll thread, so that the receiver takes little
# of the 2 cores), which writes each request's row id and receipt time to a file. Per case: the write rate, the
# end-to-end rate (rows delivered / first commit → last webhook), and the latency of each row
# from its INSERT returning to the writer (committed) to its webhook arriving: p50/p99/p999.
# With 1 and then 2 observer-worker processes. In the same run: the raw limits of the same
# servers (PostgreSQL inserts without the trigger, libnats async publish, redis-benchmark) and
# the RSS of every service at idle and at peak.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_CASE=${BENCH_SECONDS:-10}
RATES=${BENCH_RATES:-"1000 5000 20000 0"}
WRITERS=4

[ -n "${BENCH_BIN:-}" ] || swift build -c release --product fraiseql-bench
[ -n "${BENCH_BIN:-}" ] || for product in pg-bridge observer-worker job-worker; do swift build -c release --product "$product"; done
mkdir -p bench/bin
# shellcheck disable=SC2046 # pkg-config's flags are several words
gcc -O2 -o bench/bin/nats_raw_pub bench/nats_raw_pub.c $(pkg-config --cflags --libs libnats)
gcc -O2 -o bench/bin/http_sink bench/http_sink.c
# shellcheck source=scripts/lib/bench.sh
source scripts/lib/bench.sh
bench_stack_up
# shellcheck source=scripts/lib/histogram.sh
source scripts/lib/histogram.sh
PG_BASE=${POSTGRES_URL%/*}
started=$(date +%s)

# One case: $1 offered rate (0: saturation), $2 observer-worker processes, $3 the observer
# transport: `nats` (pg-bridge → JetStream → observer-worker, with job-worker running) or
# `postgres` (the PostgreSQL-only topology: the workers claim change-log rows, no bridge, no
# NATS, no Redis). Prints the result line.
fleet_case() {
    local rate=$1 workers=$2 transport=${3:-nats} name="fb$RANDOM$RANDOM" receiver_port config="$workdir/fleet.toml"
    receiver_port=$(free_port)
    # fleet_case runs in a command substitution, a subshell: the script's cleanup cannot see the
    # processes it starts, so it stops them itself when it exits, also when a step fails (set -e).
    case_pids=()
    trap 'for pid in "${case_pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT
    psql "$POSTGRES_URL" -qc "CREATE DATABASE $name" >/dev/null
    psql "$PG_BASE/$name" -qc \
        "CREATE TABLE orders (id bigserial PRIMARY KEY, customer text, status text, total numeric)" >/dev/null
    cat >"$config" <<TOML
[log]
level = "warning"
[nats]
url = "$NATS_URL"
subject_prefix = "$name"
[nats.stream]
name = "${name^^}"
[redis]
url = "$REDIS_URL"
key_prefix = "$name:"
[postgres]
url = "$PG_BASE/$name"
[bridge]
transport_name = "$name"
[[bridge.tables]]
table = "public.orders"
entity = "order"
[observer]
consumer = "fleet"
transport = "$transport"
[jobs]
queues = ["default"]
[[observers]]
name = "created"
entity = "order"
operations = ["insert"]
[[observers.actions]]
kind = "webhook"
url = "http://127.0.0.1:$receiver_port/hook"
body = '{"id": {{after.id}}}'
TOML
    "$BIN/pg-bridge" install --allow-superuser --config "$config" >/dev/null
    bench/bin/http_sink "$receiver_port" "$workdir/receipts" >/dev/null &
    local sink=$!
    case_pids+=("$sink")
    local services=() service_pids=() ports=() first_worker=1
    if [[ $transport == nats ]]; then services=(pg-bridge); else first_worker=0; fi
    for _ in $(seq 1 "$workers"); do services+=(observer-worker); done
    if [[ $transport == nats ]]; then services+=(job-worker); fi
    for service in "${services[@]}"; do
        local port; port=$(free_port)
        FRAISEQL_METRICS_LISTEN="127.0.0.1:$port" "$BIN/$service" --config "$config" &
        service_pids+=($!); case_pids+=($!); ports+=("$port")
    done
    for port in "${ports[@]}"; do
        for _ in $(seq 1 200); do curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null && break; sleep 0.05; done
    done
    local result
    result=$("$BIN/fraiseql-bench" fleet-load "$PG_BASE/$name" "$workdir/receipts" "$rate" "$SECONDS_PER_CASE" \
        "$WRITERS" "${service_pids[@]}")
    # The first observer-worker's dedup checks during the case (one HMGET pipeline per fetched
    # batch; postgres transport: one SELECT of observer_done per claimed batch).
    result+=" $(histogram_p99 "http://127.0.0.1:${ports[$first_worker]}/metrics" fraiseql_observer_dedup_check_seconds)"
    for pid in "${service_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${service_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    kill "$sink" 2>/dev/null || true
    wait "$sink" 2>/dev/null || true
    psql "$POSTGRES_URL" -qc "DROP DATABASE $name" >/dev/null 2>&1 || true
    echo "$result"
}

echo "raw limits of the same servers:"
psql "$POSTGRES_URL" -qc "CREATE DATABASE fbraw" >/dev/null
raw_pg=$("$BIN/fraiseql-bench" fleet-raw "$PG_BASE/fbraw" "$WRITERS" 5)
raw_nats=$(bench/bin/nats_raw_pub "$NATS_URL" FLEET_RAW fleet.raw.x.insert 100000 450 2>/dev/null)
redis_port=${REDIS_URL##*:}
raw_redis=$(redis-benchmark -p "$redis_port" -t set -n 200000 -P 16 -c 1 -q --csv | tail -n 1 | cut -d, -f2 | tr -d '"')
printf '  postgresql  %8.0f rows/s   (%d writers, batched INSERT, no trigger)\n' "$raw_pg" "$WRITERS"
printf '  nats        %8.0f msgs/s   (libnats async publish to JetStream, 450-byte payloads)\n' "$raw_nats"
printf '  redis       %8.0f SET/s    (redis-benchmark -P 16 -c 1)\n' "$raw_redis"
echo
printf '%-10s %7s %9s %10s %12s %8s %8s %8s %5s %5s %6s  %s\n' case workers offered "written/s" "delivered/s" \
    "p50 ms" "p99 ms" "p999 ms" dups lost dedup "RSS MB idle → peak (pg-bridge, observer-worker…, job-worker)"
for workers in 1 2; do
    for rate in $RATES; do
        read -r written delivered p50 p99 p999 dups lost idle peak dedup <<<"$(fleet_case "$rate" "$workers")"
        label=$([[ $rate == 0 ]] && echo saturation || echo "$((rate / 1000))k")
        offered=$([[ $rate == 0 ]] && echo max || echo "$rate")
        printf '%-10s %7s %9s %10s %12s %8s %8s %8s %5s %5s %6s  %s → %s\n' "$label" "$workers" "$offered" \
            "$written" "$delivered" "$p50" "$p99" "$p999" "$dups" "$lost" "≤$dedup" "$idle" "$peak"
    done
done
# The PostgreSQL-only topology (observer.transport = "postgres"): one worker, no bridge.
for rate in ${BENCH_PG_RATES:-1000 5000 10000}; do
    read -r written delivered p50 p99 p999 dups lost idle peak dedup <<<"$(fleet_case "$rate" 1 postgres)"
    label=$([[ $rate == 0 ]] && echo saturation || echo "$((rate / 1000))k")
    offered=$([[ $rate == 0 ]] && echo max || echo "$rate")
    printf '%-10s %7s %9s %10s %12s %8s %8s %8s %5s %5s %6s  %s → %s\n' "pg-$label" 1 "$offered" \
        "$written" "$delivered" "$p50" "$p99" "$p999" "$dups" "$lost" "≤$dedup" "$idle" "$peak"
done
echo
echo "command: make bench ($(($(date +%s) - started)) s; BENCH_SECONDS=$SECONDS_PER_CASE per case)"
echo "pg-*: the postgres observer transport (PostgreSQL only: observer-worker claims change-log rows; RSS: the worker)"
echo "dedup: the bucket (ms) holding 99% of the first observer-worker's dedup checks in the case"
echo "goals: p99 < 50 ms at 1k rows/s; saturation >= 10000 rows/s end to end with webhooks; every service < 100 MB RSS at idle"
