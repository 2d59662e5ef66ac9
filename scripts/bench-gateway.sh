#!/usr/bin/env bash
# make bench-gateway: what a Prometheus scrape of metrics-gateway costs on a fleet of QUEUES job
# queues and CONSUMERS consumers, next to what the gateway's refresh (reading every server, what a
# naive exporter would do on each scrape) costs, in the same run on the same servers.
set -euo pipefail
cd "$(dirname "$0")/.."
QUEUES=${BENCH_QUEUES:-100}
CONSUMERS=${BENCH_CONSUMERS:-10}
SCRAPES=${BENCH_SCRAPES:-500}
[ -n "${BENCH_BIN:-}" ] || for product in metrics-gateway fraiseql-bench; do swift build -c release --product "$product"; done
# shellcheck source=scripts/lib/bench.sh
source scripts/lib/bench.sh
bench_stack_up

queues=$(python3 -c "print(', '.join(f'\"q{i}\"' for i in range($QUEUES)))")
"$BIN/fraiseql-bench" worker-fill "$NATS_URL" BENCH_GATEWAY bench.gateway 10000 2>/dev/null
"$BIN/fraiseql-bench" consumers "$NATS_URL" BENCH_GATEWAY bench.gateway "$CONSUMERS"
# Each queue holds jobs, delayed jobs and dead letters (what the gauges count).
for i in $(seq 0 $((QUEUES - 1))); do
    printf 'XADD bench:jobs:q%s * job {}\nXADD bench:jobs:q%s * job {}\nZADD bench:jobs:q%s:delayed 1 a\nXADD bench:jobs:q%s:dlq * dead_letter {}\n' "$i" "$i" "$i" "$i"
done | redis-cli -u "$REDIS_URL" >/dev/null
ops=$(free_port)
cat >"$workdir/gateway.toml" <<TOML
[nats]
url = "$NATS_URL"
subject_prefix = "bench.gateway"
[nats.stream]
name = "BENCH_GATEWAY"
[redis]
url = "$REDIS_URL"
key_prefix = "bench:"
[jobs]
queues = [$queues]
[gateway]
refresh_interval = "1s"
token = "bench-token-0123456789"
TOML
FRAISEQL_METRICS_LISTEN=127.0.0.1:$ops "$BIN/metrics-gateway" --config "$workdir/gateway.toml" >"$workdir/gateway.log" 2>&1 &
pids+=("$!")
for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$ops/health/ready" >/dev/null && break; sleep 0.1; done
sleep 3  # a few refreshes
python3 - "$ops" "$SCRAPES" <<'PY'
import sys, time, urllib.request, statistics
port, scrapes = sys.argv[1], int(sys.argv[2])
url = f"http://127.0.0.1:{port}/metrics"
times, size, series = [], 0, 0
for _ in range(scrapes):
    start = time.perf_counter()
    body = urllib.request.urlopen(url).read()
    times.append((time.perf_counter() - start) * 1000)
    size = len(body)
text = body.decode()
series = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
queues = sum(1 for line in text.splitlines() if line.startswith('fraiseql_gateway_job_queue{') and 'state="queued"' in line)
consumers = sum(1 for line in text.splitlines() if line.startswith('fraiseql_gateway_consumer_pending{'))
refresh_sum = next(float(l.split()[-1]) for l in text.splitlines() if l.startswith("fraiseql_gateway_refresh_seconds_sum"))
refresh_count = next(float(l.split()[-1]) for l in text.splitlines() if l.startswith("fraiseql_gateway_refresh_seconds_count"))
times.sort()
p = lambda q: times[min(len(times) - 1, int(q * len(times)))]
print(f"scrape p50 {p(0.5):.2f} ms, p99 {p(0.99):.2f} ms, max {times[-1]:.2f} ms ({scrapes} scrapes of /metrics, {size} bytes, {series} series, {queues} queues, {consumers} consumers)")
print(f"refresh {refresh_sum / refresh_count * 1000:.1f} ms mean over {int(refresh_count)} refreshes (reading NATS, Redis and the services: the cost a scrape would have if it read the servers itself)")
PY
echo "command: make bench-gateway (BENCH_QUEUES=$QUEUES, BENCH_CONSUMERS=$CONSUMERS, BENCH_SCRAPES=$SCRAPES)"
