"""Keeps `proxyd -h`, man/proxyd.8, man/proxyd.cf.5, README.md and
packaging/proxyd.cf.example in step.

Every option letter and command in the -h text must appear in the man
page's OPTIONS/COMMANDS and in the README's copy of the help text, and the
README's copy must be exactly what the binary prints. Every proxyd.cf
setting that -h lists (generated from setting_table()) must have a
proxyd.cf(5) entry with the same default and a commented line with that
default in the example proxyd.cf, and neither may document a setting that
no longer exists.
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
        self.cf_man = (ROOT / "man" / "proxyd.cf.5").read_text()
        self.example = (ROOT / "packaging" / "proxyd.cf.example").read_text()

    def section(self, title: str) -> str:
        """The lines of one -h section (after "title:" up to a blank line)."""
        return self.help.split(title, 1)[1].split("\n\n", 1)[0]

    def settings(self) -> list[tuple[str, str]]:
        # An empty default shows as "name =" in -h, "(default: empty)" in the man page.
        found = re.findall(r"^  (\w+) =(?: (\S+))?", self.section("proxyd.cf settings"), re.M)
        self.assertGreaterEqual(len(found), 5)
        return found

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
        commands = re.findall(r"^  (\w+) ", self.section("commands:"), re.M)
        self.assertIn("check", commands)
        self.assertGreater(len(commands), 0)
        for cmd in commands:
            self.assertIn(f'.IP "\\fB{cmd}\\fR"', self.man, f"command {cmd} missing in man page")

    def test_cf_man_documents_every_setting_with_its_default(self):
        for name, default in self.settings():
            shown = default or "empty"
            self.assertTrue(f'.SH "{name} (default: {shown})"' in self.cf_man,
                            f"proxyd.cf(5) lacks {name} with default {default}")
        documented = re.findall(r'^\.SH "(\w+) \(default:', self.cf_man, re.M)
        self.assertEqual(sorted(documented), sorted(n for n, _ in self.settings()),
                         "proxyd.cf(5) documents a setting proxyd does not have")

    def test_example_config_lists_every_setting_with_its_default(self):
        for name, default in self.settings():
            self.assertTrue(re.search(rf"(?m)^#{name} ={re.escape(' ' + default if default else '')}$",
                                      self.example),
                            f"proxyd.cf.example lacks #{name} = {default}")
        listed = re.findall(r"^#(\w+) =(?: |$)", self.example, re.M)
        self.assertEqual(sorted(listed), sorted(n for n, _ in self.settings()))

    def test_man_pages_refer_to_each_other(self):
        self.assertIn("proxyd.cf(5)", self.man)
        self.assertIn("proxyd(8)", self.cf_man)

    def test_master_cf_lines_agree(self):
        # Issue 13 item 7: README, proxyd(8) and packaging/README.md give one
        # recommended master.cf line per layout (chroot column included).
        def lines(text: str) -> set[tuple[str, ...]]:
            found = set()
            for line in text.split("\n"):
                f = line.split()
                if len(f) == 8 and f[1] == "unix" and f[7] == "proxyd":
                    found.add(tuple(f))
            return found
        docs = {"README.md": self.readme, "man/proxyd.8": self.man,
                "packaging/README.md": (ROOT / "packaging" / "README.md").read_text()}
        found = {name: lines(text) for name, text in docs.items()}
        self.assertTrue(found["README.md"], "no master.cf line in README.md")
        for name, got in found.items():
            self.assertEqual(got, found["README.md"], name)

    def test_usage_error_exit_status(self):
        r = subprocess.run([harness.proxyd_exe(), "-x"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 64)  # EX_USAGE
        self.assertIn("invalid option", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
