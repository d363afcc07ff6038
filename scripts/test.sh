#!/usr/bin/env bash
# Install dependencies, build, and run every test, in three parts:
#   1. the suite (unit + integration) on the normal build (build/);
#   2. the sanitizer builds (scripts/sanitize.sh: ASan+UBSan+LSan, TSan);
#   3. a FUZZ_SECONDS (default 60) smoke run of each fuzzer (scripts/fuzz.sh).
# Each part prints how long it took; the last line ("N passed, N failed")
# counts the individual test cases of all parts, and any failure in any part
# makes the exit status non-zero.
#   scripts/test.sh              all three parts (what CI runs)
#   scripts/test.sh --sanitize   only part 2;  --fuzz: only part 3
#   scripts/test.sh NAME...      only part 1, with these meson test arguments
set -euo pipefail
cd "$(dirname "$0")/.."
parts=() meson_args=()
for a in "$@"; do
  case $a in
    --sanitize) parts+=(sanitize) ;;
    --fuzz) parts+=(fuzz) ;;
    *) meson_args+=("$a") ;;
  esac
done
if [ ${#parts[@]} -eq 0 ]; then
  if [ ${#meson_args[@]} -gt 0 ]; then parts=(suite); else parts=(suite sanitize fuzz); fi
fi

bash scripts/deps.sh --all
rc=0 logs=() timings=()
for part in "${parts[@]}"; do
  start=$SECONDS
  case $part in
    suite)
      rm -f build/meson-logs/testlog.json
      bash scripts/build.sh || { rc=1; logs+=(build/meson-logs/testlog.json); continue; }
      meson test -C build --print-errorlogs "${meson_args[@]}" || rc=1
      logs+=(build/meson-logs/testlog.json)
      ;;
    sanitize)
      bash scripts/sanitize.sh || rc=1
      for d in build-asan build-tsan; do
        logs+=("$d/meson-logs/testlog.json")
        [ ! -f "$d/meson-logs/sanitizer-reports.json" ] ||
          logs+=("$d/meson-logs/sanitizer-reports.json")
      done
      ;;
    fuzz)
      bash scripts/fuzz.sh || rc=1
      logs+=(build-fuzz/meson-logs/testlog.json)
      ;;
  esac
  timings+=("$part: $((SECONDS - start)) s")
done
echo "== time per part: $(IFS=,; echo "${timings[*]}" | sed 's/,/, /g')"
python3 scripts/count_tests.py "${logs[@]}" || rc=1
exit $rc
