#!/usr/bin/env bash
# make fuzz: libFuzzer with AddressSanitizer on the fleet's parsers of outside input
# (Fuzz/FuzzTargets/FuzzEntry.swift): the event decoder, the condition language, the template
# renderer, the configuration loader and the RESP reply parser. Each target runs FUZZ_SECONDS
# (default 60) from its committed seeds (Fuzz/corpus/<target>); FUZZ_TARGETS picks targets.
# A crash, a sanitizer report or an input slower than 10 s fails the run and leaves the input in
# .fuzz/findings/ (each finding becomes a regression test). CI runs FUZZ_SECONDS=10.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-event-decoder condition template config resp}
# Its own build directory by default (the sanitizer flags would rebuild every module of .build);
# CI, which builds nothing after, passes FUZZ_SCRATCH=.build to reuse the compiled C libraries.
build=(swift build --scratch-path "${FUZZ_SCRATCH:-.build-fuzz}" --product fraiseql-fuzz
    -Xswiftc "-sanitize=fuzzer,address" -Xswiftc -parse-as-library)
FRAISEQL_FUZZ=1 "${build[@]}" 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]|prohibited flag|unhandled; explicitly declare' || true
binary="$(FRAISEQL_FUZZ=1 "${build[@]}" --show-bin-path)/fraiseql-fuzz"
test -x "$binary" || { echo "fuzz: the harness did not build" >&2; exit 1; }
mkdir -p .fuzz/findings
status=0
echo "--- libFuzzer, ${seconds} s per target ($(date -u +%Y-%m-%d), FUZZ_SECONDS=$seconds make fuzz)"
for target in $targets; do
    work=$(mktemp -d)
    log=".fuzz/$target.log"
    extra=()
    asan=""
    # TOMLKit 0.6.0 (a dependency) leaks the strings and key lists its C++ layer returns: a few
    # hundred bytes per configuration load, once per process (docs/security.md). Leak checks off
    # for that target only.
    if [[ $target == config ]]; then extra+=(-detect_leaks=0); asan="detect_leaks=0"; fi
    if ! ASAN_OPTIONS=$asan FRAISEQL_FUZZ_TARGET=$target "$binary" "$work" "Fuzz/corpus/$target" -max_total_time="$seconds" \
        -timeout=10 -rss_limit_mb=2048 -max_len=65536 -artifact_prefix=".fuzz/findings/$target-" \
        -print_final_stats=1 "${extra[@]}" >"$log" 2>&1; then
        status=1
        echo "FINDING in $target (input in .fuzz/findings/, log $log):"
        grep -E 'ERROR|Fatal error|SUMMARY|==[0-9]+==' "$log" | head -20 || tail -20 "$log"
    fi
    runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -n 1 || echo "?")
    coverage=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 | grep -oE '[0-9]+' || echo "?")
    printf '%-14s %10s executions, %5s coverage points, %4s new corpus inputs\n' \
        "$target" "$runs" "$coverage" "$(find "$work" -type f | wc -l)"
    rm -rf "$work"
done
exit $status
