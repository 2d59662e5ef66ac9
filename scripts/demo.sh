#!/usr/bin/env bash
# make demo: the local stack and every service, end to end on loopback. An `orders` table gets
# the change-log triggers; every service starts and reports ready; rows written to PostgreSQL
# arrive on JetStream through pg-bridge (shown as events); observer-worker matches the paid order
# and sends a signed webhook to a local receiver, indexes it and enqueues a job that job-worker
# delivers; then everything is stopped with SIGTERM (set DEMO_KEEP=1 to keep it running until Ctrl-C).
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
RECEIVER_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
FLIGHT_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 scripts/demo_receiver.py "$RECEIVER_PORT" >.stack/receiver.log 2>&1 &
PIDS+=($!)
# The application's table, created by its owner (here the superuser); the fleet connects as a role
# of its own with the grants docs/deployment.md lists, never as the superuser.
psql -q "$POSTGRES_URL" <<'SQL'
CREATE TABLE orders (id serial PRIMARY KEY, customer text, status text, total numeric);
CREATE ROLE fraiseql_fleet LOGIN CREATEROLE;
GRANT CREATE ON DATABASE app TO fraiseql_fleet;
GRANT SELECT, TRIGGER ON orders TO fraiseql_fleet;
SQL
FLEET_URL=${POSTGRES_URL/postgres@/fraiseql_fleet@}
sed -e "s#@NATS_URL@#$NATS_URL#" -e "s#@REDIS_URL@#$REDIS_URL#" -e "s#@POSTGRES_URL@#$FLEET_URL#" \
    -e "s#@RECEIVER_PORT@#$RECEIVER_PORT#" -e "s#@FLIGHT_PORT@#$FLIGHT_PORT#" examples/demo.toml >"$CONFIG"
"$BIN/fraiseql-observer" validate --config "$CONFIG"
"$BIN/pg-bridge" install --config "$CONFIG"

port=19090
declare -A PORTS
for service in pg-bridge pg-bridge-standby observer-worker job-worker flight-server metrics-gateway; do
    PORTS[$service]=$port
    FRAISEQL_METRICS_LISTEN=127.0.0.1:$port "$BIN/${service%-standby}" --config "$CONFIG" >".stack/$service.log" 2>&1 &
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

echo "--- writing to PostgreSQL: 3 inserts, 1 update, 1 delete"
psql -q "$POSTGRES_URL" <<'SQL'
INSERT INTO orders (customer, status, total) VALUES ('ada', 'pending', 99.5), ('grace', 'pending', 12), ('alan', 'pending', 7.25);
UPDATE orders SET status = 'paid' WHERE customer = 'ada';
DELETE FROM orders WHERE customer = 'alan';
SQL
for _ in $(seq 1 50); do
    "$BIN/fraiseql-observer" status --config "$CONFIG" | grep -q "ENTITY_CHANGES: 5 messages" && break
    sleep 0.1
done
"$BIN/fraiseql-observer" status --config "$CONFIG"
echo "--- the events on JetStream:"
"$BIN/fraiseql-observer" events --config "$CONFIG" --count 5
echo "--- what the receiver got (webhook from observer-worker, then the job from job-worker):"
for _ in $(seq 1 100); do
    [[ $(grep -c '^receiver:' .stack/receiver.log || true) -ge 2 ]] && break
    sleep 0.1
done
cat .stack/receiver.log
echo "--- the audit index (search action):"
psql -q "$POSTGRES_URL" -c "SELECT entity_type, entity_id, operation FROM fraiseql_observer.audit_index"
echo "--- job queues:"
"$BIN/fraiseql-observer" jobs status --config "$CONFIG"
echo "--- the same events over Arrow Flight, read by pyarrow (flight-server):"
python3 - "$FLIGHT_PORT" <<'PY'
import json, sys
import pyarrow.flight as flight
client = flight.FlightClient(f"grpc://127.0.0.1:{sys.argv[1]}")
options = flight.FlightCallOptions(headers=[(b"authorization", b"Bearer demo-analyst-token-not-for-production")])
table = client.do_get(flight.Ticket(json.dumps({"kind": "events"}).encode()), options).read_all()
print(table.select(["stream_sequence", "entity_type", "entity_id", "operation", "after"]))
PY
GATEWAY="http://127.0.0.1:${PORTS[metrics-gateway]}"
TOKEN=demo-operator-token-not-for-production
echo "--- the fleet through metrics-gateway's admin API (fraiseql-observer status --gateway):"
sleep 1.5  # one refresh after the writes
"$BIN/fraiseql-observer" status --gateway "$GATEWAY" --token "$TOKEN" || true
echo "--- why the paid order's update matched (fraiseql-observer debug-event, the workers' rule engine):"
paid=$(psql -qtA "$POSTGRES_URL" -c "SELECT event_id FROM fraiseql_observer.change_log WHERE operation = 'update' LIMIT 1")
"$BIN/fraiseql-observer" debug-event --id "$paid" --gateway "$GATEWAY" --token "$TOKEN" | head -20 || true
echo "--- pg-bridge metrics (one leader, one standby):"
curl -s "http://127.0.0.1:${PORTS[pg-bridge]}/metrics" "http://127.0.0.1:${PORTS[pg-bridge-standby]}/metrics" \
    | grep -E '^fraiseql_bridge_(events_published_total|leader|checkpoint_cursor)' || true
echo "metrics: curl http://127.0.0.1:${PORTS[observer-worker]}/metrics"
echo "status page: $GATEWAY/   admin API: curl -H 'Authorization: Bearer $TOKEN' $GATEWAY/api/v1/status"
if [[ "${DEMO_KEEP:-0}" == 1 ]]; then
    echo "running; Ctrl-C to stop"
    wait
fi
