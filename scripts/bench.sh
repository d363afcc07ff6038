#!/usr/bin/env bash
# The issue #4/#16 benchmark in one command (root, Debian 12): install the
# packages (Postfix 3.7, MariaDB, PostgreSQL, build tools), build proxyd and
# the bench tools in release mode into ./build-bench, then run
# tests/bench/bench.py, which compares real Postfix proxymap, proxyd and the
# database's own ceiling on a private MariaDB and then a private PostgreSQL.
# Extra arguments go to bench.py (e.g. --quick for a smoke run, --db pgsql
# or --db mysql for one database, --duration 20).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "scripts/bench.sh: run as root (packages, Postfix master, proxyd privilege drop)" >&2
  exit 1
fi
bash scripts/deps.sh --all
if [ ! -f build-bench/build.ninja ]; then
  meson setup build-bench -Dbuildtype=release
fi
meson compile -C build-bench -j 2 proxyd/proxyd tests/bench/proxyd-loadgen \
  tests/bench/proxyd-dbceiling
exec python3 tests/bench/bench.py --build build-bench "$@"
