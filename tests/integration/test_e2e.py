"""End-to-end: real Postfix (master, smtpd, cleanup, qmgr, virtual, ...) with
proxyd in place of proxymap(8), virtual domains in a private MariaDB.

master.cf's proxymap and proxywrite lines run proxyd (unprivileged, and
chrooted to queue_directory when PROXYD_E2E_CHROOT is not "n"). Checks what an
admin would see: RCPT answers on loopback SMTP (250 mailbox/alias, 550 5.1.1
unknown user, 451 4.3.0 while the database is down -- a deferral, not a
bounce -- and 250 again once it is back), delivery into the maildir (also of
mail queued during the outage), one proxyd process serving many concurrent
smtpd clients (it never reports itself busy to master(8)), SQL worker threads
under SCHED_BATCH after the privilege drop, the proxywrite
line, `postfix reload` replacing the proxyd generation, and `postfix stop`
or master(8) dying leaving no proxyd behind. The expected SMTP replies are
those of Postfix 3.7's smtpd for virtual mailbox domains (smtpd_check.c:
"User unknown in virtual mailbox table", "Temporary lookup failure").
Needs root (master(8) does); skipped (exit 77) otherwise.
"""

from __future__ import annotations

import os
import re
import signal
import smtplib
import subprocess
import sys
import threading
import time
import unittest
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import dbservers  # noqa: E402
import harness  # noqa: E402
import postfix_instance as pfi  # noqa: E402
import proxyproto  # noqa: E402

DOMAIN = "e2e.example"
DB_NAME = "e2e"
DB_USER = "postfix_e2e"
DB_PASSWORD = "e2e-secret"
HELD_RCPT = f"carol@{DOMAIN}"   # smtpd puts mail for this mailbox on hold
CHROOT = os.environ.get("PROXYD_E2E_CHROOT", "y") != "n"


def table_cf(db: dbservers.MariaDB, query: str) -> str:
    """A mysql: table .cf on the private server over TCP (reachable from a jail)."""
    return (f"hosts = inet:127.0.0.1:{db.port}\n"
            f"user = {DB_USER}\n"
            f"password = {DB_PASSWORD}\n"
            f"dbname = {DB_NAME}\n"
            f"query = {query}\n"
            "retry_interval = 1\n")


def rcpt(port: int, recipient: str,
         sender: str = "sender@client.e2e.test") -> tuple[int, str]:
    """One SMTP session on loopback up to RCPT TO; returns RCPT's reply."""
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
        s.ehlo("client.e2e.test")
        s.mail(sender)
        code, text = s.rcpt(recipient)
        s.rset()
        return code, text.decode(errors="replace")


