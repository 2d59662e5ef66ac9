#!/usr/bin/env bash
# make bench-flight: flight-server on the local stack, in one run on the same servers:
#   events   ROWS events streamed by DoGet from JetStream to a pyarrow client: rows/s, MB/s (Arrow
#            in the client's memory), flight-server's peak RSS
#   raw      the same stream read by an ordered consumer in C over libnats (the ceiling)
#   view     a ROWS-row PostgreSQL view streamed by DoGet (from the call to the last row at the client)
#   peer     the same view through what a Python user would write instead: psycopg reads it into a
#            pyarrow Table that a pyarrow Flight server serves (same client, same measure)
#   adbc     the same view read directly by adbc-driver-postgresql (no server: the fastest path)
#   slow     flight-server's RSS while a client reads the events at a tenth of the events rate
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${BENCH_ROWS:-1000000}
SLOW_SECONDS=${BENCH_SLOW_SECONDS:-15}

python3 -m pip install -q pyarrow "psycopg[binary]" adbc-driver-postgresql 2>/dev/null \
    || python3 -m pip install -q --break-system-packages pyarrow "psycopg[binary]" adbc-driver-postgresql
[ -n "${BENCH_BIN:-}" ] || for product in flight-server fraiseql-bench; do swift build -c release --product "$product"; done
mkdir -p bench/bin
# shellcheck disable=SC2046 # pkg-config's flags are several words
gcc -O2 -o bench/bin/nats_raw_ordered bench/nats_raw_ordered.c $(pkg-config --cflags --libs libnats)
# shellcheck source=scripts/lib/bench.sh
source scripts/lib/bench.sh
bench_stack_up

TOKEN=bench-token-0123456789
"$BIN/fraiseql-bench" worker-fill "$NATS_URL" BENCH_FLIGHT bench.flight "$ROWS" 2>/dev/null
psql -q "$POSTGRES_URL" <<SQL
CREATE TABLE bench_orders AS
  SELECT g::bigint AS id, 'customer-' || (g % 1000) AS customer, ((g % 100000) / 100.0)::numeric(10,2) AS total,
         timestamptz '2026-01-01' + g * interval '1 second' AS placed_at,
         CASE WHEN g % 3 = 0 THEN 'paid' ELSE 'pending' END AS status
    FROM generate_series(1, $ROWS) AS g;
CREATE VIEW va_bench AS SELECT id, customer, total, placed_at, status FROM bench_orders;
SQL
port=$(free_port)
ops=$(free_port)
cat >"$workdir/flight.toml" <<TOML
[nats]
url = "$NATS_URL"
subject_prefix = "bench.flight"
[nats.stream]
name = "BENCH_FLIGHT"
[flight]
listen = "127.0.0.1:$port"
token = "$TOKEN"
views_url = "$POSTGRES_URL"
[flight.limits]
concurrent_streams = 64
TOML
FRAISEQL_METRICS_LISTEN=127.0.0.1:$ops "$BIN/flight-server" --config "$workdir/flight.toml" >"$workdir/flight.log" 2>&1 &
server=$!
pids+=("$server")
for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$ops/health/ready" >/dev/null && break; sleep 0.1; done
location="grpc://127.0.0.1:$port"
rss() { awk -v key="$1:" '$1 == key { printf "%.0f", $2 / 1024 }' "/proc/$2/status"; }

# (a) events, and the raw ordered-consume rate of the same stream.
raws=(); events=(); megabytes=()
for _ in 1 2 3; do
    raws+=("$(bench/bin/nats_raw_ordered "$NATS_URL" 'bench.flight.>' "$ROWS")")
    read -r rows seconds size < <(python3 bench/flight_bench.py read "$location" "$TOKEN" '{"kind":"events"}')
    [ "$rows" = "$ROWS" ] || { echo "events: read $rows rows, not $ROWS" >&2; exit 1; }
    events+=("$(echo "$rows / $seconds" | bc)")
    megabytes+=("$(echo "scale=1; $size / $seconds / 1000000" | bc)")
