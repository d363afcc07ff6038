"""Tables a jail must not change (issue 13 items 6 and 7), under real master(8).

A scratch Postfix instance runs proxyd as its proxymap service with the
master.cf chroot column set to y, so proxyd chroots to queue_directory.
Then, through `postmap -q KEY proxy:TABLE` against the direct lookup:

- a sqlite: table whose dbpath lies outside the jail answers (the database
  file is opened before chroot and kept), also after the file is replaced;
- proxy:unix:passwd.byname and proxy:unix:group.byname answer exactly as the
  direct lookup does (read through the /etc kept from before chroot, never
  from the jail), including for a user and a group added after start
  (useradd/groupadd of uniquely named entries, removed in finally) and after
  they are removed again;
- smtpd's RCPT answer for a local user (local_recipient_maps =
  proxy:unix:passwd.byname) is 250, as with stock proxymap.

Needs root (master(8), useradd); skipped (exit 77) otherwise.
"""

from __future__ import annotations

import os
import smtplib
import sqlite3
import subprocess
import sys
import time
import unittest
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import harness  # noqa: E402
import postfix_instance as pfi  # noqa: E402

DOMAIN = "jail.example"
LOCAL_DOMAIN = "local.jail.test"


def make_db(path: Path, rows: dict[str, str]) -> None:
    """A fresh sqlite database at path with a mailbox table."""
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    with sqlite3.connect(tmp) as db:
        db.execute("CREATE TABLE mailbox (email TEXT PRIMARY KEY, maildir TEXT)")
        db.executemany("INSERT INTO mailbox VALUES (?, ?)", rows.items())
    tmp.chmod(0o644)
    os.replace(tmp, path)   # as an admin regenerating the file would


