#!/usr/bin/env python3
"""Tests for scripts/count_tests.py: skipped GoogleTest and unittest cases
are reported as skipped (never as passed), failures as failed, and a test
binary that meson marks failed after its cases counts one failure."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                      "scripts", "count_tests.py")

GTEST_SKIPPED = """[==========] Running 3 tests from 1 test suite.
[ RUN      ] A.One
[       OK ] A.One (0 ms)
[ RUN      ] A.Two
x.cpp:1: Skipped
needs root
[  SKIPPED ] A.Two (0 ms)
[ RUN      ] A.Three
[       OK ] A.Three (0 ms)
[==========] 3 tests from 1 test suite ran. (1 ms total)
[  PASSED  ] 2 tests.
[  SKIPPED ] 1 test, listed below:
[  SKIPPED ] A.Two
"""

GTEST_FAILED = """[==========] 4 tests from 2 test suites ran. (1 ms total)
[  PASSED  ] 1 test.
[  SKIPPED ] 2 tests, listed below:
[  SKIPPED ] A.Two
[  SKIPPED ] A.Four
[  FAILED  ] 1 test, listed below:
[  FAILED  ] B.One
"""

UNITTEST_SKIPPED = """...s
----------------------------------------------------------------------
Ran 4 tests in 0.010s

OK (skipped=1)
"""


def run(entries):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        for e in entries:
            f.write(json.dumps(e) + "\n")
        path = f.name
    try:
        out = subprocess.run([sys.executable, SCRIPT, path], capture_output=True, text=True,
                             check=True).stdout
    finally:
        os.unlink(path)
    return out.strip().splitlines()[-1]


class CountTests(unittest.TestCase):
    def test_skipped_gtest_case_is_skipped_not_passed(self):
        self.assertEqual(run([{"result": "OK", "stdout": GTEST_SKIPPED}]),
                         "2 passed, 0 failed, 1 skipped")

    def test_failed_and_skipped_gtest_cases(self):
        self.assertEqual(run([{"result": "FAIL", "stdout": GTEST_FAILED}]),
                         "1 passed, 1 failed, 2 skipped")

    def test_skipped_unittest_case(self):
        self.assertEqual(run([{"result": "OK", "stderr": UNITTEST_SKIPPED}]),
                         "3 passed, 0 failed, 1 skipped")

    def test_binary_failing_after_its_cases_counts_one_failure(self):
        self.assertEqual(run([{"result": "FAIL", "stdout": GTEST_SKIPPED}]),
                         "2 passed, 1 failed, 1 skipped")

    def test_gtest_binary_skipped_by_exit_77_is_no_failure(self):
        out = "[==========] 2 tests from 1 test suite ran. (1 ms total)\n"
        self.assertEqual(run([{"result": "SKIP", "stdout": out}]),
                         "0 passed, 0 failed, 2 skipped")

    def test_whole_test_skipped_by_exit_77(self):
        self.assertEqual(run([{"result": "SKIP", "stdout": "needs root\n"}]),
                         "0 passed, 0 failed, 1 skipped")


if __name__ == "__main__":
    unittest.main()
