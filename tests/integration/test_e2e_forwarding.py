"""SMTP end to end in the forwarding layout, with verify(8) (issue 12 items 2, 5).

Two real Debian Postfix 3.7 instances run side by side with the same main.cf:
one with Postfix's own proxymap alone, one in the forwarding layout
(proxymap/proxywrite as shipped, proxyd in front as the services "proxyd"
and "proxyd-write" that proxymap_service_name/proxywrite_service_name name).
smtpd has

  smtpd_client_restrictions = check_client_access proxy:cidr:...
  virtual_alias_maps = proxy:mysql:..., proxy:pcre:...
  smtpd_recipient_restrictions = reject_unverified_recipient
  address_verify_map = proxy:btree:$data_directory/verify_cache

with the virtual domain's tables in a private MariaDB (proxyd serves those
itself; it forwards cidr, pcre and btree to the stock services). verify(8)
probes go to virtual(8) (virtual domain) or the error transport (anything
else), so verification completes on loopback. The same RCPT list, from two
client addresses, goes to both instances twice (first probes, then cache
hits); every RCPT reply must be identical, code and text. The verify cache
must be written through proxyd: `proxyd stats` shows requests on the
btree table in the proxyd-write service and answered jobs in its write
forwarding pool, and `postmap -s` reads the probed addresses directly from
the btree file. Needs root (master(8)); skipped (77) otherwise.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import unittest
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import dbservers  # noqa: E402
import harness  # noqa: E402
import postfix_instance as pfi  # noqa: E402
import smtp_probe  # noqa: E402

POSTMAP = "/usr/sbin/postmap"
DOMAIN = "e2e.example"
DB_NAME = "e2e"
DB_USER = "postfix_e2e"
DB_PASSWORD = "e2e-secret"
BLOCKED_CLIENT = "127.0.0.2"   # the cidr table rejects it
CIDR = (f"{BLOCKED_CLIENT}/32 REJECT blocked by cidr\n"
         "127.0.0.3/32 DUNNO\n"
         "127.0.0.0/8 OK\n")
PCRE = (r"/^info@(.+)$/ alice@$1" "\n"
        r"/^(sales|support)-[a-z]+@e2e\.example$/ bob@e2e.example" "\n"
        r"/^nowhere@e2e\.example$/ ghost@e2e.example" "\n"
        r"/^ext@e2e\.example$/ someone@far.example" "\n")
# Local parts in the virtual domain: mailboxes, mysql aliases, pcre aliases,
# an alias to a missing mailbox, unknown users, mixed case, UTF-8, long.
LOCALS = ["alice", "Alice", "ALICE", "bob", "carol", "postmaster", "team", "info", "INFO",
          "sales-eu", "support-x", "sales-EU", "nowhere", "ext", "nobody", "dave", "señor",
          "Jörg", "x" * 64, "y" * 200, "alice+tag", "o'ne"]
RECIPIENTS = ([f"{lp}@{DOMAIN}" for lp in LOCALS]
              + [f"{lp}@E2E.Example" for lp in ("alice", "team", "info", "nobody")]
              + [f"{lp}@{d}" for d in ("far.example", "bücher.example")
                 for lp in ("alice", "info", "someone")])
CLIENTS = ("127.0.0.1", BLOCKED_CLIENT, "127.0.0.3")


def table_cf(db: dbservers.MariaDB, query: str) -> str:
    return (f"hosts = inet:127.0.0.1:{db.port}\nuser = {DB_USER}\n"
            f"password = {DB_PASSWORD}\ndbname = {DB_NAME}\nquery = {query}\n")


class ForwardingOverSmtp(unittest.TestCase):
    db: dbservers.MariaDB

    @classmethod
    def setUpClass(cls):
        cls.db = dbservers.MariaDB()
        cls.db.start()
        try:
            cls.db.create_database(DB_NAME)
            cls.db.sql((HERE / "sql" / "e2e_mariadb.sql").read_text(), DB_NAME)
            cls.db.create_user(DB_USER, DB_PASSWORD, (DB_NAME,))
        except BaseException:
            cls.db.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.db.stop()

    def instance(self, forwarding: bool) -> pfi.PostfixInstance:
        pf = pfi.PostfixInstance(harness.proxyd_exe(), prefix="pfv" if forwarding else "pfs",
                                 forwarding=forwarding, stock_proxymap=not forwarding)
        cfg = pf.config_dir
        pf.main_cf_extra = (
            f"smtpd_client_restrictions = check_client_access proxy:cidr:{cfg}/clients.cidr\n"
            f"virtual_alias_maps = proxy:mysql:{cfg}/valiases.cf, proxy:pcre:{cfg}/aliases.pcre\n"
            "smtpd_recipient_restrictions = reject_unverified_recipient\n"
            "address_verify_map = proxy:btree:$data_directory/verify_cache\n"
            # smtpd waits for the probe's result (up to 30 x 1 s, so also on
            # a loaded machine): the first RCPT already gets the verdict,
            # not "verification in progress".
            "address_verify_poll_count = 30\n"
            "address_verify_poll_delay = 1s\n"
            "unverified_recipient_reject_code = 550\n"
            "proxy_read_maps = $virtual_mailbox_domains $virtual_mailbox_maps"
            " $virtual_alias_maps $smtpd_client_restrictions\n"
            "proxy_write_maps = $address_verify_map\n")
        cfg.mkdir(exist_ok=True)
        pf.write_table("vdomains.cf", table_cf(
            self.db, "SELECT domain FROM domains WHERE domain = '%s'"))
        pf.write_table("vmailboxes.cf", table_cf(
            self.db, "SELECT maildir FROM mailboxes WHERE email = '%s'"))
        pf.write_table("valiases.cf", table_cf(
            self.db, "SELECT goto FROM aliases WHERE address = '%s'"))
        (cfg / "clients.cidr").write_text(CIDR)
        (cfg / "aliases.pcre").write_text(PCRE)
        return pf

    def probe_all(self, pf: pfi.PostfixInstance) -> list[smtp_probe.Reply]:
        work = [(c, r) for c in CLIENTS for r in RECIPIENTS]
        with ThreadPoolExecutor(6) as pool:
            return list(pool.map(lambda cr: smtp_probe.rcpt(pf.smtp_port, cr[1],
                                                            source=cr[0]), work))

    def test_same_replies_and_verify_cache_through_proxyd(self):
        pfs = {"stock": self.instance(False), "proxyd": self.instance(True)}
        replies: dict[str, list[list[smtp_probe.Reply]]] = {}

        def run(which: str, pf: pfi.PostfixInstance) -> None:
            replies[which] = [self.probe_all(pf), self.probe_all(pf)]

        t0 = time.monotonic()
        try:
            pfi.run_side_by_side(pfs, run)
            work = [(c, r) for c in CLIENTS for r in RECIPIENTS]
            for n in (0, 1):
                diffs = [f"  {c} -> {r!r}\n    stock:  {a}\n    proxyd: {b}"
                         for (c, r), a, b in zip(work, replies["stock"][n],
                                                 replies["proxyd"][n]) if a != b]
                self.assertEqual(diffs, [], f"pass {n + 1}: {len(diffs)} of {len(work)} "
                                 "RCPT replies differ:\n" + "\n".join(diffs)
                                 + "\n--- proxyd instance log:\n" + pfs["proxyd"].log())
            self.check_reference(replies["stock"])
            self.check_write_service(pfs["proxyd"])
            # The proxywrite process holds verify_cache locked while it
            # runs (verify(8) opens it with DICT_FLAG_OPEN_LOCK): read the
            # files once Postfix is down.
            for pf in pfs.values():
                pf.stop()
            self.check_cache_files(pfs["proxyd"], pfs["stock"])
        finally:
            for pf in pfs.values():
                try:
                    pf.stop()
                    if os.environ.get("PROXYD_E2E_SHOW_LOG"):
                        print(pf.log(), file=sys.stderr)
                finally:
                    pf.cleanup()
        codes: dict[int, int] = {}
        for code, _ in replies["stock"][0] + replies["stock"][1]:
            codes[code] = codes.get(code, 0) + 1
        print(f"\nforwarding layout: 2 x {len(CLIENTS) * len(RECIPIENTS)} RCPT replies "
              f"identical to stock proxymap; codes {dict(sorted(codes.items()))}; "
              f"{time.monotonic() - t0:.1f}s", file=sys.stderr)

    def check_reference(self, stock: list[list[smtp_probe.Reply]]) -> None:
        """The stock run shows every kind of answer the comparison relies on."""
        texts = "\n".join(t for c, t in stock[0] + stock[1])
        codes = {c for c, _ in stock[0] + stock[1]}
        self.assertIn(250, codes, texts)
        self.assertIn("blocked by cidr", texts)
        self.assertIn("undeliverable address", texts)   # verify(8)'s verdict
        self.assertNotIn("verification in progress", texts)
        self.assertNotIn("Temporary lookup failure", texts)

    def check_write_service(self, fwd: pfi.PostfixInstance) -> None:
        """proxyd-write served the verify cache, forwarding to proxywrite."""
        cache = f"btree:{fwd.data_dir}/verify_cache"
        r = subprocess.run([harness.proxyd_exe(), "-c", str(fwd.config_dir), "stats"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        write = r.stdout.split("service name=proxyd-write\n", 1)
        self.assertEqual(len(write), 2, r.stdout)
        write = write[1].split("service name=", 1)[0]
        read = r.stdout.split("service name=proxyd\n", 1)
        self.assertEqual(len(read), 2, r.stdout)
        read = read[1].split("service name=", 1)[0]
        # smtpd's and trivial-rewrite's tables: cidr and pcre forwarded,
        # mysql served by proxyd itself.
        cfg = fwd.config_dir
        for table in (f"cidr:{cfg}/clients.cidr", f"pcre:{cfg}/aliases.pcre",
                      f"mysql:{cfg}/valiases.cf", f"mysql:{cfg}/vmailboxes.cf"):
            self.assertRegex(read, rf"(?m)^table {re.escape(table)} requests=[1-9]")
        for table in (f"cidr:{cfg}/clients.cidr", f"pcre:{cfg}/aliases.pcre"):
            self.assertIn(f"forwarded {table} role=read", read)
        m = re.search(rf"^table {re.escape(cache)} requests=(\d+) ok=(\d+)", write, re.M)
        self.assertIsNotNone(m, write)
        pool = re.search(r"^forward_pool write path=\S*proxywrite .* jobs=(\d+) "
                         r"answered=(\d+)", write, re.M)
        self.assertIsNotNone(pool, write)
        self.assertIn(f"forwarded {cache} role=write", write)
        print(f"\nproxyd-write: {m.group(0)}; forward_pool write jobs={pool.group(1)} "
              f"answered={pool.group(2)}", file=sys.stderr)
        self.assertGreater(int(pool.group(2)), 0, write)
        self.assertGreater(int(m.group(1)), 0, write)

    def check_cache_files(self, fwd: pfi.PostfixInstance, stock: pfi.PostfixInstance
                          ) -> None:
        # The file itself, read directly: the probed addresses are there,
        # the same ones as in the stock instance's cache.
        mine = self.cache_keys(fwd)
        theirs = self.cache_keys(stock)
        self.assertIn(f"alice@{DOMAIN}", mine)
        self.assertIn(f"nobody@{DOMAIN}", mine)
        self.assertEqual(mine, theirs)
        print(f"verify_cache (postmap -s, direct): {len(mine)} addresses, "
              "the same as the stock instance's", file=sys.stderr)

    @staticmethod
    def cache_keys(pf: pfi.PostfixInstance) -> set[str]:
        r = subprocess.run([POSTMAP, "-c", str(pf.config_dir), "-s",
                            f"btree:{pf.data_dir}/verify_cache"],
                           capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr
        keys = set()
        for line in r.stdout.decode(errors="backslashreplace").splitlines():
            key = line.split("\t", 1)[0].split(" ", 1)[0]
            if key and not key.startswith("_"):   # _LAST_CACHE_CLEANUP_COMPLETED_
                keys.add(key)
        return keys


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("test_e2e_forwarding: needs root to run master(8); skipped")
        sys.exit(77)
    dbservers.terminate_on_signals()
    unittest.main(verbosity=2)
