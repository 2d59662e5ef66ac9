#!/usr/bin/env bash
# make bench-mysql-bridge: mysql-bridge on the local stack's MariaDB, in one run on the same servers:
#   drain trigger   a backlog of ROWS rows (1,000 per transaction) drained from the change log
#   drain binlog    the same backlog read from the row-based binlog
#   ceiling         raw JetStream async publish of the same number of messages of the same size (C over libnats)
#   peer            PyPI mysql-replication reading the same binlog from the same position, publishing with nats-py
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${BENCH_ROWS:-200000}

python3 -m pip install -q mysql-replication nats-py 2>/dev/null || python3 -m pip install -q --break-system-packages mysql-replication nats-py
[ -n "${BENCH_BIN:-}" ] || swift build -c release --product fraiseql-bench
mkdir -p bench/bin
# shellcheck disable=SC2046 # pkg-config's flags are several words
gcc -O2 -o bench/bin/nats_raw_pub bench/nats_raw_pub.c $(pkg-config --cflags --libs libnats)
# shellcheck source=scripts/lib/bench.sh
source scripts/lib/bench.sh
bench_stack_up

runs() {  # mode → the median events/s of 3 drains; sets payload, database, file, position of the last
    local mode=$1 results=()
    for _ in 1 2 3; do
        read -r one payload database file position < <("$BIN/fraiseql-bench" mysql-drain "$MYSQL_URL" "$NATS_URL" "$ROWS" "$mode" 2>/dev/null)
        results+=("$one")
    done
    printf '%s\n' "${results[@]}" | median
    echo "${results[*]}" >"$workdir/$mode.runs"
    echo "$payload $database $file $position" >"$workdir/$mode.last"
}
trigger=$(runs trigger)
binlog=$(runs binlog)
read -r payload database file position <"$workdir/binlog.last"
ceiling=$(bench/bin/nats_raw_pub "$NATS_URL" BENCH_CEILING bench.ceiling.x.insert "$ROWS" "${payload%.*}" 2>/dev/null)
# The peer reads the binlog the last binlog drain read, from the same position, on the same servers.
peer=$(for _ in 1 2 3; do python3 bench/mysql_binlog_relay.py "$MYSQL_URL" "$NATS_URL" "$database" "$file" "$position" "$ROWS"; done | median)

echo
echo "drain trigger $trigger events/s (median of 3: $(cat "$workdir/trigger.runs"); $ROWS-row backlog, 1,000 rows per transaction)"
echo "drain binlog $binlog events/s (median of 3: $(cat "$workdir/binlog.runs"); mean message ${payload%.*} B; $(echo "scale=1; $binlog/$peer" | bc)x the Python peer)"
echo "ceiling $ceiling events/s (bench/nats_raw_pub.c: libnats async publish, same count and size; trigger $(echo "100*$trigger/$ceiling" | bc)%, binlog $(echo "100*$binlog/$ceiling" | bc)%)"
echo "peer $peer events/s (median of 3; bench/mysql_binlog_relay.py: mysql-replication + nats-py, same binlog and position)"
echo "command: make bench-mysql-bridge (BENCH_ROWS=$ROWS)"
