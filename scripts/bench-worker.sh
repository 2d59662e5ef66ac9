#!/usr/bin/env bash
# make bench-worker: observer-worker on the local stack, in one run on the same servers. Each case
# drains 100,000 order events already in a stream of its own:
#   noop     one worker, dedup on, one matched `log` action at debug (not printed)
#   webhook  one worker, dedup on, one webhook action to a fast local receiver (bench/http_sink.c:
#            one epoll thread answering 200, so the peer takes little of the 2 cores)
#   ceiling  raw durable pull fetch (batch 256) + ack of the same server over libnats (bench/nats_raw_pull.c)
#   python   the worker a user might write: nats-py pull, redis-py pipelined SET NX, ack (bench/python_worker.py)
# plus `noop` with metrics off (metrics cost) and the dedup-check latency from the worker's histogram.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${BENCH_COUNT:-100000}

python3 -m pip install -q nats-py redis 2>/dev/null || python3 -m pip install -q --break-system-packages nats-py redis
swift build -c release --product fraiseql-bench
swift build -c release --product observer-worker
mkdir -p bench/bin
gcc -O2 -o bench/bin/nats_raw_pull bench/nats_raw_pull.c $(pkg-config --cflags --libs libnats)
gcc -O2 -o bench/bin/http_sink bench/http_sink.c
scripts/stack.sh up
workdir=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    scripts/stack.sh down
    rm -rf "$workdir"
}
trap cleanup EXIT
# shellcheck disable=SC1091
source .stack/env
BIN=$(swift build -c release --show-bin-path)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

receiver_port=$(free_port)
bench/bin/http_sink "$receiver_port" >/dev/null &
pids+=($!)

# A fresh stream filled with COUNT events; prints its name.
fill() {
    local name="WB$RANDOM$RANDOM"
    "$BIN/fraiseql-bench" worker-fill "$NATS_URL" "$name" "${name,,}" "$COUNT"
    echo "$name"
}

# One observer-worker drain: $1 action kind (log|webhook), $2 metrics enabled (true|false).
# Prints "events/s dedup-p99-bucket".
worker_case() {
    local stream ops_port config="$workdir/worker.toml" action
    stream=$(fill)
    ops_port=$(free_port)
    if [[ $1 == log ]]; then
        action=$'kind = "log"\nlevel = "debug"'
    else
        action=$'kind = "webhook"\nurl = "http://127.0.0.1:'"$receiver_port"$'/hook"'
    fi
    cat >"$config" <<TOML
[log]
level = "warning"
[nats]
url = "$NATS_URL"
subject_prefix = "${stream,,}"
[nats.stream]
name = "$stream"
[redis]
url = "$REDIS_URL"
key_prefix = "${stream,,}:"
[observer]
consumer = "bench"
[metrics]
listen = "127.0.0.1:$ops_port"
enabled = $2
[[observers]]
name = "bench"
entity = "order"
[[observers.actions]]
$action
TOML
    "$BIN/observer-worker" --config "$config" &
    local pid=$!
    local rate p99=""
    rate=$("$BIN/fraiseql-bench" worker-wait "$NATS_URL" "$stream" bench "$COUNT")
    if [[ $2 == true ]]; then
        # The smallest bucket holding 99% of the dedup checks (one check per fetched batch).
        p99=$(curl -fs "http://127.0.0.1:$ops_port/metrics" | awk -F'[{}" ]+' '
            /^fraiseql_observer_dedup_check_seconds_bucket/ { le[n] = $3; c[n++] = $NF }
            /^fraiseql_observer_dedup_check_seconds_count/ { total = $NF }
            END { for (i = 0; i < n; i++) if (c[i] >= 0.99 * total) { print le[i] * 1000; exit } }')
    fi
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    echo "$rate ${p99:-}"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
runs3() { for _ in 1 2 3; do "$@"; done; }

noop_runs=$(runs3 worker_case log true)
noop=$(cut -d' ' -f1 <<<"$noop_runs" | median)
noop_p99=$(cut -d' ' -f2 <<<"$noop_runs" | median)
noop_off=$(for _ in 1 2 3; do worker_case log false; done | cut -d' ' -f1 | median)
webhook_runs=$(runs3 worker_case webhook true)
webhook=$(cut -d' ' -f1 <<<"$webhook_runs" | median)
webhook_p99=$(cut -d' ' -f2 <<<"$webhook_runs" | median)
ceiling=$(for _ in 1 2 3; do s=$(fill); bench/bin/nats_raw_pull "$NATS_URL" "$s" "${s,,}.>" raw "$COUNT" 256 2>/dev/null; done | median)
python=$(for _ in 1 2 3; do s=$(fill); python3 bench/python_worker.py "$NATS_URL" "$s" py "$REDIS_URL" "$COUNT" 2>/dev/null; done | median)

echo
echo "median of 3 runs, $COUNT events each; one worker process; Redis dedup on"
printf 'noop     %8.0f events/s   (dedup check p99 <= %s ms; %.1fx python)\n' "$noop" "$noop_p99" "$(echo "$noop/$python" | bc -l)"
printf 'noop-metrics-off %.0f events/s   (metrics cost %.1f%%)\n' "$noop_off" "$(echo "100*($noop_off-$noop)/$noop_off" | bc -l)"
printf 'webhook  %8.0f events/s   (dedup check p99 <= %s ms)\n' "$webhook" "$webhook_p99"
printf 'ceiling  %8.0f events/s   (libnats pull fetch 256 + ack, no work)\n' "$ceiling"
printf 'python   %8.0f events/s   (nats-py + redis-py pipelined SET NX + ack)\n' "$python"
echo "command: make bench-worker   goals: noop >= 25000 and >= 4x python; webhook >= 8000; dedup p99 < 1 ms; metrics < 1%"
