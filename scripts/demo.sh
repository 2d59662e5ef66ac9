#!/usr/bin/env bash
# make demo: the whole fleet end to end on local servers (no Docker). Starts PostgreSQL, MariaDB,
# NATS and Redis on loopback, installs capture on an `orders` table in each database, starts
# pg-bridge (leader and standby), mysql-bridge, two observer-workers, job-worker, flight-server
# and metrics-gateway, writes a few hundred orders to each database, and shows each stage:
# events in the stream, signed webhooks received and verified, jobs done, the audit index, an
# Arrow read over Flight with pyarrow, the status page. Then the fleet keeps running until
# Ctrl-C (`make demo-stop` from another terminal stops it too).
# DEMO_KEEP=0 stops after the stages (scripts/test-demo.sh runs it so and checks every stage).
# Each stage prints a `stage <name>:` line with what it found and what it expected, the expected
# figures computed from the application's own tables.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build
scripts/stack.sh up
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -f .stack/demo.pids
    scripts/stack.sh down
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# shellcheck disable=SC1091
source .stack/env
BIN=$(swift build --show-bin-path)
CONFIG=.stack/demo.toml
MYSQL_CONFIG=.stack/demo-mysql.toml
SECRET=whsec_ZGVtby1zaWduaW5nLXNlY3JldC1ub3QtZm9yLXByb2R1Y3Rpb24=
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
RECEIVER_PORT=$(free_port)
FLIGHT_PORT=$(free_port)
python3 scripts/demo_receiver.py "$RECEIVER_PORT" "$SECRET" >.stack/receiver.log 2>&1 &
PIDS+=($!)
mysql_port=${MYSQL_URL##*:}
mysql_port=${mysql_port%%/*}
maria() { mariadb -h 127.0.0.1 -P "$mysql_port" -u root app "$@"; }

echo "=== the applications' tables: orders in PostgreSQL and in MariaDB"
# Created by their owner (here the superuser); the fleet connects to PostgreSQL as a role of its
# own with the grants docs/deployment.md lists, never as the superuser.
psql -q "$POSTGRES_URL" <<'SQL'
CREATE TABLE orders (id serial PRIMARY KEY, customer text, status text, total numeric);
CREATE ROLE fraiseql_fleet LOGIN CREATEROLE;
GRANT CREATE ON DATABASE app TO fraiseql_fleet;
GRANT SELECT, TRIGGER ON orders TO fraiseql_fleet;
SQL
maria -e "CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, customer VARCHAR(64), status VARCHAR(16), total DECIMAL(10,2))"
FLEET_URL=${POSTGRES_URL/postgres@/fraiseql_fleet@}
fill() {
    sed -e "s#@NATS_URL@#$NATS_URL#" -e "s#@REDIS_URL@#$REDIS_URL#" -e "s#@POSTGRES_URL@#$FLEET_URL#" \
        -e "s#@MYSQL_URL@#$MYSQL_URL#" -e "s#@RECEIVER_PORT@#$RECEIVER_PORT#" -e "s#@FLIGHT_PORT@#$FLIGHT_PORT#" "$1"
}
fill examples/demo.toml >"$CONFIG"
fill examples/demo-mysql.toml >"$MYSQL_CONFIG"
"$BIN/fraiseql-observer" validate --config "$CONFIG"
"$BIN/fraiseql-observer" validate --config "$MYSQL_CONFIG"
"$BIN/pg-bridge" install --config "$CONFIG"
"$BIN/mysql-bridge" install --config "$MYSQL_CONFIG"

echo "=== the fleet (each service's /health/ready)"
declare -A PORTS=([pg-bridge]=19090 [pg-bridge-standby]=19091 [observer-worker]=19092 [job-worker]=19093
    [flight-server]=19094 [metrics-gateway]=19095 [mysql-bridge]=19096 [observer-worker-2]=19097)
for service in pg-bridge pg-bridge-standby mysql-bridge observer-worker observer-worker-2 job-worker flight-server metrics-gateway; do
    binary=${service%-standby}
    binary=${binary%-2}
    config=$CONFIG
    [[ $service == mysql-bridge ]] && config=$MYSQL_CONFIG
    FRAISEQL_METRICS_LISTEN=127.0.0.1:${PORTS[$service]} "$BIN/$binary" --config "$config" >".stack/$service.log" 2>&1 &
    PIDS+=($!)
done
printf '%s\n' "${PIDS[@]}" >.stack/demo.pids
for service in pg-bridge pg-bridge-standby mysql-bridge observer-worker observer-worker-2 job-worker flight-server metrics-gateway; do
    for _ in $(seq 1 150); do
        curl -sf "http://127.0.0.1:${PORTS[$service]}/health/ready" >/dev/null && break
        sleep 0.1
    done
    printf '%-18s %s\n' "$service" "$(curl -s "http://127.0.0.1:${PORTS[$service]}/health/ready")"
done

echo "=== writing orders: 300 to PostgreSQL, 200 to MariaDB; a third paid, a few deleted"
psql -q "$POSTGRES_URL" <<'SQL'
INSERT INTO orders (customer, status, total)
    SELECT 'customer' || n, 'pending', (n % 100) + 0.5 FROM generate_series(1, 300) n;
UPDATE orders SET status = 'paid' WHERE id % 3 = 0;
DELETE FROM orders WHERE id % 15 = 1;
SQL
maria <<'SQL'
INSERT INTO orders (customer, status, total)
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
    SELECT CONCAT('maria', i), 'pending', (i % 100) + 0.25 FROM n;
UPDATE orders SET status = 'paid' WHERE id % 3 = 0;
DELETE FROM orders WHERE id % 15 = 1;
SQL
# What the fleet must show, from the applications' tables: 300 + 100 + 20 PostgreSQL events and
# 200 + 66 + 14 MariaDB events; a webhook, a receipt job and an audit entry per paid order over 50.
pg_events=$((300 + $(psql -qtA "$POSTGRES_URL" -c "SELECT count(*) FROM orders WHERE status = 'paid'") + 20))
maria_events=$((200 + $(maria -N -e "SELECT count(*) FROM orders WHERE status = 'paid'") + 14))
paid=$(($(psql -qtA "$POSTGRES_URL" -c "SELECT count(*) FROM orders WHERE status = 'paid' AND total > 50") +
    $(maria -N -e "SELECT count(*) FROM orders WHERE status = 'paid' AND total > 50")))
events=$((pg_events + maria_events))

echo "=== stage 1: events in the stream (pg-bridge and mysql-bridge publish into ENTITY_CHANGES)"
stream=0
for _ in $(seq 1 300); do
    stream=$("$BIN/fraiseql-observer" status --config "$CONFIG" --format json |
        python3 -c 'import json,sys; s=json.load(sys.stdin); print(s.get("stream",{}).get("messages",0))' 2>/dev/null || echo 0)
    ((stream >= events)) && break
    sleep 0.1
done
"$BIN/fraiseql-observer" status --config "$CONFIG"
"$BIN/fraiseql-observer" events --config "$CONFIG" --count 2
echo "stage events: $stream in the stream, expected $events ($pg_events from PostgreSQL, $maria_events from MariaDB)"

echo "=== stage 2: signed webhooks received and verified (observer-worker → the receiver)"
webhooks() { grep -c '^receiver: POST /orders/paid ' .stack/receiver.log || true; }
receipts() { grep -c '^receiver: POST /jobs/receipt ' .stack/receiver.log || true; }
for _ in $(seq 1 600); do
    (($(webhooks) >= paid && $(receipts) >= paid)) && break
    sleep 0.1
done
grep -m 3 '^receiver: POST /orders/paid ' .stack/receiver.log || true
verified=$(grep -c '^receiver: POST /orders/paid .* verified=yes ' .stack/receiver.log || true)
echo "stage webhooks: $(webhooks) received, $verified verified, expected $paid"

echo "=== stage 3: jobs done (observer-worker enqueues, job-worker delivers the receipts)"
"$BIN/fraiseql-observer" jobs status --config "$CONFIG"
echo "stage jobs: $(receipts) receipts delivered, expected $paid"

echo "=== stage 4: the audit index (the search action, PostgreSQL full text)"
"$BIN/fraiseql-observer" audit --config "$CONFIG" --limit 3 || true
audit=$(psql -qtA "$POSTGRES_URL" -c "SELECT count(*) FROM fraiseql_observer.audit_index")
echo "stage audit: $audit entries, expected $paid"

echo "=== stage 5: the same events as Arrow over Flight, read by pyarrow (flight-server)"
python3 - "$FLIGHT_PORT" <<'PY'
import json, sys
import pyarrow.compute as pc
import pyarrow.flight as flight
client = flight.FlightClient(f"grpc://127.0.0.1:{sys.argv[1]}")
options = flight.FlightCallOptions(headers=[(b"authorization", b"Bearer demo-analyst-token-not-for-production")])
table = client.do_get(flight.Ticket(json.dumps({"kind": "events"}).encode()), options).read_all()
print(table.select(["stream_sequence", "source", "entity_type", "entity_id", "operation"]).slice(0, 5))
counts = {row["values"]: row["counts"] for row in pc.value_counts(table["source"]).to_pylist()}
print(f"stage flight: {table.num_rows} rows (pg-main {counts.get('pg-main', 0)}, mysql-main {counts.get('mysql-main', 0)})")
PY
echo "(expected $events rows: pg-main $pg_events, mysql-main $maria_events)"

GATEWAY="http://127.0.0.1:${PORTS[metrics-gateway]}"
TOKEN=demo-operator-token-not-for-production
echo "=== stage 6: the status page and the admin API (metrics-gateway)"
sleep 1.5 # one refresh after the writes
"$BIN/fraiseql-observer" status --gateway "$GATEWAY" --token "$TOKEN" || true
page=$(curl -s -o /dev/null -w '%{http_code}' "$GATEWAY/")
echo "stage status-page: HTTP $page at $GATEWAY/"
echo "--- pg-bridge leader and standby, mysql-bridge:"
for service in pg-bridge pg-bridge-standby mysql-bridge; do
    curl -s "http://127.0.0.1:${PORTS[$service]}/metrics" | grep -E '^fraiseql_bridge_(events_published_total|leader)' |
        sed "s/^/$service: /" || true
done
echo
echo "status page: $GATEWAY/    admin API: curl -H 'Authorization: Bearer $TOKEN' $GATEWAY/api/v1/status"
echo "Flight: grpc://127.0.0.1:$FLIGHT_PORT (token demo-analyst-token-not-for-production)    logs: .stack/*.log"
if [[ "${DEMO_KEEP:-1}" == 1 ]]; then
    echo "the fleet keeps running: Ctrl-C (or make demo-stop) stops it"
    wait
fi
