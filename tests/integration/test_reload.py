#!/usr/bin/env python3
"""Live reload of a standalone proxyd: SIGHUP and `proxyd -c DIR reload`
re-read main.cf, proxyd.cf and every table while clients keep looking up,
with zero failed or unanswered lookups; a new configuration that would stop
a start is refused with one clear log line and the old one keeps serving,
and one that a start takes is taken, tables that no longer open included
(issue 13: reload accepts exactly what start-up accepts).

Uses sqlite: tables, so no database server is needed. Standard library
only; run by meson as the 'reload' test.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
import proxyproto  # noqa: E402


def table_cf(db: Path, fmt: str) -> str:
    return (f"dbpath = {db}\nquery = SELECT v FROM t WHERE k='%s'\n"
            f"result_format = {fmt}\n")


def reload_cmd(scratch: harness.Scratch) -> subprocess.CompletedProcess:
    return subprocess.run([harness.proxyd_exe(), "-c", str(scratch.config_dir), "reload"],
                          capture_output=True, text=True, timeout=30)


class Load:
    """Client threads doing lookups until stopped; counts every outcome."""

    def __init__(self, path: Path, table: str, threads: int = 6):
        self.path, self.table = path, table
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.answers: dict[bytes, int] = {}
        self.failures: list[str] = []
        self.count = 0
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(threads)]

    def run(self, n: int) -> None:
        # Half the clients keep one connection (like Postfix's clients), half
        # reconnect for every lookup.
        persistent = n % 2 == 0
        conn = None
        while not self.stop_flag.is_set():
            try:
                if conn is None:
                    conn = proxyproto.Conn(self.path, timeout=10)
                reply = dict(conn.request([("request", "lookup"),
                                           ("table", f"proxy:{self.table}"),
                                           ("flags", 0x40), ("key", "alice")]))
                status, value = reply[b"status"], reply.get(b"value", b"")
                with self.lock:
                    self.count += 1
                    if status != b"0":
                        self.failures.append(f"status {status!r}")
                    else:
                        self.answers[value] = self.answers.get(value, 0) + 1
                if not persistent:
                    conn.sock.close()
                    conn = None
            except Exception as e:  # noqa: BLE001 - every failure is counted
                with self.lock:
                    self.failures.append(repr(e))
                conn = None
        if conn is not None:
            conn.sock.close()

    def __enter__(self) -> "Load":
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop_flag.set()
        for t in self.threads:
            t.join()

    def wait_for(self, value: bytes, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                before = self.answers.get(value, 0)
            if before > 0:
                return True
            time.sleep(0.02)
        return False


class ReloadTest(unittest.TestCase):
    def setUp(self):
        self.scratch = harness.Scratch(prefix="pxr")
        self.db = self.scratch.path("t.db")
        with sqlite3.connect(self.db) as c:
            c.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT)")
            c.execute("INSERT INTO t VALUES ('alice', 'a@example.com')")
        self.db.chmod(0o644)
        self.cf = self.scratch.write("t.cf", table_cf(self.db, "gen0 %s"))
        self.table = f"sqlite:{self.cf}"
        self.scratch.write_main_cf(f"proxy_read_maps = proxy:{self.table}\n")
        self.proxyd = harness.Proxyd(self.scratch).start()

    def tearDown(self):
        rc = self.proxyd.stop()
        log = self.proxyd.log()
        self.scratch.__exit__(None, None, None)
        self.assertEqual(rc, 0, log)

    def test_reload_under_load_loses_nothing(self):
        with Load(self.proxyd.proxymap_socket, self.table) as load:
            self.assertTrue(load.wait_for(b"gen0 a@example.com"))
            for gen in range(1, 7):
                self.cf.write_text(table_cf(self.db, f"gen{gen} %s"))
                if gen % 2:
                    self.proxyd.proc.send_signal(signal.SIGHUP)
                else:
                    r = reload_cmd(self.scratch)
                    self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                    self.assertTrue(r.stdout.startswith("ok: reloaded configuration"), r.stdout)
                self.assertTrue(load.wait_for(f"gen{gen} a@example.com".encode()),
                                f"generation {gen} never answered:\n{self.proxyd.log()}")
                time.sleep(0.2)
        self.assertEqual(load.failures, [])
        self.assertGreater(load.count, 200)
        self.assertEqual(self.proxyd.log().count("reloaded configuration"), 6)
        # Old generations only answered before their successor was installed.
        self.assertEqual(set(load.answers),
                         {f"gen{g} a@example.com".encode() for g in range(7)})

    def test_broken_configuration_is_refused_and_old_one_serves(self):
        def ask() -> bytes:
            with proxyproto.Conn(self.proxyd.proxymap_socket) as c:
                reply = dict(c.request([("request", "lookup"),
                                        ("table", f"proxy:{self.table}"),
                                        ("flags", 0x40), ("key", "alice")]))
            self.assertEqual(reply[b"status"], b"0")
            return reply[b"value"]

        proxyd_cf = self.scratch.config_dir / "proxyd.cf"
        cases = [
            # (what breaks, how, the reason the refusal must name)
            ("proxyd.cf value", lambda: proxyd_cf.write_text("max_sessions = lots\n"),
             "bad numerical configuration: max_sessions = lots"),
            ("main.cf value", lambda: self.scratch.write_main_cf(
                f"proxy_read_maps = proxy:{self.table}\nsmtputf8_enable = maybe\n"),
             "smtputf8_enable"),
        ]
        for what, breaker, reason in cases:
            with self.subTest(what):
                self.cf.write_text(table_cf(self.db, "new %s"))
                breaker()
                r = reload_cmd(self.scratch)
                self.assertEqual(r.returncode, 1, r.stdout)
                self.assertTrue(r.stdout.startswith("error: reload refused: "), r.stdout)
                self.assertIn(reason, r.stdout)
                self.assertIn("still serving the previous configuration", r.stdout)
                self.assertIn("reload refused: ", self.proxyd.log())
                self.assertEqual(ask(), b"gen0 a@example.com")
                # SIGHUP refuses the same way, with the same log line.
                before = self.proxyd.log().count("reload refused")
                self.proxyd.proc.send_signal(signal.SIGHUP)
                deadline = time.monotonic() + 5
                while (self.proxyd.log().count("reload refused") == before
                       and time.monotonic() < deadline):
                    time.sleep(0.05)
                self.assertEqual(self.proxyd.log().count("reload refused"), before + 1)
                self.assertEqual(ask(), b"gen0 a@example.com")
                # Repair: the next reload is accepted.
                proxyd_cf.unlink(missing_ok=True)
                self.scratch.write_main_cf(f"proxy_read_maps = proxy:{self.table}\n")
                self.cf.write_text(table_cf(self.db, "gen0 %s"))
        self.assertTrue(self.proxyd.alive())
        r = reload_cmd(self.scratch)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertEqual(ask(), b"gen0 a@example.com")

    def test_reload_takes_a_new_table_that_start_up_takes(self):
        """A newly listed table that cannot be opened does not stop a reload,
        as it does not stop a start: it answers as it would after a restart,
        and the tables that serve keep serving."""
        broken = "proxy:sqlite:" + str(self.scratch.path("missing.cf"))
        # A table type proxyd does not serve itself is taken too (issue 13).
        cidr = self.scratch.write("x.cidr", "10.0.0.0/8 OK\n")
        other_type = f"proxy:cidr:{cidr}"
        self.scratch.write_main_cf(
            f"proxy_read_maps = proxy:{self.table} {broken} {other_type}\n")
        self.cf.write_text(table_cf(self.db, "gen1 %s"))
        r = reload_cmd(self.scratch)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(r.stdout.startswith("ok: reloaded configuration"), r.stdout)

        def ask(table: str) -> dict:
            with proxyproto.Conn(self.proxyd.proxymap_socket) as c:
                return dict(c.request([("request", "lookup"), ("table", table),
                                       ("flags", 0x40), ("key", "alice")]))
        self.assertEqual(ask(f"proxy:{self.table}")[b"value"], b"gen1 a@example.com")
        after_reload = ask(broken)
        other_after_reload = ask(other_type)
        # A fresh start on the same configuration answers the same.
        self.assertEqual(self.proxyd.stop(), 0, self.proxyd.log())
        self.proxyd = harness.Proxyd(self.scratch).start()
        after_start = ask(broken)
        self.assertEqual(after_reload, after_start)
        self.assertEqual(other_after_reload, ask(other_type))
        self.assertNotEqual(after_reload[b"status"], b"0")

    def test_reload_takes_a_served_table_that_no_longer_opens(self):
        """A table that serves now and would no longer open does not stop a
        reload either: a fresh start takes that configuration and answers
        RETRY for the table, so the reload does the same, and logs it as
        Postfix's proxymap would (the reason at open, "T is unavailable.
        REASON" on access)."""
        def ask() -> dict:
            with proxyproto.Conn(self.proxyd.proxymap_socket) as c:
                return dict(c.request([("request", "lookup"), ("table", f"proxy:{self.table}"),
                                       ("flags", 0x40), ("key", "alice")]))
        self.assertEqual(ask()[b"value"], b"gen0 a@example.com")
        gone = self.cf.with_suffix(".gone")
        self.cf.rename(gone)
        r = reload_cmd(self.scratch)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(r.stdout.startswith("ok: reloaded configuration"), r.stdout)
        after_reload = ask()
        self.assertEqual(after_reload[b"status"], b"2", after_reload)  # RETRY
        log = self.proxyd.log()
        self.assertIn(f"error: open {self.cf}", log)
        self.assertIn(f"warning: {self.table} is unavailable. open {self.cf}", log)
        self.assertNotIn("reload refused", log)
        # A fresh start on the same configuration answers the same.
        self.assertEqual(self.proxyd.stop(), 0, self.proxyd.log())
        self.proxyd = harness.Proxyd(self.scratch).start()
        self.assertEqual(ask(), after_reload)
        # The file back: the next reload serves the table again.
        gone.rename(self.cf)
        r = reload_cmd(self.scratch)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(ask()[b"value"], b"gen0 a@example.com")

    def test_stats_and_reload_need_a_running_daemon(self):
        self.proxyd.stop()
        r = reload_cmd(self.scratch)
        self.assertEqual(r.returncode, 69, r.stderr)  # EX_UNAVAILABLE
        self.assertIn("cannot reach proxyd", r.stderr)
        self.proxyd.start()


if __name__ == "__main__":
    unittest.main(verbosity=2)
