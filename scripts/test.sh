#!/usr/bin/env bash
# make test: start the local stack, run every test against it, stop the stack.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/stack.sh up
trap 'scripts/stack.sh down' EXIT
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
set -e
# Results without the per-test "started" chatter; the summary lines last.
grep -vE '^\s*$|(◇|↳)|started\.$' "$log" || true
rm -f "$log"
if ((status != 0 || processes != 0)); then exit 1; fi
