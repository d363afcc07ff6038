"""Forwarding layout (issue 12 item 1): the table types that need a server.

Debian's real master(8) runs Postfix's proxymap as shipped and proxyd in
front of it (PostfixInstance(forwarding=True), as test_forwarding.py); this
file adds the types whose data live in a server the test starts itself
(tests/integration/typeservers.py), each on a UNIX socket in a temp dir:

* ldap: a private slapd, an ldap_table(5) .cf with search_base,
  query_filter and result_attribute, values with commas, `+`, a backslash,
  UTF-8 and several values per entry, keys with filter metacharacters;
* memcache: a private memcached, memcache_table(5);
* socketmap: a small Python socketmap(5) server (netstrings), including a
  key it answers TEMP for.

For each, `postmap -q` through proxy: (proxyd, forwarding) prints exactly
what the direct lookup prints, or what Postfix's own proxymap prints where
that differs from direct: hits, misses, mixed case, UTF-8 with smtputf8 on
and off, long keys. None of the three sequences: `postmap -s` answers as
direct / as through stock proxymap; a sequence request that makes stock
proxymap exit gets RETRY from proxyd, and forwarding carries on.

Needs root (master(8) does); skipped (exit 77) otherwise.
"""

from __future__ import annotations

import base64
import subprocess
import sys
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import proxyproto  # noqa: E402
import test_forwarding as tf  # noqa: E402
import typeservers  # noqa: E402

LONG = tf.LONG            # 400 bytes
MC_LONG = "m" * 240       # memcache keys stop at 250 bytes
SPECIAL = "Doe, John + Co \\ M\u00fcller \u2603 <x=y>"

# Keys beyond test_forwarding's: filter metacharacters, a memcache-sized
# long key, a key the socketmap server answers TEMP for (looked up alone).
KEYS = tf.KEYS + [b"star*key", b"star*", b"*", b"back\\slash", b"(x)",
                  b"o'brien+tag@example.com", MC_LONG.encode(), b"MIXED.case.EXAMPLE"]

# uid -> description values of the LDAP entries.
LDAP_ENTRIES = {
    "alice@example.com": [SPECIAL],
    "m\u00fcller@b\u00fccher.example": ["utf8-value \u00fcn\u00efc\u00f6de"],
    "spam.example": ["REJECT spam \u2603", "second, value"],
    "mixed.case.example": ["OK mixed"],
    LONG: ["long-value"],
    "star*key": ["star-value"],
    "back\\slash": ["backslash-value \\"],
    "o'brien+tag@example.com": ["plus+value"],
}

# Lower-case keys (Postfix folds fixed-string keys) -> values.
PLAIN = {
    b"alice@example.com": SPECIAL.encode(),
    "m\u00fcller@b\u00fccher.example".encode(): "utf8 \u2603".encode(),
    b"spam.example": b"REJECT spam",
    b"mixed.case.example": b"OK mixed",
    MC_LONG.encode(): b"long-240",
    b"back\\slash": b"backslash-value",
}


def ldif() -> str:
    def attr(name: str, value: str) -> str:
        return f"{name}:: {base64.b64encode(value.encode()).decode()}\n"
    out = ("dn: dc=example,dc=com\nobjectClass: dcObject\nobjectClass: organization\n"
           "o: Example\ndc: example\n\n"
           "dn: ou=people,dc=example,dc=com\nobjectClass: organizationalUnit\nou: people\n\n")
    for i, (uid, values) in enumerate(LDAP_ENTRIES.items()):
        out += (f"dn: cn=e{i},ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\n"
                f"cn: e{i}\nsn: e{i}\n" + attr("uid", uid)
                + "".join(attr("description", v) for v in values) + "\n")
    return out


