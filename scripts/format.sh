#!/usr/bin/env bash
# Apply .clang-format to every C++ source (the `format` test checks it).
set -euo pipefail
cd "$(dirname "$0")/.."
find protocol dictcore proxyd tests -name '*.cpp' -o -name '*.h' | sort |
  xargs clang-format -i
echo "scripts/format.sh: formatted $(find protocol dictcore proxyd tests -name '*.cpp' -o -name '*.h' | wc -l) files"