class JailTest(unittest.TestCase):
    pf: pfi.PostfixInstance

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root (master(8), useradd)")
        cls.pf = pfi.PostfixInstance(harness.proxyd_exe(), proxymap_chroot=True,
                                     prefix="pxj")
        try:
            outside = cls.pf.root / "outside"
            outside.mkdir()
            cls.db = outside / "mail.sqlite"
            make_db(cls.db, {f"alice@{DOMAIN}": "alice/", f"bob@{DOMAIN}": "bob/"})
            cfg = cls.pf.config_dir
            cls.pf.main_cf_extra = (
                f"virtual_mailbox_domains = {DOMAIN}\n"
                f"virtual_mailbox_maps = proxy:sqlite:{cfg}/vmailboxes.cf\n"
                "virtual_alias_maps =\n"
                f"mydestination = {LOCAL_DOMAIN}\n"
                "local_recipient_maps = proxy:unix:passwd.byname\n"
                "local_transport = local\n"
                "proxy_read_maps = $virtual_mailbox_maps $local_recipient_maps"
                " proxy:unix:group.byname\n")
            cls.pf.write_config()
            cls.cf = cls.pf.write_table(
                "vmailboxes.cf",
                f"dbpath = {cls.db}\n"
                "query = SELECT maildir FROM mailbox WHERE email = '%s'\n")
            cls.pf.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        pf = getattr(cls, "pf", None)
        if pf is not None:
            pf.stop()
            if os.environ.get("PROXYD_JAIL_SHOW_LOG"):
                print(pf.log(), file=sys.stderr)
            pf.cleanup()

    def setUp(self):
        # The database must really be outside the jail, or this proves nothing.
        self.assertFalse(str(self.db).startswith(str(self.pf.queue_dir) + "/"))

    def the_proxyd(self) -> int:
        """The chrooted proxyd serving proxymap (after at least one lookup)."""
        harness.postmap_one(self.pf, "proxy:unix:passwd.byname", "root")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            pids = self.pf.proxyd_pids()
            if pids:
                self.assertEqual(len(pids), 1, pids)
                return pids[0]
            time.sleep(0.2)
        self.fail(f"no proxyd process\n--- maillog:\n{self.pf.log()}")

    def assertSame(self, table: str, keys: list[str], require_hits: bool = True):
        diffs = harness.compare_direct_and_proxy(
            self.pf, table, [k.encode() for k in keys], require_hits=require_hits)
        self.assertEqual(diffs, [], f"\n--- maillog:\n{self.pf.log()}")

    def test_01_proxyd_is_chrooted(self):
        pid = self.the_proxyd()
        self.assertEqual(os.readlink(f"/proc/{pid}/root"), str(self.pf.queue_dir))
        # Nothing of the system's /etc inside the jail.
        self.assertFalse((self.pf.queue_dir / "etc" / "passwd").exists())

    def test_02_sqlite_outside_the_jail_answers(self):
        self.assertSame(f"sqlite:{self.cf}",
                        [f"alice@{DOMAIN}", f"bob@{DOMAIN}", f"nobody@{DOMAIN}"])
        r = harness.postmap_one(self.pf, f"proxy:sqlite:{self.cf}", f"alice@{DOMAIN}")
        self.assertEqual(r.stdout, b"alice/\n", r.stderr)

    def test_03_sqlite_replaced_file_never_becomes_an_error(self):
        # A database file replaced outside the jail keeps being served from
        # the file opened at start-up: it never becomes a lookup error.
        make_db(self.db, {f"alice@{DOMAIN}": "alice2/"})
        r = harness.postmap_one(self.pf, f"proxy:sqlite:{self.cf}", f"alice@{DOMAIN}")
        self.assertEqual(r.returncode, 0, f"{r.stderr!r}\n{self.pf.log()}")
        self.assertIn(r.stdout, (b"alice/\n", b"alice2/\n"))

    def test_04_smtp_rcpt_virtual_and_local(self):
        with smtplib.SMTP("127.0.0.1", self.pf.smtp_port, timeout=60) as s:
            s.ehlo("client.jail.test")
            s.mail("sender@client.jail.test")
            for rcpt, code in ((f"alice@{DOMAIN}", 250), (f"nobody@{DOMAIN}", 550),
                               (f"postfix@{LOCAL_DOMAIN}", 250),
                               (f"root@{LOCAL_DOMAIN}", 250),
                               (f"no-such-user-{uuid.uuid4().hex[:8]}@{LOCAL_DOMAIN}", 550)):
                got = s.rcpt(rcpt)
                self.assertEqual(got[0], code, f"{rcpt}: {got}\n--- maillog:\n{self.pf.log()}")

    def test_05_unix_tables_answer_as_the_direct_lookup(self):
        users = ["root", "postfix", "nobody", "daemon", "no-such-user", "ROOT", ""]
        groups = ["root", "postfix", "postdrop", "nogroup", "mail", "no-such-group"]
        self.assertSame("unix:passwd.byname", users)
        self.assertSame("unix:group.byname", groups)
        r = harness.postmap_one(self.pf, "proxy:unix:passwd.byname", "postfix")
        self.assertRegex(r.stdout, rb"^postfix:[^:]*:\d+:\d+:")

    def test_06_user_added_after_start(self):
        name = f"pxj{uuid.uuid4().hex[:10]}"
        group = f"{name}g"
        try:
            subprocess.run(["groupadd", group], check=True, capture_output=True)
            subprocess.run(["useradd", "-M", "-N", "-g", group, "-G", "mail",
                            "-c", "Jail Test,room 7", "-d", f"/nonexistent/{name}",
                            "-s", "/usr/sbin/nologin", name],
                           check=True, capture_output=True)
            self.assertSame("unix:passwd.byname", [name, "root"])
            self.assertSame("unix:group.byname", [group, "mail"])
            r = harness.postmap_one(self.pf, "proxy:unix:passwd.byname", name)
            self.assertIn(b"Jail Test,room 7", r.stdout)
            r = harness.postmap_one(self.pf, "proxy:unix:group.byname", "mail")
            self.assertIn(name.encode(), r.stdout)
        finally:
            subprocess.run(["userdel", name], capture_output=True)
            subprocess.run(["groupdel", group], capture_output=True)
        # Removed again: gone through proxy: as directly.
        self.assertSame("unix:passwd.byname", [name, "root"])
        r = harness.postmap_one(self.pf, "proxy:unix:passwd.byname", name)
        self.assertEqual((r.returncode, r.stdout), (1, b""), r.stderr)
        r = harness.postmap_one(self.pf, "proxy:unix:group.byname", "mail")
        self.assertNotIn(name.encode(), r.stdout)


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("SKIP: needs root (master(8), useradd)")
        sys.exit(77)
    unittest.main(verbosity=2)
