# shellcheck shell=bash
# Shared by the scripts/bench-*.sh scripts (sourced from the repository root, after the builds).

# bench_stack_up: writes out the build's dirty pages, starts the local stack and sets its URLs
# (.stack/env), BIN (the release binaries), workdir (a temporary directory) and pids (background
# processes); at exit the processes are killed, the stack stopped and workdir removed.
bench_stack_up() {
    # Now, not while JetStream and PostgreSQL are being measured.
    sync
    scripts/stack.sh up
    workdir=$(mktemp -d)
    pids=()
    trap bench_cleanup EXIT
    # shellcheck disable=SC1091
    source .stack/env
    # BENCH_BIN: the binaries of another build, to compare; the scripts then build nothing (default:
    # this checkout's release build).
    # shellcheck disable=SC2034 # used by the scripts that source this file
    BIN=${BENCH_BIN:-$(swift build -c release --show-bin-path)}
}

bench_cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    scripts/stack.sh down
    rm -rf "$workdir"
}

# A free TCP port on 127.0.0.1.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The median of the numbers on stdin, one per line.
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
