#!/usr/bin/env python3
"""The sanitizer runs can fail (scripts/sanitize.sh, sanitizer builds only):
a canary with one deliberate bug per kind must exit non-zero (23 under
scripts/sanitize.sh, an abort under plain meson test) and be caught by the integration harness's output check. If
any of these passes silently, a sanitizer run proves nothing.

usage: test_canary.py CANARY (SANITIZE = meson's b_sanitize value)"""

import os
import subprocess
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import harness  # noqa: E402

CANARY = ""
KINDS = {"address": ["leak", "overflow"], "undefined": ["undefined"], "thread": ["race"]}


class CanaryTest(unittest.TestCase):
    def run_canary(self, mode: str) -> None:
        r = subprocess.run([CANARY, mode], capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0, f"{mode}: exit 0, stderr: {r.stderr[-2000:]}")
        with self.assertRaises(AssertionError, msg=f"{mode}: report not recognised"):
            harness.check_sanitizer_output(r.stderr, "canary")

    def test_every_enabled_sanitizer_fails_the_run(self):
        enabled = os.environ["SANITIZE"].split(",")
        modes = [m for kind in enabled for m in KINDS.get(kind, [])]
        self.assertTrue(modes, f"no canary for b_sanitize={enabled}")
        for mode in modes:
            with self.subTest(mode=mode):
                self.run_canary(mode)

    def test_clean_output_passes(self):
        harness.check_sanitizer_output("proxyd[1]: warning: runtime: fine\n")


if __name__ == "__main__":
    CANARY = sys.argv.pop(1)
    unittest.main()
