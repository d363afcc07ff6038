#!/usr/bin/env python3
"""Sum individual test cases over meson test logs (GoogleTest executables
and Python unittest drivers) and print "N passed, N failed, N skipped".

With several logs (the normal suite, the sanitizer builds, the fuzz smoke
runs) each gets its own line, labelled by its build directory, and the last
line is the total. A test that meson marks failed (a sanitizer's exit status
after every case passed, a timeout, a crash) counts one failure even when
its own output counts none; a log that is missing counts one failure too."""

import json
import re
import sys
from pathlib import Path


def count(path: str) -> tuple[int, int, int]:
    passed = failed = skipped = 0
    try:
        f = open(path)
    except OSError as e:
        print(f"{path}: {e.strerror}: counted as 1 failed", file=sys.stderr)
        return 0, 1, 0
    with f:
        for line in f:
            entry = json.loads(line)
            out = (entry.get("stdout") or "") + (entry.get("stderr") or "")
            result = entry.get("result")
            ok = result == "OK"
            m = re.search(r"\[==========\] (\d+) tests? from .* ran", out)
            if m:  # GoogleTest
                total = int(m.group(1))
                f_m = re.search(r"\[  FAILED  \] (\d+) tests?, listed below", out)
                nfail = int(f_m.group(1)) if f_m else 0
                s_m = re.search(r"\[  SKIPPED \] (\d+) tests?, listed below", out)
                nskip = int(s_m.group(1)) if s_m else 0
                if result == "SKIP" and nfail == 0:
                    nskip = nskip or total  # exit 77 (SKIP) with no case listed: all skipped
                elif not ok and nfail == 0:
                    nfail = 1  # the binary failed after its cases (leak report, crash)
                    total += 1
                passed += total - nfail - nskip
                failed += nfail
                skipped += nskip
                continue
            m = re.search(r"^Ran (\d+) tests? in", out, re.M)
            if m:  # unittest
                total = int(m.group(1))
                f_m = re.search(r"FAILED \((?:failures=(\d+))?(?:, )?(?:errors=(\d+))?", out)
                nfail = sum(int(x) for x in f_m.groups() if x) if f_m else 0
                s_m = re.search(r"skipped=(\d+)", out)
                nskip = int(s_m.group(1)) if s_m else 0
                if not ok and nfail == 0:
                    nfail = 1  # the driver failed outside its cases
                    total += 1
                passed += total - nfail - nskip
                failed += nfail
                skipped += nskip
                continue
            # A driver without its own counts (the differential script, fuzz runs).
            if ok:
                passed += 1
            elif result == "SKIP":
                skipped += 1
            else:
                failed += 1
    return passed, failed, skipped


def line(p: int, f: int, s: int) -> str:
    return f"{p} passed, {f} failed, {s} skipped"


def main(paths: list[str]) -> None:
    totals = [0, 0, 0]
    for path in paths:
        c = count(path)
        totals = [a + b for a, b in zip(totals, c)]
        if len(paths) > 1:
            # build-asan/meson-logs/testlog.json -> build-asan
            label = Path(path).parent.parent.name if "meson-logs" in path else path
            print(f"{label}: {line(*c)}")
    print(line(*totals))


if __name__ == "__main__":
    main(sys.argv[1:])
