"""Keeps `proxyd -h`, man/proxyd.8 and README.md in step.

Every option letter and command in the -h text must appear in the man
page's OPTIONS/COMMANDS and in the README's copy of the help text, and the
README's copy must be exactly what the binary prints.
"""

from __future__ import annotations

import re
import subprocess
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


class DocsTest(unittest.TestCase):
    def setUp(self):
        r = subprocess.run([harness.proxyd_exe(), "-h"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)
        self.help = r.stdout
        self.man = (ROOT / "man" / "proxyd.8").read_text()
        self.readme = (ROOT / "README.md").read_text()

    def test_readme_quotes_help_verbatim(self):
        self.assertIn(self.help.strip(), self.readme)

    def test_man_documents_every_option(self):
        letters = re.findall(r"^  -(\w)", self.help, re.M)
        self.assertGreater(len(letters), 3)
        for letter in letters:
            self.assertRegex(self.man, rf'\.IP "\\fB\\-{letter}', f"-{letter} missing in man page")
            synopsis = self.man.split('.SH "SYNOPSIS"')[1].split(".SH")[0]
            bundled = re.search(r"\\-(\w+)\\fR\]", synopsis).group(1)
            self.assertTrue(f"\\-{letter} " in synopsis or letter in bundled,
                            f"-{letter} not in SYNOPSIS")

    def test_man_documents_every_command(self):
        commands = re.findall(r"^  (\w+) ", self.help.split("commands:")[1], re.M)
        self.assertGreater(len(commands), 0)
        for cmd in commands:
            self.assertIn(f'.IP "\\fB{cmd}\\fR"', self.man, f"command {cmd} missing in man page")

    def test_usage_error_exit_status(self):
        r = subprocess.run([harness.proxyd_exe(), "-x"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 64)  # EX_USAGE
        self.assertIn("invalid option", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
