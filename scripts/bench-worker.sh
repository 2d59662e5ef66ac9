#!/usr/bin/env bash
# make bench-worker: observer-worker on the local stack, in one run on the same servers. Each case
# drains 100,000 order events already in a stream of its own:
#   noop     one worker, dedup on, one matched `log` action at debug (not printed)
#   webhook  one worker, dedup on, one webhook action to a fast local receiver (bench/http_sink.c:
#            one epoll thread answering 200, so the peer takes little of the 2 cores)
#   ceiling  raw durable pull fetch (batch 256) + ack of the same server over libnats (bench/nats_raw_pull.c)
#   python   the worker a user might write: nats-py pull, redis-py pipelined SET NX, ack (bench/python_worker.py)
# plus `noop` with metrics off, the dedup-check latency from the worker's histogram, and the metric
# calls of an event timed alone (`fraiseql-bench metrics-cost`) against the worker's CPU per event.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${BENCH_COUNT:-100000}

python3 -m pip install -q nats-py redis 2>/dev/null || python3 -m pip install -q --break-system-packages nats-py redis
[ -n "${BENCH_BIN:-}" ] || swift build -c release --product fraiseql-bench
[ -n "${BENCH_BIN:-}" ] || swift build -c release --product observer-worker
mkdir -p bench/bin
# shellcheck disable=SC2046 # pkg-config's flags are several words
gcc -O2 -o bench/bin/nats_raw_pull bench/nats_raw_pull.c $(pkg-config --cflags --libs libnats)
gcc -O2 -o bench/bin/http_sink bench/http_sink.c
# shellcheck source=scripts/lib/bench.sh
source scripts/lib/bench.sh
bench_stack_up
# shellcheck source=scripts/lib/histogram.sh
source scripts/lib/histogram.sh

receiver_port=$(free_port)
bench/bin/http_sink "$receiver_port" >/dev/null &
pids+=($!)

# A fresh stream filled with COUNT events; prints its name.
# Deletes a case's stream, so that JetStream holds one stream at a time.
drop() { "$BIN/fraiseql-bench" stream-delete "$NATS_URL" "$1" >/dev/null; }

fill() {
    local name="WB$RANDOM$RANDOM"
    "$BIN/fraiseql-bench" worker-fill "$NATS_URL" "$name" "${name,,}" "$COUNT"
    echo "$name"
}

# worker_config FILE STREAM OPS_PORT METRICS(true|false) ACTION(log|webhook): one worker's config.
worker_config() {
    local action
    if [[ $5 == log ]]; then
        action=$'kind = "log"\nlevel = "debug"'
    else
        action=$'kind = "webhook"\nurl = "http://127.0.0.1:'"$receiver_port"$'/hook"'
    fi
    cat >"$1" <<TOML
[log]
level = "warning"
[nats]
url = "$NATS_URL"
subject_prefix = "${2,,}"
[nats.stream]
name = "$2"
[redis]
url = "$REDIS_URL"
key_prefix = "${2,,}:"
[observer]
consumer = "bench"
[metrics]
listen = "127.0.0.1:$3"
enabled = $4
[[observers]]
name = "bench"
entity = "order"
[[observers.actions]]
$action
TOML
}

