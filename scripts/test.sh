#!/usr/bin/env bash
# Install dependencies, build, and run every test (unit and integration).
# Ends with one "N passed, N failed" line counting individual test cases.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --all
bash scripts/build.sh
rc=0
meson test -C build --print-errorlogs "$@" || rc=$?
python3 scripts/count_tests.py build/meson-logs/testlog.json || true
exit $rc