done
raw=$(printf '%s\n' "${raws[@]}" | median)
event_rate=$(printf '%s\n' "${events[@]}" | median)
event_mb=$(printf '%s\n' "${megabytes[@]}" | median)
events_peak=$(rss VmHWM "$server")

# (b) the view through flight-server, through the Python peer, and through ADBC directly.
peer_port=$(free_port)
python3 bench/flight_bench.py peer-server "$peer_port" "$POSTGRES_URL" >"$workdir/peer.log" 2>&1 &
peer=$!
pids+=("$peer")
sleep 2
views=(); peers=(); adbcs=()
for _ in 1 2 3; do
    read -r rows seconds _ < <(python3 bench/flight_bench.py read "$location" "$TOKEN" '{"kind":"view","name":"va_bench"}')
    [ "$rows" = "$ROWS" ] || { echo "view: read $rows rows, not $ROWS" >&2; exit 1; }
    views+=("$seconds")
    read -r rows seconds _ < <(python3 bench/flight_bench.py read "grpc://127.0.0.1:$peer_port" "" 'SELECT * FROM va_bench')
    peers+=("$seconds")
    read -r rows seconds < <(python3 bench/flight_bench.py adbc "$POSTGRES_URL" 'SELECT * FROM va_bench')
    adbcs+=("$seconds")
done
view=$(printf '%s\n' "${views[@]}" | median)
peer_seconds=$(printf '%s\n' "${peers[@]}" | median)
adbc_seconds=$(printf '%s\n' "${adbcs[@]}" | median)
peer_rss=$(rss VmHWM "$peer")
view_peak=$(rss VmHWM "$server")

# (c) a client at a tenth of the events rate: the server must wait, not buffer.
slow_rate=$((event_rate / 10))
python3 bench/flight_bench.py slow "$location" "$TOKEN" '{"kind":"events"}' "$slow_rate" "$SLOW_SECONDS" >"$workdir/slow.out" &
slow=$!
slow_max=0
while kill -0 "$slow" 2>/dev/null; do
    now=$(rss VmRSS "$server")
    ((now > slow_max)) && slow_max=$now
    sleep 0.2
done
slow_rows=$(cat "$workdir/slow.out")

echo
echo "events $event_rate rows/s, $event_mb MB/s (median of 3: ${events[*]}; $ROWS events by DoGet to pyarrow; $(echo "100*$event_rate/$raw" | bc)% of raw); flight-server peak RSS $events_peak MB"
echo "raw $raw events/s (median of 3: ${raws[*]}; bench/nats_raw_ordered.c: ordered consumer in C over libnats, same stream)"
echo "view $(echo "$ROWS / $view" | bc) rows/s, ${view}s (median of 3: ${views[*]}; $ROWS-row view, call to last row at the client; $(echo "scale=1; $peer_seconds / $view" | bc)x the Python peer, $(echo "100*$adbc_seconds/$view" | bc)% of ADBC's rate); flight-server peak RSS $view_peak MB"
echo "peer $(echo "$ROWS / $peer_seconds" | bc) rows/s, ${peer_seconds}s (median of 3: ${peers[*]}; bench/flight_bench.py peer-server: psycopg → pyarrow Table → pyarrow Flight server; its peak RSS $peer_rss MB)"
echo "adbc $(echo "$ROWS / $adbc_seconds" | bc) rows/s, ${adbc_seconds}s (median of 3: ${adbcs[*]}; adbc-driver-postgresql fetch_arrow_table, no server)"
echo "slow flight-server RSS at most $slow_max MB while a client read $slow_rows events at $slow_rate rows/s for ${SLOW_SECONDS}s"
echo "command: make bench-flight (BENCH_ROWS=$ROWS, BENCH_SLOW_SECONDS=$SLOW_SECONDS)"