# One observer-worker drain: $1 action kind (log|webhook), $2 metrics enabled (true|false), $3
# (optional) `reference`: an independent client measures Redis meanwhile (below).
# Prints "events/s dedup-p99-bucket cpu-ticks action-p50-bucket action-p99-bucket
# dedup-share-within-1-ms", then, with `reference`, the client's "p99-ms share-within-1-ms".
worker_case() {
    local stream ops_port config="$workdir/worker.toml" reference=""
    stream=$(fill)
    ops_port=$(free_port)
    worker_config "$config" "$stream" "$ops_port" "$2" "$1"
    "$BIN/observer-worker" --config "$config" &
    local pid=$!
    if [[ ${3:-} == reference ]]; then
        # The reference for the drain's checks: an MGET of 80 keys (the drain's mean batch) every
        # 1.5 ms on the same Redis, over a raw socket, for 0.6 s from the worker's start (a drain
        # of 100,000 events lasts 0.7-1.2 s here): the round trip any client gets meanwhile.
        (sleep 0.1 && python3 bench/redis_probe.py "$REDIS_URL" 0.6 1.5 80 >"$workdir/drain-probe") &
        reference=$!
    fi
    local rate p99="" action_p50="" action_p99="" share=""
    rate=$("$BIN/fraiseql-bench" worker-wait "$NATS_URL" "$stream" bench "$COUNT")
    if [[ -n $reference ]]; then wait "$reference"; fi
    if [[ $2 == true ]]; then
        # The smallest bucket holding 99% of the dedup checks (one check per fetched batch).
        p99=$(histogram_p99 "http://127.0.0.1:$ops_port/metrics" fraiseql_observer_dedup_check_seconds)
        share=$(histogram_share "http://127.0.0.1:$ops_port/metrics" fraiseql_observer_dedup_check_seconds 0.001)
        # The action's own duration (for a webhook: request sent → response read).
        action_p50=$(histogram_quantile "http://127.0.0.1:$ops_port/metrics" fraiseql_observer_action_duration_seconds 0.5)
        action_p99=$(histogram_quantile "http://127.0.0.1:$ops_port/metrics" fraiseql_observer_action_duration_seconds 0.99)
    fi
    # The worker's CPU time (user + system, clock ticks) for the whole drain: the metrics cost is
    # compared on it, as this shared machine's speed varies more between runs than the cost.
    local stat cpu
    stat=$(cat "/proc/$pid/stat")
    cpu=$(awk '{print $12 + $13}' <<<"${stat##*) }")  # utime + stime, after the command name
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    drop "$stream"
    echo "$rate ${p99:--} $cpu ${action_p50:--} ${action_p99:--} ${share:--}${reference:+ $(cat "$workdir/drain-probe")}"
}

# Live traffic: the noop worker, started on an empty stream, takes the events published at $1
# events/s for 6 s (below saturation, as a worker runs most of the time). Prints the dedup-check
# p99 bucket (ms), the percentage of checks within 1 ms, and the same two figures (p99 exact) of
# an independent client's MGETs meanwhile (bench/redis_probe.py). The drains above measure the
# check with the machine saturated by the worker itself.
paced_case() {
    local stream="WB$RANDOM$RANDOM" ops_port config="$workdir/paced.toml" metrics count=$(($1 * 6))
    "$BIN/fraiseql-bench" worker-fill "$NATS_URL" "$stream" "${stream,,}" 0
    ops_port=$(free_port)
    metrics="http://127.0.0.1:$ops_port/metrics"
    worker_config "$config" "$stream" "$ops_port" true log
    "$BIN/observer-worker" --config "$config" &
    local pid=$!
    until curl -fs "http://127.0.0.1:$ops_port/health/ready" >/dev/null; do sleep 0.05; done
    # The reference, during the middle 4 s of the 6: an independent client's MGET of 40 keys
    # (a check's size at 25,000 events/s) every 1.5 ms on the same Redis.
    (sleep 1 && python3 bench/redis_probe.py "$REDIS_URL" 4 1.5 40 >"$workdir/probe") &
    local probe=$!
    "$BIN/fraiseql-bench" worker-fill "$NATS_URL" "$stream" "${stream,,}" "$count" "$1" 2>/dev/null
    "$BIN/fraiseql-bench" worker-wait "$NATS_URL" "$stream" bench "$count" >/dev/null
    wait "$probe"
    echo "$(histogram_p99 "$metrics" fraiseql_observer_dedup_check_seconds)" \
        "$(histogram_share "$metrics" fraiseql_observer_dedup_check_seconds 0.001)" "$(cat "$workdir/probe")"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    drop "$stream"
}

RUNS=${BENCH_RUNS:-3}