class EndToEndTest(unittest.TestCase):
    db: dbservers.MariaDB
    pf: pfi.PostfixInstance

    @classmethod
    def setUpClass(cls):
        cls.db = dbservers.MariaDB()
        cls.db.start()
        try:
            cls.db.create_database(DB_NAME)
            cls.db.sql((HERE / "sql" / "e2e_mariadb.sql").read_text(), DB_NAME)
            cls.db.create_user(DB_USER, DB_PASSWORD, (DB_NAME,))
            cls.pf = pfi.PostfixInstance(
                harness.proxyd_exe(), proxymap_chroot=CHROOT,
                main_cf_extra="smtpd_recipient_restrictions = check_recipient_access"
                              f" inline:{{{{{HELD_RCPT}=HOLD}}}}\n")
            cls.pf.write_config()
            cls.pf.write_table("vdomains.cf", table_cf(
                cls.db, "SELECT domain FROM domains WHERE domain = '%s'"))
            cls.pf.write_table("vmailboxes.cf", table_cf(
                cls.db, "SELECT maildir FROM mailboxes WHERE email = '%s'"))
            cls.pf.write_table("valiases.cf", table_cf(
                cls.db, "SELECT goto FROM aliases WHERE address = '%s'"))
            cls.pf.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        pf = getattr(cls, "pf", None)
        try:
            if pf is not None:
                pf.stop()
                if os.environ.get("PROXYD_E2E_SHOW_LOG"):
                    print(pf.log(), file=sys.stderr)
                pf.cleanup()
        finally:
            cls.db.stop()

    def assertRcpt(self, recipient: str, code: int, text_part: str,
                   sender: str = "sender@client.e2e.test") -> None:
        got = rcpt(self.pf.smtp_port, recipient, sender)
        self.assertEqual(got[0], code, f"{recipient}: {got}\n--- maillog:\n{self.pf.log()}")
        self.assertIn(text_part, got[1], f"{recipient}: {got}")

    def wait_for(self, what: str, pred, timeout: float = 30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = pred()
            if value:
                return value
            time.sleep(0.2)
        self.fail(f"timed out waiting for {what}\n--- maillog:\n{self.pf.log()}")

    def the_proxyd(self) -> int:
        """The one proxyd process serving proxymap (after at least one lookup)."""
        pids = self.wait_for("a proxyd process", self.pf.proxyd_pids)
        self.assertEqual(len(pids), 1, f"proxyd processes: {pids}")
        return pids[0]

    # Tests run in name order on one instance; each leaves it serving.

    def test_01_recipient_answers(self):
        self.assertRcpt(f"alice@{DOMAIN}", 250, "2.1.5")
        self.assertRcpt(f"postmaster@{DOMAIN}", 250, "2.1.5")
        self.assertRcpt(f"team@{DOMAIN}", 250, "2.1.5")
        self.assertRcpt(f"nobody@{DOMAIN}", 550,
                        "5.1.1 <nobody@e2e.example>: Recipient address rejected: "
                        "User unknown in virtual mailbox table")

    def test_02_proxymap_is_proxyd_unprivileged(self):
        rcpt(self.pf.smtp_port, f"alice@{DOMAIN}")
        pid = self.the_proxyd()
        owner = self.pf.mail_owner
        self.assertEqual(pfi.proc_status_ids(pid, "Uid"), [owner.pw_uid] * 4)
        self.assertEqual(pfi.proc_status_ids(pid, "Gid"), [owner.pw_gid] * 4)
        self.assertEqual(pfi.proc_status_ids(pid, "Groups"), [owner.pw_gid])
        root = os.readlink(f"/proc/{pid}/root")
        self.assertEqual(root, str(self.pf.queue_dir) if CHROOT else "/")
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:-1]
        self.assertEqual(argv[0], b"proxyd")
        self.assertIn(b"-n", argv)
        self.assertEqual(argv[argv.index(b"-n") + 1], b"proxymap")
        self.assertIn(b"-u", argv)
        self.assertEqual(b"-c" in argv, CHROOT)
        self.assertEqual(pfi.proc_ppid(pid), self.pf.master_pid())
        # With maillog_file set, proxyd logs through postlogd like every
        # other Postfix daemon, also from inside the chroot jail.
        want = f"/proxymap[{pid}]: daemon started -- version"
        deadline = time.monotonic() + 10
        while want not in self.pf.log() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertIn(want, self.pf.log())

    def test_02c_stats_reach_the_master_service(self):
        # proxyd under master(8), chrooted or not: `proxyd -c DIR stats`
        # reaches it through private/proxyd-control.proxymap.
        rcpt(self.pf.smtp_port, f"alice@{DOMAIN}")
        self.the_proxyd()
        r = subprocess.run([self.pf.proxyd_exe, "-c", str(self.pf.config_dir), "stats"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(r.stdout.startswith("service name=proxymap\nproxyd version="), r.stdout)
        counts = re.search(r"^table mysql:\S*vmailboxes\.cf requests=(\d+) ok=(\d+) ",
                           r.stdout, re.M)
        self.assertIsNotNone(counts, r.stdout)
        self.assertGreaterEqual(int(counts.group(2)), 1, r.stdout)
        self.assertRegex(r.stdout, r"(?m)^pool mysql:\S+ sessions_open=[1-9]")

    def test_02d_sql_workers_run_as_batch_threads(self):
        # Under master(8), privileges dropped (and chrooted by default), the
        # mysql pool's worker threads still get SCHED_BATCH, so a database
        # answer does not preempt the event loop; the loop keeps SCHED_OTHER.
        # A lone lookup runs on the loop's own session (loop_queries), so
        # the workers are looked at while 8 clients keep lookups (of
        # different keys) queued.
        rcpt(self.pf.smtp_port, f"alice@{DOMAIN}")
        pid = self.the_proxyd()
        table = f"mysql:{self.pf.table_path('vmailboxes.cf')}"
        stop = threading.Event()

        def client(n: int):
            # A key of its own each time: equal keys in flight share one query.
            with proxyproto.Conn(self.pf.queue_dir / "private" / "proxymap") as c:
                while not stop.is_set():
                    n += 8
                    c.request([("request", "lookup"), ("table", table), ("flags", 0),
                               ("key", f"nobody{n}@{DOMAIN}")])

        def policy(tid: str) -> int | None:
            try:
                stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
            except OSError:
                return None   # a thread that just ended
            return int(stat.rsplit(")", 1)[1].split()[38])  # field 41, sched policy

        threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        workers: dict[str, int] = {}
        try:
            deadline = time.monotonic() + 20
            while not workers and time.monotonic() < deadline:
                tids = [t for t in os.listdir(f"/proc/{pid}/task") if t != str(pid)]
                workers = {t: p for t in tids if (p := policy(t)) is not None}
                time.sleep(0.05)
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        self.assertEqual(policy(str(pid)), 0, "event loop: SCHED_OTHER")
        self.assertTrue(workers, "no worker thread while 8 clients looked up")
        self.assertEqual(set(workers.values()), {3}, f"worker policies: {workers}")
        self.assertNotIn("keep the normal scheduling policy", self.pf.log())

    def test_03_delivery_to_maildir(self):
        token = uuid.uuid4().hex
        body = (f"From: sender@client.e2e.test\r\nTo: alice@{DOMAIN}\r\n"
                f"Subject: e2e {token}\r\n\r\nhello through proxyd\r\n")
        with smtplib.SMTP("127.0.0.1", self.pf.smtp_port, timeout=60) as s:
            refused = s.sendmail("sender@client.e2e.test",
                                 [f"alice@{DOMAIN}", f"postmaster@{DOMAIN}"], body)
        self.assertEqual(refused, {})
        new_dir = self.pf.mail_base / DOMAIN / "alice" / "new"

        # Two copies: with enable_original_recipient = yes (the default),
        # qmgr keeps recipients apart whose original address differs.
        def delivered():
            files = sorted(new_dir.glob("*")) if new_dir.is_dir() else []
            return files if len(files) >= 2 else None

        files = self.wait_for("delivery to alice's maildir", delivered, 60)
        self.assertEqual(len(files), 2, [f.name for f in files])
        originals = set()
        for f in files:
            text = f.read_text(errors="replace")
            self.assertIn(f"Subject: e2e {token}", text)
            self.assertIn("hello through proxyd", text)
            self.assertIn(f"Delivered-To: alice@{DOMAIN}", text)
            for line in text.splitlines():
                if line.startswith("X-Original-To: "):
                    originals.add(line.split(": ", 1)[1])
            st = f.stat()
            self.assertEqual((st.st_uid, st.st_gid), (pfi.VMAIL_UID, pfi.VMAIL_UID))
        self.assertEqual(originals, {f"alice@{DOMAIN}", f"postmaster@{DOMAIN}"})
        self.assertRegex(self.pf.log(), r"virtual\[\d+\]: \w+: to=<alice@e2e\.example>, "
                         r"orig_to=<postmaster@e2e\.example>.*status=sent")

    def test_04b_proxywrite_line_is_proxyd_too(self):
        priv = self.pf.queue_dir / "private"
        table = f"mysql:{self.pf.table_path('vdomains.cf')}"
        lookup = [("request", "lookup"), ("table", table), ("flags", 0),
                  ("key", DOMAIN)]
        with proxyproto.Conn(priv / "proxymap") as c:
            self.assertEqual(c.request(lookup), [(b"status", b"0"), (b"value", DOMAIN.encode())])
        # proxywrite allows only proxy_write_maps (empty here): denied.
        with proxyproto.Conn(priv / "proxywrite") as c:
            self.assertEqual(c.request(lookup), [(b"status", b"4"), (b"value", b"")])
        self.assertEqual(len(self.pf.proxyd_pids("proxymap")), 1)
        writers = self.pf.proxyd_pids("proxywrite")
        self.assertEqual(len(writers), 1)
        argv = Path(f"/proc/{writers[0]}/cmdline").read_bytes().split(b"\0")
        self.assertIn(b"-l", argv)   # maxproc 1 on the proxywrite line
        self.assertEqual(pfi.proc_status_ids(writers[0], "Uid"),
                         [self.pf.mail_owner.pw_uid] * 4)

    def test_04a_one_process_serves_concurrent_clients(self):
        clients = 20
        barrier = threading.Barrier(clients + 1, timeout=120)
        results: list[tuple[int, str] | BaseException] = []
        lock = threading.Lock()

        def session(i: int):
            try:
                with smtplib.SMTP("127.0.0.1", self.pf.smtp_port, timeout=60) as s:
                    s.ehlo(f"c{i}.e2e.test")
                    s.mail(f"s{i}@client.e2e.test")
                    r = s.rcpt(f"alice@{DOMAIN}" if i % 2 else f"team@{DOMAIN}")
                    barrier.wait()   # every session is open at the same time
                    barrier.wait()   # ... until the main thread has looked
                    out: tuple[int, str] | BaseException = (r[0], r[1].decode())
            except BaseException as e:   # reported below
                out = e
                barrier.abort()
            with lock:
                results.append(out)

        threads = [threading.Thread(target=session, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        try:
            barrier.wait()
            pids = self.pf.proxyd_pids()
            self.assertEqual(len(pids), 1, f"proxyd processes: {pids}")
            # Every smtpd holds its own proxymap connection to that one process.
            sockets = sum(1 for fd in os.listdir(f"/proc/{pids[0]}/fd")
                          if os.readlink(f"/proc/{pids[0]}/fd/{fd}").startswith("socket:"))
            self.assertGreaterEqual(sockets, clients)
            barrier.wait()
        finally:
            for t in threads:
                t.join(120)
        self.assertEqual(len(results), clients)
        for r in results:
            self.assertIsInstance(r, tuple, r)
            self.assertEqual(r[0], 250, r)

    def send_held(self, token: str) -> str:
        """Send a message that smtpd puts on hold; returns its queue id."""
        recipient = HELD_RCPT
        body = (f"From: sender@client.e2e.test\r\nTo: {recipient}\r\n"
                f"Subject: held {token}\r\n\r\nqueued before the outage\r\n")
        with smtplib.SMTP("127.0.0.1", self.pf.smtp_port, timeout=60) as s:
            s.ehlo("client.e2e.test")
            self.assertEqual(s.mail("sender@client.e2e.test")[0], 250)
            self.assertEqual(s.rcpt(recipient)[0], 250)
            code, text = s.data(body.encode())
        self.assertEqual(code, 250, text)
        queue_id = text.decode().rsplit(" ", 1)[1]
        self.wait_for("the message in the hold queue",
                      lambda: (self.pf.queue_dir / "hold" / queue_id).exists())
        return queue_id

    def test_05_database_down_defers(self):
        token = uuid.uuid4().hex
        queue_id = self.send_held(token)
        self.db._kill()   # the server goes away; its data directory stays
        try:
            # smtpd: a temporary error (the client keeps its mail), never 5xx.
            # Each smtpd keeps its last trivial-rewrite answer for 30 seconds,
            # failures included (resolve_clnt.c), keyed by sender and
            # recipient: senders used during the outage are used only then.
            for n, who in enumerate((f"alice@{DOMAIN}", f"postmaster@{DOMAIN}",
                                     f"nobody@{DOMAIN}")):
                self.assertRcpt(who, 451, "4.3.0 <" + who + ">: Temporary lookup failure",
                                sender=f"outage{n}@client.e2e.test")
            # A queued message: released during the outage, it is deferred.
            self.pf.postsuper("-H", queue_id)
            deferred = re.compile(rf"{queue_id}: to=<{re.escape(HELD_RCPT)}>.*"
                                  r"status=deferred")
            self.wait_for("the held message to be deferred",
                          lambda: deferred.search(self.pf.log()), 60)
        finally:
            self.assertTrue(self.db._launch(), "MariaDB did not restart on its port")
        # Hosts marked down are retried after retry_interval (1s here).
        attempt = iter(range(1000))
        self.wait_for("lookups to recover", lambda: rcpt(
            self.pf.smtp_port, f"alice@{DOMAIN}",
            f"recover{next(attempt)}@client.e2e.test")[0] == 250, 30)
        self.assertRcpt(f"postmaster@{DOMAIN}", 250, "2.1.5")
        self.assertRcpt(f"nobody@{DOMAIN}", 550, "5.1.1")
        # The deferred message is retried (backoff 5-10s here) and delivered.
        new_dir = self.pf.mail_base / DOMAIN / "carol" / "new"
        files = self.wait_for("delivery to carol's maildir", lambda: (
            list(new_dir.glob("*")) if new_dir.is_dir() else None), 90)
        self.assertIn(f"Subject: held {token}", files[0].read_text(errors="replace"))
        # Deferred, not bounced: no bounce, no non-delivery notification.
        log = self.pf.log()
        self.assertNotIn("status=bounced", log)
        self.assertNotIn("sender non-delivery notification", log)

    def test_06_reload_starts_new_generation(self):
        rcpt(self.pf.smtp_port, f"alice@{DOMAIN}")
        old = self.the_proxyd()
        old_gen = pfi.proc_env(old)["GENERATION"]
        self.pf.postfix("reload")
        self.wait_for("the old proxyd to exit",
                      lambda: old not in pfi.pids_running(self.pf.proxyd_exe), 30)
        self.assertRcpt(f"alice@{DOMAIN}", 250, "2.1.5")
        self.assertRcpt(f"nobody@{DOMAIN}", 550, "5.1.1")
        new = self.the_proxyd()
        self.assertNotEqual(new, old)
        self.assertNotEqual(pfi.proc_env(new)["GENERATION"], old_gen)
        # The old generation says what happened: a reload, not a lost master.
        log = self.wait_for("the old proxyd's exit line", lambda: (
            lambda text: text if f"/proxymap[{old}]: stopped" in text else None)(self.pf.log()), 30)
        self.assertRegex(log, rf"/proxymap\[{old}\]: master\(8\) reloaded \(postfix reload\)")
        self.assertNotIn("went away", log)

    def test_07_stop_leaves_no_proxyd(self):
        rcpt(self.pf.smtp_port, f"alice@{DOMAIN}")
        self.the_proxyd()
        master = self.pf.master_pid()
        self.pf.postfix("stop")
        self.wait_for("master to exit", lambda: pfi.proc_comm(master) != "master", 30)
        self.assertEqual(self.pf.leftover_pids(), [])
        # Leaving, proxyd removed its control socket (from inside the jail).
        self.assertEqual(sorted(p.name for p in (self.pf.queue_dir / "private").glob(
            "proxyd-control*")), [])
        log = self.pf.log()
        # master(8) complains about children that exit badly or die unasked.
        self.assertNotRegex(log, r"proxyd pid \d+ (exit status|killed by signal)")
        self.assertNotIn("bad command startup", log)
        # proxyd sits in daemon_directory as the .deb puts it: postfix-script
        # has no "symlink leaves directory" to say on start.
        self.assertNotIn("symlink leaves directory", log)

    def test_08_exits_when_master_dies(self):
        self.pf.start()
        self.assertRcpt(f"alice@{DOMAIN}", 250, "2.1.5")
        pid = self.the_proxyd()
        master = self.pf.master_pid()
        os.kill(master, signal.SIGKILL)   # no SIGTERM to the children
        # The status channel reads EOF: proxyd drains and exits by itself.
        self.wait_for("proxyd to exit after master(8) died",
                      lambda: pid not in pfi.pids_running(self.pf.proxyd_exe), 30)


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("test_e2e: needs root to run master(8); skipped")
        sys.exit(77)
    dbservers.terminate_on_signals()
    unittest.main(verbosity=2)
