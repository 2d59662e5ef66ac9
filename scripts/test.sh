#!/usr/bin/env bash
# make test: start the local stack, run every test against it, stop the stack.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/stack.sh up
trap 'scripts/stack.sh down' EXIT
# shellcheck disable=SC1091
source .stack/env
swift build --build-tests
swift test --skip-build 2>&1 | tee .stack/test.log | grep -v '^\s*$' | grep -vE '^(◇|↳)' || true
status=${PIPESTATUS[0]}
grep -E '^(✔|✘) Test run' .stack/test.log | tail -n 1
exit "$status"