class ServerTypesInstance(tf.ForwardingInstance):
    """The forwarding layout with an ldap, a memcache and a socketmap table."""

    def __init__(self, servers: dict):
        super().__init__(chroot=True)
        self.servers = servers

    def build_tables(self) -> None:
        self.data_dir.mkdir(exist_ok=True)
        ldap_cf = self.config_dir / "ldap.cf"
        ldap_cf.write_text(
            f"server_host = {self.servers['ldap'].url}\nversion = 3\nbind = no\n"
            "search_base = ou=people,dc=example,dc=com\n"
            "query_filter = (|(uid=%s)(mail=%s))\nresult_attribute = description\n")
        mc_cf = self.config_dir / "memcache.cf"
        mc_cf.write_text(f"memcache = unix:{self.servers['memcache'].socket}\n")
        self.tables = {
            "ldap": f"ldap:{ldap_cf}",
            "memcache": f"memcache:{mc_cf}",
            "socketmap": f"socketmap:unix:{self.servers['socketmap'].socket}:test",
        }


@unittest.skipUnless(tf.have_root(), "needs root for master(8)")
class ServerTypes(unittest.TestCase):
    """ldap, memcache and socketmap through proxyd equal direct (or stock)."""

    @classmethod
    def setUpClass(cls):
        cls.servers = {}
        try:
            cls.servers["ldap"] = typeservers.Slapd(ldif()).start()
            cls.servers["memcache"] = mc = typeservers.Memcached().start()
            for k, v in PLAIN.items():
                mc.set(k, v)
            cls.servers["socketmap"] = typeservers.SocketmapServer(
                "test", PLAIN, temp={b"temp.example"}).start()
            cls.pf = ServerTypesInstance(cls.servers).start_all()
        except BaseException:
            cls.stop_servers()
            raise

    @classmethod
    def stop_servers(cls):
        for s in cls.servers.values():
            s.stop()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.pf.stop()
            cls.pf.cleanup()
        finally:
            cls.stop_servers()

    def client_config(self, name: str, extra: str) -> Path:
        d = self.pf.root / name
        d.mkdir(exist_ok=True)
        (d / "main.cf").write_text((self.pf.config_dir / "main.cf").read_text() + extra)
        return d

    def configs(self, utf8: str) -> tuple[Path, Path]:
        """(client of proxyd, client of Postfix's own proxymap)."""
        via = self.client_config(f"etc-utf8-{utf8}", f"smtputf8_enable = {utf8}\n")
        stock = self.client_config(
            f"etc-stock-{utf8}", f"smtputf8_enable = {utf8}\n"
            "proxymap_service_name = proxymap\nproxywrite_service_name = proxywrite\n")
        return via, stock

    @staticmethod
    def postmap(config: Path, *args: str, keys: list[bytes] | None = None):
        return subprocess.run([tf.POSTMAP, "-c", str(config), *args],
                              input=b"".join(k + b"\n" for k in keys or []),
                              capture_output=True, timeout=60)

    def same_as_direct_or_stock(self, what: str, d, p, s) -> str | None:
        """None when proxyd's answer p equals direct d (or stock s)."""
        if (p.returncode, p.stdout) == (d.returncode, d.stdout):
            return None
        if (p.returncode, p.stdout) == (s.returncode, s.stdout):
            print(f"{what}: proxyd answers as Postfix's proxymap, which differs from direct")
            return None
        return (f"{what}: direct rc={d.returncode} {d.stdout!r} | proxyd rc={p.returncode} "
                f"{p.stdout!r} {p.stderr[-300:]!r} | stock rc={s.returncode} {s.stdout!r}")

    def keys_for(self, name: str) -> tuple[list[bytes], list[bytes]]:
        """(keys looked up in one postmap -q - batch, keys looked up one by
        one because the lookup itself fails). memcached refuses keys over
        250 bytes (memcache_table(5)): that query error ends a postmap
        batch, so the 400-byte key is compared alone; the 3000-byte one is
        left out for memcache: memcached's reply to it leaves the stock
        proxymap's memcache connection out of step for later lookups (a
        Postfix/memcached matter, not proxyd's)."""
        if name != "memcache":
            return KEYS, []
        return [k for k in KEYS if len(k) <= 250], [LONG.encode()]

    def test_query_matches_direct(self):
        failures, hits, errors = [], {}, 0
        for utf8 in ("yes", "no"):
            via, stock = self.configs(utf8)
            for name, table in self.pf.tables.items():
                batch, alone = self.keys_for(name)
                d = self.postmap(via, "-q", "-", table, keys=batch)
                p = self.postmap(via, "-q", "-", "proxy:" + table, keys=batch)
                s = self.postmap(stock, "-q", "-", "proxy:" + table, keys=batch)
                hits[f"{name}/smtputf8={utf8}"] = len(p.stdout.splitlines())
                if not d.stdout or b"fatal:" in d.stderr:
                    failures.append(f"{table}: direct batch failed: {d.stderr[-300:]!r}")
                f = self.same_as_direct_or_stock(f"{table} smtputf8={utf8}", d, p, s)
                if f:
                    failures.append(f)
                for key in alone:
                    d, p, s = (self.postmap(c, "-q", key.decode(), t) for c, t in
                               ((via, table), (via, "proxy:" + table),
                                (stock, "proxy:" + table)))
                    errors += 1
                    f = self.same_as_direct_or_stock(
                        f"{table} smtputf8={utf8} key of {len(key)} bytes",
                        *(self.outcome(r) for r in (d, p, s)))
                    if f:
                        failures.append(f)
        print(f"server types: {len(hits)} table/smtputf8 runs x up to {len(KEYS)} keys, "
              f"hits {hits}, {errors} failing lookup(s) compared alone, "
              f"{len(failures)} difference(s)")
        self.assertEqual(failures, [], "\n".join(failures)[:6000])

    @staticmethod
    def outcome(r):
        """r with a query error told apart from "not found" (both exit 1)."""
        return subprocess.CompletedProcess(
            r.args, r.returncode, r.stdout + (b"<fatal>" if b"fatal:" in r.stderr else b""),
            r.stderr)

    def query_one(self, table: str, key: str) -> str:
        p = self.postmap(self.configs("yes")[0], "-q", key, "proxy:" + table)
        self.assertEqual(p.returncode, 0, f"{table} {key!r}: {p.stderr[-300:]!r}")
        return p.stdout.decode()

    def test_special_characters_reach_client(self):
        # Values pass unchanged; filter metacharacters in keys are escaped
        # (no wildcard match), several values join with commas.
        ldap = self.pf.tables["ldap"]
        self.assertEqual(self.query_one(ldap, "alice@example.com"), SPECIAL + "\n")
        self.assertEqual(self.query_one(ldap, "ALICE@Example.COM"), SPECIAL + "\n")
        self.assertEqual(self.query_one(ldap, "spam.example"),
                         "REJECT spam \u2603,second, value\n")
        self.assertEqual(self.query_one(ldap, "back\\slash"), "backslash-value \\\n")
        self.assertEqual(self.query_one(ldap, "star*key"), "star-value\n")
        self.assertEqual(self.query_one(ldap, "o'brien+tag@example.com"), "plus+value\n")
        self.assertEqual(self.query_one(ldap, "m\u00fcller@b\u00fccher.example"),
                         "utf8-value \u00fcn\u00efc\u00f6de\n")
        self.assertEqual(self.query_one(ldap, LONG), "long-value\n")
        for t in ("memcache", "socketmap"):
            self.assertEqual(self.query_one(self.pf.tables[t], "alice@example.com"),
                             SPECIAL + "\n", t)
            self.assertEqual(self.query_one(self.pf.tables[t], MC_LONG), "long-240\n", t)
        # memcache folds the key to lower case; socketmap sends it as is
        # (and this server matches exactly), directly as through proxyd.
        mixed = "Alice@example.com"
        self.assertEqual(self.query_one(self.pf.tables["memcache"], mixed), SPECIAL + "\n")
        for table in (self.pf.tables["socketmap"], "proxy:" + self.pf.tables["socketmap"]):
            r = self.postmap(self.configs("yes")[0], "-q", mixed, table)
            self.assertEqual((r.returncode, r.stdout), (1, b""), table)
        miss = self.postmap(self.configs("yes")[0], "-q", "star*", "proxy:" + ldap)
        self.assertEqual((miss.returncode, miss.stdout), (1, b""), miss.stderr)
        self.assertGreater(self.servers["socketmap"].requests, 0)

    def test_temporary_error_passed_on(self):
        # The socketmap server answers TEMP: the client sees the lookup
        # error as with the direct lookup (or stock proxymap), never "not found".
        table = self.pf.tables["socketmap"]
        via, stock = self.configs("yes")
        d = self.postmap(via, "-q", "temp.example", table)
        p = self.postmap(via, "-q", "temp.example", "proxy:" + table)
        s = self.postmap(stock, "-q", "temp.example", "proxy:" + table)
        self.assertIn(b"fatal: table proxy:" + table.encode() + b": query error", p.stderr)
        self.assertIsNone(self.same_as_direct_or_stock(
            "socketmap TEMP", *(self.outcome(r) for r in (d, p, s))))
        print(f"socketmap TEMP: direct rc={d.returncode}, proxyd rc={p.returncode}, "
              f"stock rc={s.returncode}: {p.stderr.strip().splitlines()[-1][-200:]!r}")

    def sequence_status(self, sock: str, table: str) -> bytes:
        """The status of a first sequence request, or b"EOF" when the
        server closes the connection instead of answering."""
        with proxyproto.Conn(self.pf.socket(sock)) as c:
            try:
                r = dict(c.request([("request", "sequence"), ("table", table),
                                    ("flags", 0), ("function", 0)]))
            except EOFError:
                return b"EOF"
        return r[b"status"]

    def test_sequence_as_direct_and_stock(self):
        # None of the three sequences. postmap -s refuses proxy: tables
        # itself, through proxyd as through Postfix's own proxymap, and
        # prints nothing; directly, ldap and socketmap fail and memcache
        # (no backup database) lists nothing.
        via, stock = self.configs("yes")
        for name, table in self.pf.tables.items():
            d = self.postmap(via, "-s", table)
            p = self.postmap(via, "-s", "proxy:" + table)
            s = self.postmap(stock, "-s", "proxy:" + table)
            self.assertEqual((d.returncode, d.stdout), (0 if name == "memcache" else 1, b""),
                             f"{name}: {d.stderr[-300:]!r}")
            self.assertEqual((p.returncode, p.stdout), (1, b""), name)
            self.assertEqual((p.returncode, p.stdout), (s.returncode, s.stdout), name)
            print(f"{name}: postmap -s direct rc={d.returncode}, through proxyd "
                  f"rc={p.returncode}, through stock proxymap rc={s.returncode}")
        # On the wire, memcache's sequence request ends at once, forwarded
        # as Postfix's proxymap answers it.
        mc = self.pf.tables["memcache"]
        ours, theirs = self.sequence_status("proxyd", mc), self.sequence_status("proxymap", mc)
        self.assertEqual((ours, theirs), (b"1", b"1"))

    def test_sequence_unsupported_costs_one_retry(self):
        # Postfix's proxymap exits (fatal) on a sequence request for a table
        # that cannot sequence and the client sees the connection close;
        # proxyd answers that request RETRY and then forwards as before.
        # Sent once, through proxyd only: two such deaths in a row make
        # master(8) throttle proxymap for a minute.
        table = self.pf.tables["socketmap"]
        self.assertEqual(self.sequence_status("proxyd", table), b"2")
        self.assertRegex(self.pf.log(), r"proxymap\[\d+\]: fatal: table socketmap:.*"
                         r"sequence operation is not supported")
        t0 = time.monotonic()
        while True:
            st, value = tf.lookup(self.pf.socket("proxyd"), table, "alice@example.com")
            if st == 0 or time.monotonic() - t0 > 90:
                break
            time.sleep(0.2)
        self.assertEqual((st, value), (0, SPECIAL.encode()))
        print(f"unsupported sequence: RETRY; forwarding again after "
              f"{time.monotonic() - t0:.2f} s")


if __name__ == "__main__":
    if not tf.have_root():
        print("SKIP: needs root for master(8)")
        sys.exit(77)
    unittest.main(verbosity=2)