# Rounds: every case once per round, so that a slow moment of the shared machine hits all cases
# alike; metrics cost and the Python ratio are computed within each round, then the median taken.
declare -a cpu_ons=() noop=() noop_p99=() noop_share=() noop_off=() webhook=() webhook_p99=() ceiling=() python=() cost=() ratio=()
read -ra PACED_RATES <<<"${BENCH_PACED_RATES:-5000 10000 25000}"
# The same reference with the machine idle.
read -r idle_probe_p99 idle_probe_share <<<"$(python3 bench/redis_probe.py "$REDIS_URL" 2 1.5 40)"
declare -A paced_p99=() paced_share=() probe_p99=() probe_share=()
declare -a noop_a50=() noop_a99=() webhook_a50=() webhook_a99=()
declare -a drain_share=() drain_probe_p99=() drain_probe_share=()
for round in $(seq "$RUNS"); do
    # Metrics on and off alternate which goes first, so that a slow moment or a drift of the
    # machine does not always land on the same one.
    if (( round % 2 == 0 )); then read -r off_rate _ cpu_off _ <<<"$(worker_case log false)"; fi
    read -r rate p99 cpu_on a50 a99 share <<<"$(worker_case log true)"; noop+=("$rate"); noop_p99+=("$p99"); cpu_ons+=("$cpu_on")
    noop_share+=("$share")
    noop_a50+=("$a50"); noop_a99+=("$a99")
    if (( round % 2 == 1 )); then read -r off_rate _ cpu_off _ <<<"$(worker_case log false)"; fi
    noop_off+=("$off_rate")
    read -r rate p99 _ a50 a99 <<<"$(worker_case webhook true)"; webhook+=("$rate"); webhook_p99+=("$p99")
    webhook_a50+=("$a50"); webhook_a99+=("$a99")
    # The noop drain again, with the independent client measuring Redis at the same time (its
    # own load lowers the worker's figures a little, so the noop figures above are kept apart).
    read -r _ _ _ _ _ share reference_p99 reference_share <<<"$(worker_case log true reference)"
    drain_share+=("$share"); drain_probe_p99+=("$reference_p99"); drain_probe_share+=("$reference_share")
    s=$(fill); ceiling+=("$(bench/bin/nats_raw_pull "$NATS_URL" "$s" "${s,,}.>" raw "$COUNT" 256 2>/dev/null)"); drop "$s"
    s=$(fill); python+=("$(python3 bench/python_worker.py "$NATS_URL" "$s" py "$REDIS_URL" "$COUNT" 2>/dev/null)"); drop "$s"
    for paced_rate in "${PACED_RATES[@]}"; do
        read -r p99 share reference_p99 reference_share <<<"$(paced_case "$paced_rate")"
        paced_p99[$paced_rate]+=" $p99"
        paced_share[$paced_rate]+=" $share"
        probe_p99[$paced_rate]+=" $reference_p99"
        probe_share[$paced_rate]+=" $reference_share"
    done
    cost+=("$(echo "100*($cpu_on-$cpu_off)/$cpu_off" | bc -l)")
    ratio+=("$(echo "${noop[-1]}/${python[-1]}" | bc -l)")
    printf 'round %d: noop %s, noop-metrics-off %s, webhook %s, ceiling %s, python %s events/s;' "$round" \
        "${noop[-1]}" "${noop_off[-1]}" "${webhook[-1]}" "${ceiling[-1]}" "${python[-1]}"
    printf ' worker CPU for the noop drain: %s ticks with metrics, %s without\n' "$cpu_on" "$cpu_off"
done
med() { printf '%s\n' "$@" | median; }

echo
echo "median of $RUNS rounds, $COUNT events each; one worker process; Redis dedup on"
printf 'noop     %8.0f events/s   (action p50 <= %s ms, p99 <= %s ms; dedup check p99 <= %s ms; %.1fx python)\n' \
    "$(med "${noop[@]}")" "$(med "${noop_a50[@]}")" "$(med "${noop_a99[@]}")" "$(med "${noop_p99[@]}")" \
    "$(med "${ratio[@]}")"
