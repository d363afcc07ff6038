"""The seed tutorials' tables over SMTP: stock proxymap vs proxyd (issue 13).

The workaround.org and groveld MySQL setups and the MYSQL_README and
PGSQL_README alias tables (seeds in /work/shared/seeds), with the schemas,
data and .cf files of the SQL differential fixtures (sql/, tables/: as
written, only hosts/user/password adapted to the private servers), run by a
real Debian Postfix 3.7 (master, smtpd, trivial-rewrite; virtual and local
domains) with every table through proxy:. Each layout runs twice at the same
time: one instance with Postfix's own proxymap, one with proxyd as the
proxymap service (drop-in, chroot n as in Debian's master.cf). The same RCPT
list (mailboxes, aliases, catch-alls, unknown users and domains, mixed case,
UTF-8, long local parts) goes to both; every RCPT reply must be identical,
code and text. A difference is a proxyd bug and fails the test with the
recipient and both replies. Needs root (master(8)); skipped (77) otherwise.

Where the layouts leave the seeds: every table is proxy: (groveld reads
email2email directly), virtual(8) stands in for workaround.org's dovecot
transport, groveld's virtual_mailbox_limit_maps (a VDA patch parameter that
Postfix 3.7 does not know) and SASL/TLS are left out, and a few rows of ours
(UTF-8 and mixed-case keys, the catch-all-free domain plain.example) are
added to the tutorials' data.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import dbservers  # noqa: E402
import harness  # noqa: E402
import postfix_instance as pfi  # noqa: E402
import smtp_probe  # noqa: E402
import test_sql_differential as sqd  # noqa: E402

# Rows of ours on top of the fixtures: UTF-8 and mixed-case keys that the
# tutorials' own data does not have.
# A domain without catch-all (plain.example) so that virtual_mailbox_maps is
# asked too, on pgsql as well (whose other domains are case-sensitive there).
PLAIN_DOMAIN = ("INSERT INTO virtual_domains (id,name) VALUES (5,'plain.example');\n"
                "INSERT INTO virtual_users (id,domain_id,password,email) VALUES"
                " (60, 5, 'x', 'anne@plain.example'), (61, 5, 'x', 'señor@plain.example'),"
                " (62, 3, 'x', 'señor@bücher.example');\n")
MYSQL_EXTRA = {
    "customer_database": "INSERT INTO mxaliases VALUES ('señor', 'senor@example.com', 'paid');\n"
                         "INSERT INTO mxaliases VALUES ('MixedAlias', 'mixed@example.com', 'paid');\n",
    "mailserver": PLAIN_DOMAIN,
    "groveld": "INSERT INTO users (email, password) VALUES ('señor@mydomain.com', 'x');\n"
               "INSERT INTO forwardings VALUES ('Sales@MyDomain.com', 'address@mydomain.com');\n",
}
PGSQL_EXTRA = {k: v for k, v in MYSQL_EXTRA.items() if k != "groveld"}

# main.cf lines every layout shares: loopback is not a trusted network (so
# unknown domains meet reject_unauth_destination), an address extension
# delimiter (more lookups per recipient), and groveld's proxy_read_maps plus
# $alias_maps.
COMMON_MAIN_CF = (
    "mynetworks = 192.0.2.0/24\n"
    "recipient_delimiter = +\n"
    "proxy_read_maps = $local_recipient_maps $mydestination $virtual_alias_maps"
    " $virtual_alias_domains $virtual_mailbox_maps $virtual_mailbox_domains"
    " $relay_recipient_maps $relay_domains $canonical_maps $sender_canonical_maps"
    " $recipient_canonical_maps $relocated_maps $transport_maps $mynetworks"
    " $alias_maps\n"
)
LOCAL_MASTER_CF = "local     unix  -       n       n       -       -       local\n"
# Local domains for the README alias tables (local(8), aliases(5)).
LOCAL_MAIN_CF = (
    "mydestination = $myhostname, local.example\n"
    "local_transport = local\n"
    "local_recipient_maps = proxy:unix:passwd.byname $alias_maps\n"
)

LONG64 = "l" * 64
LONG250 = "x" * 250
# Local parts every layout tries in each of its domains.
COMMON_LOCALS = ["nosuch", "NoSuch", "señor", "SEÑOR", "postmaster", LONG64, LONG250,
                 "o'ne", "under_score", "100%", "plus+ext"]


def recipients(locals_: list[str], domains: list[str], extra: list[str]) -> list[str]:
    out = [f"{lp}@{d}" for d in domains for lp in locals_]
    return out + extra


LAYOUTS = {
    # workaround.org (seed 002) virtual domains + MYSQL_README local aliases.
    "mysql": dict(
        backend="mysql",
        main_cf=(
            "virtual_mailbox_domains = proxy:mysql:{t}/ws_virtual_mailbox_domains.cf\n"
            "virtual_mailbox_maps = proxy:mysql:{t}/ws_virtual_mailbox_maps.cf\n"
            "virtual_alias_maps = proxy:mysql:{t}/ws_virtual_alias_maps.cf,"
            "proxy:mysql:{t}/ws_email2email.cf\n"
            "alias_maps = proxy:mysql:{t}/readme_mxaliases.cf\n" + LOCAL_MAIN_CF),
        recipients=recipients(
            COMMON_LOCALS + ["john", "John", "JOHN", "jack", "team", "jörg", "Jörg", "john+x", "anne",
                             "upper.case", "Upper.Case"],
            ["example.org", "EXAMPLE.ORG", "example.com", "bücher.example", "BÜCHER.example",
             "mixedcase.example", "plain.example", "Plain.EXAMPLE", "nosuch.example"],
            [f"{lp}@{d}" for d in ("local.example", "LOCAL.Example", "mx.e2e.test")
             for lp in ("postmaster", "PostMaster", "root", "abuse", "unpaid", "señor",
                        "Señor", "mixedalias", "MixedAlias", "postfix", "nobody", "nosuch",
                        "root+ext", LONG64)])),
    # groveld (seed 004), six maps of which Postfix uses four plus transport.
    "groveld": dict(
        backend="mysql",
        main_cf=(
            "virtual_alias_domains =\n"
            "virtual_alias_maps = proxy:mysql:{t}/groveld_virtual_forwardings.cf,"
            " proxy:mysql:{t}/groveld_virtual_email2email.cf\n"
            "virtual_mailbox_domains = proxy:mysql:{t}/groveld_virtual_domains.cf\n"
            "virtual_mailbox_maps = proxy:mysql:{t}/groveld_virtual_mailboxes.cf\n"
            "transport_maps = proxy:mysql:{t}/groveld_virtual_transports.cf\n"),
        recipients=recipients(
            COMMON_LOCALS + ["address", "Address", "ADDRESS", "myforward", "MyForward",
                             "otheraddress", "big", "sales", "Sales", "address+tag"],
            ["mydomain.com", "MyDomain.COM", "otherdomain.org", "transport.com",
             "relay.example", "nosuch.example"],
            [])),
    # The same workaround.org tables on pgsql + PGSQL_README local aliases.
    "pgsql": dict(
        backend="pgsql",
        main_cf=(
            "virtual_mailbox_domains = proxy:pgsql:{t}/ws_virtual_mailbox_domains.cf\n"
            "virtual_mailbox_maps = proxy:pgsql:{t}/ws_virtual_mailbox_maps.cf\n"
            "virtual_alias_maps = proxy:pgsql:{t}/ws_virtual_alias_maps.cf,"
            "proxy:pgsql:{t}/ws_email2email.cf\n"
            "alias_maps = proxy:pgsql:{t}/readme_pgsql_aliases.cf\n" + LOCAL_MAIN_CF),
        recipients=recipients(
            COMMON_LOCALS + ["john", "JOHN", "jack", "team", "jörg", "JÖRG", "john+x", "anne",
                             "upper.case", "Upper.Case"],
            ["example.org", "Example.Org", "example.com", "bücher.example",
             "mixedcase.example", "plain.example", "PLAIN.example", "nosuch.example"],
            [f"{lp}@{d}" for d in ("local.example", "LOCAL.EXAMPLE")
             for lp in ("postmaster", "POSTMASTER", "root", "abuse", "unpaid", "señor",
                        "SEÑOR", "mixedalias", "MixedAlias", "postfix", "nosuch",
                        "root+ext", LONG64)])),
}


class TutorialsOverSmtp(unittest.TestCase):
    stack: sqd.Stack
    subs: dict[str, dict[str, str]]

    @classmethod
    def setUpClass(cls):
        cls.stack = sqd.Stack()
        cls.subs = {}
        try:
            cls.subs["mysql"] = sqd.setup_mysql(cls.stack)
            cls.subs["pgsql"] = sqd.setup_pgsql(cls.stack)
            mysql, pgsql = cls.stack.items[0], cls.stack.items[1]
            for db, sql in MYSQL_EXTRA.items():
                mysql.sql(sql, db)
            for db, sql in PGSQL_EXTRA.items():
                pgsql.sql(sql, db)
        except BaseException:
            cls.stack.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.stack.close()

    def instance(self, layout: dict, stock: bool, chroot: bool = False
                 ) -> pfi.PostfixInstance:
        pf = pfi.PostfixInstance(harness.proxyd_exe(), prefix="pft" if stock else "pfp",
                                 stock_proxymap=stock, master_cf_extra=LOCAL_MASTER_CF,
                                 proxymap_chroot=chroot)
        main_cf = COMMON_MAIN_CF + layout["main_cf"].format(t=pf.config_dir)
        pf.main_cf_extra = main_cf
        pf.config_dir.mkdir(exist_ok=True)
        backend = layout["backend"]
        for name in re.findall(rf"{backend}:[^\s,]*/(\w+\.cf)", main_cf):
            text = (sqd.TABLES_DIR / backend / name).read_text(encoding="utf-8")
            pf.write_table(name, sqd.render(text, self.subs[backend]))
        return pf

    def run_layout(self, name: str, proxyd_chroot: bool = False) -> None:
        """Stock proxymap (chroot n, as Debian ships it) vs proxyd."""
        layout = LAYOUTS[name]
        rcpts = layout["recipients"]
        instances = {"stock": self.instance(layout, True),
                     "proxyd": self.instance(layout, False, proxyd_chroot)}
        replies: dict[str, list[smtp_probe.Reply]] = {}
        roots: set[str] = set()   # the proxyd processes' root directories

        def run(which: str, pf: pfi.PostfixInstance) -> None:
            replies[which] = smtp_probe.rcpt_all(pf.smtp_port, rcpts)
            if which == "proxyd":
                replies["stats"] = self.stats(pf)   # type: ignore[assignment]
                roots.update(os.readlink(f"/proc/{pid}/root") for pid in pf.proxyd_pids())

        t0 = time.monotonic()
        try:
            pfi.run_side_by_side(instances, run)
            self.compare(name, rcpts, replies["stock"], replies["proxyd"])
            self.assertServedByProxyd(layout, instances["proxyd"], replies["stats"])
            jail = str(instances["proxyd"].queue_dir) if proxyd_chroot else "/"
            self.assertEqual(roots, {jail})
        finally:
            for pf in instances.values():
                try:
                    pf.stop()
                    if os.environ.get("PROXYD_E2E_SHOW_LOG"):
                        print(pf.log(), file=sys.stderr)
                finally:
                    pf.cleanup()
        codes: dict[int, int] = {}
        for code, _ in replies["stock"]:
            codes[code] = codes.get(code, 0) + 1
        jail = " (proxyd chrooted)" if proxyd_chroot else ""
        print(f"\n{name}{jail}: {len(rcpts)} recipients, every RCPT reply identical; "
              f"codes {dict(sorted(codes.items()))}; {time.monotonic() - t0:.1f}s",
              file=sys.stderr)

    def stats(self, pf: pfi.PostfixInstance) -> str:
        r = subprocess.run([pf.proxyd_exe, "-c", str(pf.config_dir), "stats"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout

    def compare(self, name: str, rcpts: list[str], stock: list, proxyd: list) -> None:
        diffs = [f"  {r!r}\n    stock:  {a}\n    proxyd: {b}"
                 for r, a, b in zip(rcpts, stock, proxyd) if a != b]
        self.assertEqual(diffs, [], f"{name}: {len(diffs)} of {len(rcpts)} RCPT replies "
                         "differ:\n" + "\n".join(diffs))
        # The reference run itself must have both answers, or the
        # comparison shows nothing (e.g. every lookup failing alike).
        codes = {c for c, _ in stock}
        self.assertIn(250, codes, stock)
        self.assertIn(550, codes, stock)
        self.assertFalse([r for r in stock if r[0] // 100 == 4 and "lookup" in r[1]],
                         f"{name}: lookup failures in the stock run: {stock}")

    def assertServedByProxyd(self, layout: dict, pf: pfi.PostfixInstance,
                             stats: str) -> None:
        """Every SQL table of the layout was answered by proxyd itself."""
        backend = layout["backend"]
        for table in re.findall(rf"{backend}:([^\s,]+?\.cf)", layout["main_cf"].format(
                t=pf.config_dir)):
            m = re.search(rf"^table {backend}:{re.escape(table)} requests=(\d+)",
                          stats, re.M)
            self.assertIsNotNone(m, f"{table} not in proxyd stats:\n{stats}")
            self.assertGreater(int(m.group(1)), 0, stats)

    def test_workaround_and_mysql_readme(self):
        self.run_layout("mysql")

    def test_workaround_and_mysql_readme_chrooted_proxyd(self):
        # proxyd chrooted (chroot = y on its master.cf lines), stock
        # proxymap as Debian ships it: proxy:unix:passwd.byname in
        # local_recipient_maps must still see the system's users.
        self.run_layout("mysql", proxyd_chroot=True)

    def test_groveld(self):
        self.run_layout("groveld")

    def test_workaround_pgsql_and_pgsql_readme(self):
        self.run_layout("pgsql")


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("test_e2e_tutorials: needs root to run master(8); skipped")
        sys.exit(77)
    dbservers.terminate_on_signals()
    unittest.main(verbosity=2)
