#!/usr/bin/env python3
"""proxyd follows the Postfix release installed beside it (proxyd.cf:
postfix_version = auto) where releases read a pgsql table differently, and a
stated release when proxyd.cf names one.

Against a private PostgreSQL with a UTF8 database, the same .cf files are
looked up directly by Debian's postmap (the oracle, 3.7.11 here) and through
proxy: with proxyd under "auto", which must answer what the direct lookup
answers; then proxyd runs with "postfix_version = 3.11.6" and must answer as
3.8+ would (UTF8 client encoding, dbname optional for URI hosts, the
retry_interval line read). The same for a private MariaDB and the mysql
"charset" line (3.9+; Debian's 3.7 does not read it and talks utf8mb4, the
library default), and for the default proxy_read_maps (3.11 lists 25 more
parameters: a table named only in authorized_submit_users is refused by a
3.7 proxymap). With no postconf where command_directory points, proxyd
follows the newest release. texthash: and sqlite: tables (no server) follow
the release too: 3.11's ASCII-only stored keys and the 3.9/3.11 warnings.
Standard library only; run by meson as the 'postfix_version' test.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dbservers  # noqa: E402
import harness  # noqa: E402

PASSWORD = "vt-secret-7"
KEY = "josé@example.com"
# What the mysql session reports: client and results character sets.
CHARSET_QUERY = ("query = SELECT CONCAT(@@character_set_client, '/', "
                 "@@character_set_results, '/', '%s')\n")


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
        cls.my = dbservers.MariaDB().start()
        cls.my.create_database("vt")
        cls.my.create_user("vtuser", PASSWORD, ("vt",))
        mysql = f"hosts = 127.0.0.1:{cls.my.port}\nuser = vtuser\npassword = {PASSWORD}\ndbname = vt\n"
        # charset = latin1: read from 3.9 on; 3.7 talks the library default.
        cls.tables["latin1"] = cls.scratch.write("latin1.cf", mysql + "charset = latin1\n"
                                                 + CHARSET_QUERY)
        # A charset the server refuses: 3.9+ fail the table, 3.7 never reads it.
        cls.tables["bogus"] = cls.scratch.write("bogus.cf", mysql + "charset = no_such\n"
                                                + CHARSET_QUERY)
        # A table named only in a parameter that 3.11 added to the default
        # proxy_read_maps: no proxy_read_maps line in main.cf.
        cls.tables["submit"] = cls.scratch.write("submit.cf", mysql + CHARSET_QUERY)
        for p in cls.tables.values():
            p.chmod(0o644)
        allow = " ".join(f"proxy:{cls.kind(t)}:{p}" for t, p in cls.tables.items()
                         if t != "submit")
        cls.scratch.write_main_cf("maillog_file_prefixes = /var, /dev/stdout, /dev/stderr\n"
                                  f"proxy_read_maps = {allow}\n")
        cls.defaults = harness.Scratch(prefix="pxw")
        cls.defaults.write_main_cf(
            "maillog_file_prefixes = /var, /dev/stdout, /dev/stderr\n"
            f"authorized_submit_users = proxy:mysql:{cls.tables['submit']}\n"
            f"transport_maps = proxy:mysql:{cls.tables['latin1']}\n")

    @staticmethod
    def kind(table: str) -> str:
        return "mysql" if table in ("latin1", "bogus", "submit") else "pgsql"

    @classmethod
    def tearDownClass(cls):
        cls.scratch.__exit__(None, None, None)
        cls.defaults.__exit__(None, None, None)
        cls.pg.stop()
        cls.my.stop()

    def answer(self, table: str, key: str, proxied: bool,
               scratch: harness.Scratch | None = None) -> tuple[int, bytes, bytes]:
        name = f"{self.kind(table)}:{self.tables[table]}"
        r = harness.postmap_one(scratch or self.scratch,
                                f"proxy:{name}" if proxied else name, key)
        return r.returncode, r.stdout, r.stderr

    def run_proxyd(self, proxyd_cf: str, scratch: harness.Scratch | None = None
                   ) -> harness.Proxyd:
        scratch = scratch or self.scratch
        (scratch.config_dir / "proxyd.cf").write_text(proxyd_cf)
        return harness.Proxyd(scratch).start()

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


    def test_no_installed_postfix_means_the_newest(self):
        # No postconf where command_directory points: 3.11.6's semantics,
        # e.g. the UTF8 client encoding (3.8+) finds the UTF-8 key.
        (self.scratch.config_dir / "proxyd.cf").write_text("")
        start = len(harness.Proxyd(self.scratch).log())
        proxyd = harness.Proxyd(self.scratch,
                                args=["-o", "command_directory=/nonexistent/proxyd"]).start()
        try:
            self.assertEqual(self.answer("plain", KEY, proxied=True)[:2], (0, b"utf8-hit\n"))
            log = proxyd.log()[start:]
            self.assertIn("no installed Postfix answered", log)
            self.assertIn("table semantics of Postfix 3.11.6", log)
        finally:
            self.assertEqual(proxyd.stop(), 0, proxyd.log())

    def test_mysql_charset_follows_the_release(self):
        # Debian's 3.7.11 reads no charset line: utf8mb4 (measured directly).
        for table in ("latin1", "bogus"):
            self.assertEqual(self.answer(table, "k", proxied=False)[:2],
                             (0, b"utf8mb4/utf8mb4/k\n"), table)
        proxyd = self.run_proxyd("")
        try:
            for table in ("latin1", "bogus"):
                self.assertEqual(self.answer(table, "k", proxied=True)[:2],
                                 self.answer(table, "k", proxied=False)[:2], table)
        finally:
            self.assertEqual(proxyd.stop(), 0, proxyd.log())
        proxyd = self.run_proxyd("postfix_version = 3.9.0\n")
        try:
            # 3.9+: the line is read; a charset the server refuses fails the table.
            self.assertEqual(self.answer("latin1", "k", proxied=True)[:2],
                             (0, b"latin1/latin1/k\n"))
            code, out, _ = self.answer("bogus", "k", proxied=True)
            self.assertNotEqual(code, 0)
            self.assertEqual(out, b"")
        finally:
            self.assertEqual(proxyd.stop(), 0, proxyd.log())

    def test_proxy_read_maps_default_follows_the_release(self):
        # No proxy_read_maps in main.cf: the release's default decides.
        direct = self.answer("submit", "k", proxied=False, scratch=self.defaults)
        self.assertEqual(direct[:2], (0, b"utf8mb4/utf8mb4/k\n"))
        proxyd = self.run_proxyd("", scratch=self.defaults)
        try:
            # 3.7.11's default does not list authorized_submit_users: DENY,
            # with the message a 3.7 proxymap client prints.
            code, out, err = self.answer("submit", "k", proxied=True, scratch=self.defaults)
            self.assertEqual((code, out), (1, b""))
            self.assertIn(b"proxymap service is not configured for table", err)
            # transport_maps is in every release's default.
            self.assertEqual(self.answer("latin1", "k", proxied=True, scratch=self.defaults)[:2],
                             direct[:2])
        finally:
            self.assertEqual(proxyd.stop(), 0, proxyd.log())
        proxyd = self.run_proxyd("postfix_version = 3.11.0\n", scratch=self.defaults)
        try:
            self.assertEqual(self.answer("submit", "k", proxied=True, scratch=self.defaults)[:2],
                             direct[:2])
        finally:
            self.assertEqual(proxyd.stop(), 0, proxyd.log())

class FileTablesFollowTheReleaseTest(unittest.TestCase):
    """texthash: and sqlite: under the installed 3.7.11 (auto: the same
    answers and warnings as the direct lookup) and under 3.11.6: stored
    texthash keys folded as ASCII only, the NUL-byte warning (3.9+), the
    sqlite unquoted-%s warning (3.11+)."""

    @classmethod
    def setUpClass(cls):
        cls.scratch = harness.Scratch(prefix="pxf")
        cls.texthash = cls.scratch.write(
            "th.txt", "Straße street\nJÜRGEN found\nnul v\0x\n".encode())
        db = cls.scratch.path("t.db")
        con = sqlite3.connect(db)
        con.execute("CREATE TABLE t (k TEXT, v TEXT)")
        con.execute("INSERT INTO t VALUES ('k', 'v')")
        con.commit()
        con.close()
        cls.sqlite = cls.scratch.write("unquoted.cf",
                                       f"dbpath = {db}\nquery = SELECT v FROM t WHERE k=%s\n")
        for p in (cls.texthash, db, cls.sqlite):
            p.chmod(0o644)
        cls.scratch.write_main_cf(
            "maillog_file_prefixes = /var, /dev/stdout, /dev/stderr\n"
            f"proxy_read_maps = proxy:texthash:{cls.texthash} proxy:sqlite:{cls.sqlite}\n")

    @classmethod
    def tearDownClass(cls):
        cls.scratch.__exit__(None, None, None)

    def answer(self, table: str, key: str, proxied: bool) -> tuple[int, bytes]:
        r = harness.postmap_one(self.scratch, f"proxy:{table}" if proxied else table, key)
        return r.returncode, r.stdout

    def run_with(self, proxyd_cf: str) -> tuple[harness.Proxyd, int]:
        (self.scratch.config_dir / "proxyd.cf").write_text(proxyd_cf)
        start = len(harness.Proxyd(self.scratch).log())
        return harness.Proxyd(self.scratch).start(), start

    def test_installed_release(self):
        texthash = f"texthash:{self.texthash}"
        direct = {k: self.answer(texthash, k, False) for k in ("STRASSE", "JÜRGEN", "nul")}
        self.assertEqual(direct["STRASSE"], (0, b"street\n"))  # 3.7 folds with ICU
        proxyd, start = self.run_with("")
        try:
            for key, want in direct.items():
                self.assertEqual(self.answer(texthash, key, True), want, key)
            sqlite = f"sqlite:{self.sqlite}"
            self.assertEqual(self.answer(sqlite, "k", True), self.answer(sqlite, "k", False))
            log = proxyd.log()[start:]
            self.assertNotIn("text after null byte", log)
            self.assertNotIn("recommended '' quotes", log)
        finally:
            self.assertEqual(proxyd.stop(), 0, proxyd.log())

    def test_release_311(self):
        texthash = f"texthash:{self.texthash}"
        proxyd, start = self.run_with("postfix_version = 3.11.6\n")
        try:
            # The client folds STRASSE and JÜRGEN with ICU; 3.11 stored
            # "straße" and "jÜrgen".
            self.assertEqual(self.answer(texthash, "STRASSE", True), (1, b""))
            self.assertEqual(self.answer(texthash, "JÜRGEN", True), (1, b""))
            self.assertEqual(self.answer(texthash, "nul", True), (0, b"v\n"))
            self.assertEqual(self.answer(f"sqlite:{self.sqlite}", "k", True), (0, b"v\n"))
            log = proxyd.log()[start:]
            self.assertIn(f"{self.texthash}, line 3: text after null byte may be ignored", log)
            self.assertIn("contains >%s< without the recommended '' quotes", log)
        finally:
            self.assertEqual(proxyd.stop(), 0, proxyd.log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
