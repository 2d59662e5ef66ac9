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
swift test --skip-build >"$log" 2>&1
status=$?
set -e
# Results without the per-test "started" chatter; the summary line last.
grep -vE '^\s*$|(◇|↳)|started\.$' "$log" || true
rm -f "$log"
exit "$status"
