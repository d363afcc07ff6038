#!/usr/bin/env bash
# The suite under sanitizers (issue 14 item 9), each in its own build dir:
#   asan  gcc -O1 -g1, -fsanitize=address,undefined, LeakSanitizer on (build-asan):
#         the 'unit' suite and every integration test in suite 'asan';
#   tsan  clang, -fsanitize=thread (build-tsan): 'unit' and suite 'tsan'.
# A test opts in by adding the suite name in tests/meson.build. A sanitizer
# report makes the process exit 23 (tests check proxyd's exit status), the
# integration harness fails a test whose proxyd printed one
# (tests/integration/harness.py), and a report in the output of a test that
# still passed is counted as one more failure (sanitizer-reports.json).
# Usage: scripts/sanitize.sh [asan] [tsan]   (default: both). Exit 0 = clean.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# One sanitizer part: $1 = name, $2 = build dir, $3 = compiler, rest = meson options.
run_part() {
  local name=$1 dir=$2 cxx=$3
  shift 3
  local start=$SECONDS rc=0
  # Called in an || list, so set -e does not apply here: check each step.
  rm -f "$dir/meson-logs/testlog.json" "$dir/meson-logs/sanitizer-reports.json"
  if [ ! -f "$dir/build.ninja" ]; then
    CXX=$cxx meson setup "$dir" -Db_lundef=false "$@" >/dev/null || return 1
  else
    meson configure "$dir" -Db_lundef=false "$@" >/dev/null || return 1
  fi
  meson compile -C "$dir" >/dev/null || { echo "== $name: build failed"; return 1; }
  local built=$SECONDS
  # meson test keeps these when set (it would otherwise add abort_on_error).
  # No log_path: a proxyd that chroots could not open it (and LeakSanitizer
  # hangs when that happens); reports go to stderr, which tests capture.
  local common="halt_on_error=1:exitcode=23"
  export ASAN_OPTIONS="$common:detect_leaks=1:abort_on_error=0"
  export UBSAN_OPTIONS="$common:print_stacktrace=1"
  export LSAN_OPTIONS="suppressions=$root/tests/sanitizers/lsan.supp:print_suppressions=0"
  export TSAN_OPTIONS="$common:second_deadlock_stack=1:suppressions=$root/tests/sanitizers/tsan.supp"
  export ASAN_SYMBOLIZER_PATH=/usr/bin/llvm-symbolizer
  meson test -C "$dir" --no-rebuild --print-errorlogs --timeout-multiplier 4 \
    --suite unit --suite "$name" || rc=$?
  unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS TSAN_OPTIONS
  # A report in the output of a test that passed anyway: one more failure,
  # in a log of its own for count_tests.py.
  local extra="$dir/meson-logs/sanitizer-reports.json"
  if ! python3 - "$dir/meson-logs/testlog.json" "$extra" <<'PY'
import json, sys
sys.path.insert(0, "tests/integration")
from harness import SANITIZER_MARKERS
found = []
try:
    entries = [json.loads(l) for l in open(sys.argv[1])]
except OSError:
    entries = []
for e in entries:
    out = (e.get("stdout") or "") + (e.get("stderr") or "")
    if e.get("result") == "OK" and any(m in out for m in SANITIZER_MARKERS):
        found.append(e["name"])
if found:
    print("sanitizer reports in the output of passing tests:", ", ".join(found))
    with open(sys.argv[2], "w") as f:
        for name in found:
            f.write(json.dumps({"name": name + " (sanitizer report)", "result": "FAIL"}) + "\n")
    sys.exit(1)
PY
  then
    rc=1
  fi
  echo "== $name: $((SECONDS - start)) s (build $((built - start)) s," \
    "tests $((SECONDS - built)) s), exit $rc"
  return $rc
}

parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(asan tsan)
rc=0
for part in "${parts[@]}"; do
  case $part in
    # -O1 -g1, not the project's -O2 -g: g++ with -fsanitize=undefined
    # spends most of this build on the gtest files (CI: 2216 s of compile
    # jobs for tests/ against 374 s in the normal build). tests/unit/
    # redact_test.cpp under ASan+UBSan, compiled in pairs side by side on a
    # loaded machine (so noisy): -O2 -g 289 s / -O1 -g 227 s, and
    # -O2 -g1 338 s / -O1 -g1 191 s: -O1 saves a fifth to two fifths. -O1 is what the
    # ASan documentation recommends and detects at least as much
    # (optimization only removes code a check watches); -g1 keeps the line
    # tables, so reports still name file:line, and drops only the
    # variable-location info no report prints.
    asan) run_part asan build-asan g++ -Db_sanitize=address,undefined -Doptimization=1 \
      -Dcpp_args=-g1 || rc=1 ;;
    tsan) run_part tsan build-tsan clang++ -Db_sanitize=thread || rc=1 ;;
    *) echo "scripts/sanitize.sh: unknown part '$part' (asan, tsan)" >&2; exit 2 ;;
  esac
done
exit $rc
