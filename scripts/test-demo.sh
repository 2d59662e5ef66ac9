#!/usr/bin/env bash
# The demo as a test: runs `make demo`'s script non-interactively (DEMO_KEEP=0) and checks each
# stage's line against what it expected (figures the demo computed from the applications' own
# tables, the receiver's log and pyarrow's read). Exit 1 naming the stage that fell short.
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
DEMO_KEEP=0 scripts/demo.sh >"$log" 2>&1 || status=$?
grep -E '^(===|stage )' "$log" || true
python3 - "$log" "$status" <<'PY'
import re
import sys

text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
problems = []
if sys.argv[2] != "0":
    problems.append(f"scripts/demo.sh exited {sys.argv[2]}:\n" + "\n".join(text.splitlines()[-30:]))


def stage(name: str, pattern: str):
    match = re.search(rf"^stage {name}: {pattern}", text, re.MULTILINE)
    if not match:
        problems.append(f"stage {name}: no line matching '{pattern}'")
    return match


if m := stage("events", r"(\d+) in the stream, expected (\d+) \((\d+) from PostgreSQL, (\d+) from MariaDB\)"):
    found, expected, pg, maria = map(int, m.groups())
    if found != expected or expected != pg + maria or pg == 0 or maria == 0:
        problems.append(f"stage events: {m.group(0)}")
if m := stage("webhooks", r"(\d+) received, (\d+) verified, expected (\d+)"):
    received, verified, expected = map(int, m.groups())
    if not (received == verified == expected > 0):
        problems.append(f"stage webhooks: {m.group(0)}")
if m := stage("jobs", r"(\d+) receipts delivered, expected (\d+)"):
    if int(m.group(1)) != int(m.group(2)) or int(m.group(2)) == 0:
        problems.append(f"stage jobs: {m.group(0)}")
if m := stage("audit", r"(\d+) entries, expected (\d+)"):
    if int(m.group(1)) != int(m.group(2)):
        problems.append(f"stage audit: {m.group(0)}")
if (m := stage("flight", r"(\d+) rows \(pg-main (\d+), mysql-main (\d+)\)")) and (
    e := re.search(r"^stage events: \d+ in the stream, expected (\d+) \((\d+) from PostgreSQL, (\d+) from MariaDB\)",
                   text, re.MULTILINE)):
    if tuple(map(int, m.groups())) != tuple(map(int, e.groups())):
        problems.append(f"stage flight: {m.group(0)} but the stream holds {e.group(0)}")
if m := stage("status-page", r"HTTP (\d+) at (\S+)"):
    if m.group(1) != "200":
        problems.append(f"stage status-page: {m.group(0)}")
if problems:
    print("test-demo: FAILED\n" + "\n".join(problems))
    sys.exit(1)
print("test-demo: every stage showed what the applications' tables say it must")
PY
