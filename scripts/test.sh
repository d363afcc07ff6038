#!/usr/bin/env bash
# Install dependencies, build, and run every test (unit and integration).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --all
bash scripts/build.sh
meson test -C build --print-errorlogs "$@"
