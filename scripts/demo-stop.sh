#!/usr/bin/env bash
# make demo-stop: stops a fleet `make demo` left running (SIGTERM to each process, then the
# local servers). The demo's own Ctrl-C does the same.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -f .stack/demo.pids ]]; then
    while read -r pid; do kill -TERM "$pid" 2>/dev/null || true; done <.stack/demo.pids
    rm -f .stack/demo.pids
fi
scripts/stack.sh down
