#!/usr/bin/env python3
"""Sum individual test cases over a meson test log (GoogleTest executables
and Python unittest drivers) and print "N passed, N failed, N skipped"."""

import json
import re
import sys


def main(path: str) -> None:
    passed = failed = skipped = 0
    with open(path) as f:
        for line in f:
            entry = json.loads(line)
            out = (entry.get("stdout") or "") + (entry.get("stderr") or "")
            ok = entry.get("result") == "OK"
            m = re.search(r"\[==========\] (\d+) tests? from .* ran", out)
            if m:  # GoogleTest
                total = int(m.group(1))
                f_m = re.search(r"\[  FAILED  \] (\d+) tests?, listed below", out)
                nfail = int(f_m.group(1)) if f_m else 0
                passed += total - nfail
                failed += nfail
                continue
            m = re.search(r"^Ran (\d+) tests? in", out, re.M)
            if m:  # unittest
                total = int(m.group(1))
                f_m = re.search(r"FAILED \((?:failures=(\d+))?(?:, )?(?:errors=(\d+))?", out)
                nfail = sum(int(x) for x in f_m.groups() if x) if f_m else 0
                s_m = re.search(r"skipped=(\d+)", out)
                nskip = int(s_m.group(1)) if s_m else 0
                passed += total - nfail - nskip
                failed += nfail
                skipped += nskip
                continue
            # A driver without its own counts (the differential script).
            if ok:
                passed += 1
            else:
                failed += 1
    print(f"{passed} passed, {failed} failed, {skipped} skipped")


if __name__ == "__main__":
    main(sys.argv[1])