printf 'noop-metrics-off %.0f events/s   (metrics cost %.1f%% of worker CPU, per round: %s)\n' "$(med "${noop_off[@]}")" \
    "$(med "${cost[@]}")" "$(printf '%.1f%% ' "${cost[@]}")"
# The metric calls of a noop event timed alone (fraiseql-bench metrics-cost), against the worker's
# CPU per event in the noop drains: the on/off drains above differ by less than the machine's noise.
read -r metric_on metric_off <<<"$("$BIN/fraiseql-bench" metrics-cost 2000000)"
cpu_event_ns=$(echo "$(med "${cpu_ons[@]}") * 1000000000 / $(getconf CLK_TCK) / $COUNT" | bc -l)
printf 'metrics  %.0f ns/event with Prometheus, %.0f without = %.2f%% of the noop worker CPU per event (%.1f µs)\n' \
    "$metric_on" "$metric_off" "$(echo "100 * ($metric_on - $metric_off) / $cpu_event_ns" | bc -l)" \
    "$(echo "$cpu_event_ns / 1000" | bc -l)"
printf 'webhook  %8.0f events/s   (action p50 <= %s ms, p99 <= %s ms; dedup check p99 <= %s ms)\n' \
    "$(med "${webhook[@]}")" "$(med "${webhook_a50[@]}")" "$(med "${webhook_a99[@]}")" "$(med "${webhook_p99[@]}")"
printf 'ceiling  %8.0f events/s   (libnats pull fetch 256 + ack, no work)\n' "$(med "${ceiling[@]}")"
printf 'python   %8.0f events/s   (nats-py + redis-py pipelined SET NX + ack)\n' "$(med "${python[@]}")"
# The dedup check under live traffic, per rate: p99 bucket and share within 1 ms (medians), next
# to the independent client's MGETs at the same time.
for paced_rate in "${PACED_RATES[@]}"; do
    shares=${paced_share[$paced_rate]# }
    # shellcheck disable=SC2086 # the lists are space-separated on purpose
    printf 'dedup    check p99 <= %s ms (%s%% within 1 ms; per round %s%%) with %s events/s published live to the noop worker;' \
        "$(med ${paced_p99[$paced_rate]})" "$(med ${paced_share[$paced_rate]})" \
        "${shares// /%, }" "$paced_rate"
    # shellcheck disable=SC2086
    printf ' reference, an independent client'"'"'s MGET of 40 keys meanwhile: p99 %s ms (%s%% within 1 ms)\n' \
        "$(med ${probe_p99[$paced_rate]})" "$(med ${probe_share[$paced_rate]})"
done
printf 'dedup    reference with the machine idle: p99 %s ms (%s%% within 1 ms)\n' "$idle_probe_p99" "$idle_probe_share"
printf 'dedup    check p99 <= %s ms (%s%% within 1 ms; per round %s) in the noop drain above, which saturates the machine\n' \
    "$(med "${noop_p99[@]}")" "$(med "${noop_share[@]}")" "$(printf '%s%% ' "${noop_share[@]}")"
printf 'dedup    reference in a noop drain: the worker %s%% of checks within 1 ms (per round %s), an independent client'"'"'s MGET of 80 keys meanwhile p99 %s ms, %s%% within 1 ms (per round %s)\n' \
    "$(med "${drain_share[@]}")" "$(printf '%s%% ' "${drain_share[@]}")" "$(med "${drain_probe_p99[@]}")" \
    "$(med "${drain_probe_share[@]}")" "$(printf '%s%% ' "${drain_probe_share[@]}")"
echo "action, dedup: the upper bound (ms) of the smallest bucket of the worker's histogram holding that share"
echo "command: make bench-worker   goals: noop >= 25000 and >= 4x python; webhook >= 8000; dedup p99 < 1 ms; metrics < 1%"
