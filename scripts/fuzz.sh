#!/usr/bin/env bash
# Build the libFuzzer harnesses of tests/fuzz with clang (build-fuzz:
# -Dfuzz=true, ASan+UBSan) and run each for FUZZ_SECONDS (default 60) from
# its checked-in seeds: meson suite 'fuzz'. Exit 0 = no crash anywhere.
# Long runs: tests/fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
rm -f build-fuzz/meson-logs/testlog.json
if [ ! -f build-fuzz/build.ninja ]; then
  CXX=clang++ meson setup build-fuzz -Dfuzz=true -Dtests=false \
    -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
# Only the harnesses (the daemon itself is not needed here).
targets=$(meson introspect --targets build-fuzz | python3 -c '
import json, sys
print(" ".join(t["name"] for t in json.load(sys.stdin) if t["defined_in"].endswith("/tests/fuzz/meson.build")))')
meson compile -C build-fuzz $targets >/dev/null
rc=0
meson test -C build-fuzz --no-rebuild --print-errorlogs --verbose --suite fuzz || rc=$?
echo "== fuzz: $((SECONDS - start)) s, exit $rc"
exit $rc
