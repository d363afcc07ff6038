"""`proxyd -c DIR check`: exit status and report on scratch configurations.

Covers a configuration where all is well (exit 0), a missing table .cf, a
table .cf that mail_owner cannot read, an unreachable MySQL host (a dead
loopback port; the password must not appear), a proxy: table used in
main.cf but missing from proxy_read_maps (the printed postconf command is
run with real Postfix postconf, after which check passes), and a sqlite
database outside the chroot jail when master.cf chroots proxymap (column
"y", and "-" under compatibility_level 0, as master(8) reads it).
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

MASTER_CF = """\
# service type  private unpriv  chroot  wakeup  maxproc command + args
proxymap  unix  -       -       {chroot}       -       -       proxyd
proxywrite unix -       -       n       -       1       proxyd
"""


def dead_port() -> int:
    """A loopback TCP port nobody listens on (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class CheckTest(unittest.TestCase):
    def setUp(self):
        self.s = harness.Scratch(prefix="pxck")
        self.addCleanup(self.s.__exit__, None, None, None)
        db = self.s.path("aliases.db")
        with sqlite3.connect(db) as c:
            c.execute("CREATE TABLE a (k TEXT, v TEXT)")
            c.execute("INSERT INTO a VALUES ('x@example.com', 'y@example.com')")
        db.chmod(0o644)
        self.good_cf = self.s.write(
            "good.cf", f"dbpath = {db}\nquery = SELECT v FROM a WHERE k = '%s'\n")
        self.write_master("n")

    def write_master(self, chroot: str) -> None:
        (self.s.config_dir / "master.cf").write_text(MASTER_CF.format(chroot=chroot))

    def main_cf(self, extra: str) -> None:
        # An empty local_recipient_maps keeps proxy:unix:passwd.byname out of
        # the picture when a test sets proxy_read_maps explicitly.
        self.s.write_main_cf("local_recipient_maps =\n" + extra)

    def check(self, *args: str) -> subprocess.CompletedProcess:
        r = subprocess.run([harness.proxyd_exe(), "-c", str(self.s.config_dir), *args, "check"],
                           capture_output=True, text=True, timeout=60)
        self.report = r.stdout + r.stderr
        return r

    def test_all_well(self):
        self.main_cf(f"virtual_alias_maps = proxy:sqlite:{self.good_cf}\n")
        r = self.check()
        self.assertEqual(r.returncode, 0, self.report)
        self.assertRegex(r.stdout, rf"(?m)^ok +proxy_read_maps +sqlite:{self.good_cf}$")
        self.assertIn("all well", r.stdout)

    def test_missing_cf(self):
        missing = self.s.path("missing.cf")
        self.main_cf(f"virtual_alias_maps = proxy:sqlite:{self.good_cf} proxy:sqlite:{missing}\n")
        r = self.check()
        self.assertEqual(r.returncode, 1, self.report)
        self.assertRegex(r.stdout, rf"(?m)^PROBLEM +proxy_read_maps +sqlite:{missing}$")
        self.assertRegex(r.stdout, rf"(?m)^ok +proxy_read_maps +sqlite:{self.good_cf}$")
        self.assertIn(f"configuration file {missing} does not exist", r.stdout)

    @unittest.skipUnless(os.geteuid() == 0, "mail_owner checks apply when run as root")
    def test_cf_unreadable_by_mail_owner(self):
        self.good_cf.chmod(0o600)  # root-owned: root reads it, postfix does not
        self.main_cf(f"virtual_alias_maps = proxy:sqlite:{self.good_cf}\n")
        r = self.check()
        self.assertEqual(r.returncode, 1, self.report)
        self.assertIn(f"mail_owner postfix cannot read configuration file {self.good_cf}",
                      r.stdout)

    def test_unreachable_mysql_host(self):
        port = dead_port()
        cf = self.s.write("my.cf", f"hosts = inet:127.0.0.1:{port}\nuser = u\n"
                                   "password = Sup3rSecretPw\ndbname = mail\n"
                                   "query = SELECT v FROM a WHERE k = '%s'\n")
        self.main_cf(f"virtual_alias_maps = proxy:mysql:{cf}\n")
        r = self.check()
        self.assertEqual(r.returncode, 1, self.report)
        self.assertRegex(r.stdout, rf"(?m)^PROBLEM +proxy_read_maps +mysql:{cf}$")
        self.assertIn(f"cannot connect to database host inet:127.0.0.1:{port}: ", r.stdout)
        self.assertNotIn("Sup3rSecretPw", self.report)

    def test_table_missing_from_proxy_read_maps(self):
        other = self.s.write("other.cf", self.good_cf.read_text())
        self.main_cf(f"proxy_read_maps = proxy:sqlite:{self.good_cf}\n"
                     f"virtual_alias_maps = proxy:sqlite:{self.good_cf},"
                     f" proxy:sqlite:{other}\n")
        r = self.check()
        self.assertEqual(r.returncode, 1, self.report)
        self.assertIn(f"main.cf: virtual_alias_maps uses proxy:sqlite:{other}, which "
                      "proxy_read_maps does not list", r.stdout)
        lines = r.stdout.splitlines()
        cmd = lines[lines.index("to approve the tables missing from proxy_read_maps, run:") + 1]
        cd = str(self.s.config_dir)
        self.assertEqual(cmd.strip(),
                         f"postconf -c '{cd}' -e \"proxy_read_maps = $(postconf -c '{cd}' -h "
                         f"proxy_read_maps) proxy:sqlite:{other}\"")
        # The printed line really fixes it, with real Postfix postconf.
        subprocess.run(["bash", "-c", cmd], check=True, capture_output=True)
        r = self.check()
        self.assertEqual(r.returncode, 0, self.report)
        self.assertRegex(r.stdout, rf"(?m)^ok +proxy_read_maps +sqlite:{other}$")

    def test_sqlite_outside_chroot_jail(self):
        # proxyd opens a sqlite database before chroot and keeps it (issue 13
        # item 6): a dbpath outside the jail is no problem, whatever the
        # chroot column says (test_jail shows it answering under master(8)).
        self.main_cf(f"virtual_alias_maps = proxy:sqlite:{self.good_cf}\n")
        for column, extra in (("y", ()), ("-", ("-o", "compatibility_level=0"))):
            self.write_master(column)
            r = self.check(*extra)
            self.assertEqual(r.returncode, 0, self.report)
            self.assertIn(f"proxymap: runs chrooted to {self.s.queue_dir}", r.stdout)
            self.assertRegex(r.stdout, rf"(?m)^ok +proxy_read_maps +sqlite:{self.good_cf}$")
            self.assertNotIn("outside the chroot jail", r.stdout)

    def test_unix_tables_in_chroot_jail(self):
        # In a jail proxyd answers unix: tables from the /etc it kept from
        # start-up (test_jail); check names NSS sources beyond files only
        # (this machine: files systemd, so both tables are ok).
        self.main_cf("local_recipient_maps = proxy:unix:passwd.byname\n"
                     "proxy_read_maps = $local_recipient_maps proxy:unix:group.byname\n")
        self.write_master("y")
        r = self.check()
        self.assertEqual(r.returncode, 0, self.report)
        self.assertRegex(r.stdout, r"(?m)^ok +proxy_read_maps +unix:passwd\.byname$")
        self.assertRegex(r.stdout, r"(?m)^ok +proxy_read_maps +unix:group\.byname$")


if __name__ == "__main__":
    unittest.main(verbosity=2)
