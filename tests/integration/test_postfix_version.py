#!/usr/bin/env python3
"""proxyd follows the Postfix release installed beside it (proxyd.cf:
postfix_version = auto) where releases read a pgsql table differently, and a
stated release when proxyd.cf names one.

Against a private PostgreSQL with a UTF8 database, the same .cf files are
looked up directly by Debian's postmap (the oracle, 3.7.11 here) and through
proxy: with proxyd under "auto", which must answer what the direct lookup
answers; then proxyd runs with "postfix_version = 3.11.6" and must answer as
3.8+ would (UTF8 client encoding, dbname optional for URI hosts, the
retry_interval line read). Standard library only; run by meson as the
'postfix_version' test.
"""

from __future__ import annotations

import subprocess
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dbservers  # noqa: E402
import harness  # noqa: E402

PASSWORD = "vt-secret-7"
KEY = "josé@example.com"


def installed_version() -> str:
    return subprocess.run(["postconf", "-dh", "mail_version"], capture_output=True,
                          text=True, check=True).stdout.strip()


class PostfixVersionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = dbservers.PostgreSQL().start()
        cls.pg.create_database("vt")
        cls.pg.sql("CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT);"
                   f"INSERT INTO t VALUES ('{KEY}', 'utf8-hit'), ('plain@example.com', 'plain');",
                   "vt")
        cls.pg.create_user("vtuser", PASSWORD, ("vt",))
        cls.pg.sql("GRANT SELECT ON t TO vtuser;", "vt")
        tcp = f"127.0.0.1:{cls.pg.port}"
        cls.scratch = harness.Scratch(prefix="pxv")
        common = "query = SELECT v FROM t WHERE k='%s'\n"
        cls.tables = {
            # No encoding line: 3.7 talks LATIN1, 3.8+ UTF8.
            "plain": cls.scratch.write("plain.cf", f"hosts = {tcp}\nuser = vtuser\n"
                                       f"password = {PASSWORD}\ndbname = vt\n" + common),
            # A URI and no dbname: 3.7-3.9 refuse the table, 3.10+ serve it.
            "uri": cls.scratch.write("uri.cf", f"hosts = postgresql://vtuser:{PASSWORD}@{tcp}/vt\n"
                                     + common),
            # retry_interval = 0: 3.9+ refuse it, 3.7 does not read the line.
            "retry0": cls.scratch.write("retry0.cf", f"hosts = {tcp}\nuser = vtuser\n"
                                        f"password = {PASSWORD}\ndbname = vt\n"
                                        "retry_interval = 0\n" + common),
        }
        for p in cls.tables.values():
            p.chmod(0o644)
        allow = " ".join(f"proxy:pgsql:{p}" for p in cls.tables.values())
        cls.scratch.write_main_cf("maillog_file_prefixes = /var, /dev/stdout, /dev/stderr\n"
                                  f"proxy_read_maps = {allow}\n")

    @classmethod
    def tearDownClass(cls):
        cls.scratch.__exit__(None, None, None)
        cls.pg.stop()

    def answer(self, table: str, key: str, proxied: bool) -> tuple[int, bytes, bytes]:
        name = f"pgsql:{self.tables[table]}"
        r = harness.postmap_one(self.scratch, f"proxy:{name}" if proxied else name, key)
        return r.returncode, r.stdout, r.stderr

    def run_proxyd(self, proxyd_cf: str) -> harness.Proxyd:
        (self.scratch.config_dir / "proxyd.cf").write_text(proxyd_cf)
        return harness.Proxyd(self.scratch).start()

    def test_auto_follows_the_installed_release(self):
        version = installed_version()
        if not version.startswith("3.7."):
            self.fail(f"this test's oracle is Debian 12's Postfix 3.7; found {version}")
        proxyd = self.run_proxyd("")
        try:
            for key in (KEY, "plain@example.com"):
                direct = self.answer("plain", key, proxied=False)
                proxied = self.answer("plain", key, proxied=True)
                self.assertEqual(proxied[:2], direct[:2], key)
            # 3.7's LATIN1 client encoding: the UTF-8 key is not found.
            self.assertEqual(self.answer("plain", KEY, proxied=True)[:2], (1, b""))
            self.assertEqual(self.answer("plain", "plain@example.com", proxied=True)[:2],
                             (0, b"plain\n"))
            # retry_interval is not read by 3.7: the table answers like the direct one.
            self.assertEqual(self.answer("retry0", "plain@example.com", proxied=True)[:2],
                             self.answer("retry0", "plain@example.com", proxied=False)[:2])
            self.assertEqual(self.answer("retry0", "plain@example.com", proxied=True)[:2],
                             (0, b"plain\n"))
            # A URI host without dbname: 3.7 refuses the table, directly and through proxyd.
            direct = self.answer("uri", "plain@example.com", proxied=False)
            self.assertNotEqual(direct[0], 0)
            self.assertIn(b"bad string length 0 < 1: dbname", direct[2])
            proxied = self.answer("uri", "plain@example.com", proxied=True)
            self.assertNotEqual(proxied[0], 0, proxied)
            self.assertEqual(proxied[1], b"")
            log = proxyd.log()
            self.assertIn(f"table semantics of Postfix {version}, the installed release", log)
            self.assertIn("bad string length 0 < 1: dbname", log)
        finally:
            self.assertEqual(proxyd.stop(), 0, proxyd.log())

    def test_a_stated_newer_release_is_followed(self):
        proxyd = self.run_proxyd("postfix_version = 3.11.6\n")
        try:
            # UTF8 client encoding (3.8+): the UTF-8 key is found.
            self.assertEqual(self.answer("plain", KEY, proxied=True)[:2], (0, b"utf8-hit\n"))
            # dbname optional for URI hosts (3.10+).
            self.assertEqual(self.answer("uri", "plain@example.com", proxied=True)[:2],
                             (0, b"plain\n"))
            # retry_interval = 0 is refused (3.9+): the table fails, no answer.
            code, out, _ = self.answer("retry0", "plain@example.com", proxied=True)
            self.assertNotEqual(code, 0)
            self.assertEqual(out, b"")
            self.assertIn("table semantics of Postfix 3.11.6 (proxyd.cf: postfix_version = 3.11.6)",
                          proxyd.log())
        finally:
            self.assertEqual(proxyd.stop(), 0, proxyd.log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
