#!/usr/bin/env bash
# make e2e: the fleet end to end under faults (Tests/EndToEnd). Every scenario starts its own
# PostgreSQL, NATS, Redis and SMTP servers and the service binaries as processes; the local
# stack is started only for the tools' paths (.stack/env). Prints one summary line per scenario.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/stack.sh up
trap 'scripts/stack.sh down' EXIT
# shellcheck disable=SC1091
source .stack/env
swift build --build-tests
log=$(mktemp)
set +e
swift test --skip-build --filter "${E2E_FILTER:-EndToEndScenarios}" --no-parallel >"$log" 2>&1
status=$?
set -e
grep -vE '^\s*$|(◇|↳)|started\.$' "$log" || true
echo "--- scenario summaries"
grep -E '^e2e ' "$log" || true
rm -f "$log"
exit $status
