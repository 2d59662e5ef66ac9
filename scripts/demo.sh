#!/usr/bin/env bash
# make demo: the local stack and every service, end to end on loopback. Each service loads the
# demo configuration, connects, provisions the stream and reports ready; the CLI shows the stream;
# then everything is stopped with SIGTERM (set DEMO_KEEP=1 to keep it running until Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build
scripts/stack.sh up
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    scripts/stack.sh down
}
trap cleanup EXIT
# shellcheck disable=SC1091
source .stack/env
BIN=$(swift build --show-bin-path)
CONFIG=.stack/demo.toml
sed -e "s#@NATS_URL@#$NATS_URL#" -e "s#@REDIS_URL@#$REDIS_URL#" -e "s#@POSTGRES_URL@#$POSTGRES_URL#" \
    examples/demo.toml >"$CONFIG"
"$BIN/fraiseql-observer" validate --config "$CONFIG"

port=19090
declare -A PORTS
for service in pg-bridge observer-worker job-worker flight-server metrics-gateway; do
    PORTS[$service]=$port
    FRAISEQL_METRICS_LISTEN=127.0.0.1:$port "$BIN/$service" --config "$CONFIG" >".stack/$service.log" 2>&1 &
    PIDS+=($!)
    port=$((port + 1))
done
for service in "${!PORTS[@]}"; do
    for _ in $(seq 1 100); do
        curl -sf "http://127.0.0.1:${PORTS[$service]}/health/ready" >/dev/null && break
        sleep 0.1
    done
    printf '%-16s %s\n' "$service" "$(curl -s "http://127.0.0.1:${PORTS[$service]}/health/ready")"
done
"$BIN/fraiseql-observer" status --config "$CONFIG"
echo "metrics: curl http://127.0.0.1:${PORTS[observer-worker]}/metrics"
if [[ "${DEMO_KEEP:-0}" == 1 ]]; then
    echo "running; Ctrl-C to stop"
    wait
fi
