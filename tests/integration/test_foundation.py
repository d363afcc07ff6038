"""End-to-end tests of the proxyd foundation against real Postfix clients.

Starts proxyd on a scratch queue directory and runs Debian's real `postmap`
through `proxy:` for static:, inline:, texthash: and sqlite: tables,
requiring byte-identical answers to the same `postmap` reading the table
directly (Postfix is the oracle), with smtputf8 on and off, also with
postmap -f/-F/-N/-n, also in the 3.11 layout, and for texthash lines that
hold a NUL byte. Raw-protocol cases cover the 3.11+ layout, DENY, BAD,
write refusal and a misbehaving client that must not disturb anyone else.
"""

from __future__ import annotations

import sqlite3
import sys
import threading
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
import proxyproto  # noqa: E402
import test_sql_differential as sqd  # noqa: E402  (postmap answers, the 3.11 client)

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"

KEYS = [
    b"john@example.org", b"John@Example.ORG", b"JOHN@EXAMPLE.ORG", b"team@example.org",
    b"@example.org", b"example.org", b"Example.ORG", b"nobody@example.org", b"user@",
    b"o'neil@example.org", b"O'Neil@Example.org", b'quo"te@example.org', b"50%@example.org",
    b"%s@example.org", b"back\\slash@example.org", b"j\xc3\xb6rg@b\xc3\xbccher.example",
    b"J\xc3\x96RG@B\xc3\x9cCHER.example", b"\xce\x91\xce\xb8\xce\xae\xce\xbd\xce\xb1@example.org",
    b"' OR '1'='1", b"x'; DROP TABLE kv; --", b"inv\xffalid@example.org", b"a" * 2048,
    b"Foo@Example.com", b"foo@example.com", b"key2", b"KEY2", b"k3", b"spaced key",
    b"multi@example.org", b"null@example.org", b"empty@example.org",
    # Unicode case folding (ICU with smtputf8 on, as Postfix's casefold()).
    "JÜRGEN@EXÄMPLE.ORG".encode(), "jÜrgen@exÄmple.org".encode(),
    "jürgen@exämple.org".encode(), "Straße".encode(), b"STRASSE", b"strasse",
    "A@STRAßE.DE".encode(), b"a@strasse.de",
]

KV_ROWS = [
    ("o'neil@example.org", "quote-ok"),
    ('quo"te@example.org', "dquote-ok"),
    ("50%@example.org", "percent-ok"),
    ("%s@example.org", "literal-percent-s"),
    ("back\\slash@example.org", "backslash-ok"),
    ("j\u00f6rg@b\u00fccher.example", "utf8-ok"),
    ("\u03b1\u03b8\u03ae\u03bd\u03b1@example.org", "greek-ok"),
    ("Mixed@Example.ORG", "stored-mixed-case"),
    ("multi@example.org", "one"),
    ("multi@example.org", "two"),
    ("null@example.org", None),
    ("empty@example.org", ""),
    ("example.org", "bare-domain"),
    ("@example.org", "catch-all"),
    ("jürgen@exämple.org", "icu-folded"),
    ("jÜrgen@exÄmple.org", "ascii-folded"),
    ("a@strasse.de", "strasse-icu"),
    ("a@straße.de", "strasse-ascii"),
]

TEXTHASH = """\
# comment line
Foo@Example.com   texthash-value-1
key2 second value with  spaces
  continued line
@example.org catchall-from-texthash
j\u00f6rg@b\u00fccher.example utf8-texthash
o'neil@example.org quote-texthash
J\u00dcRGEN@EX\u00c4MPLE.ORG texthash-juergen
Stra\u00dfe texthash-strasse
"""


UNICODE_INLINE = "inline:{J\u00dcrgen@Ex\u00e4mple.org=inline-juergen, Stra\u00dfe=inline-strasse}"


class TablesEnv:
    """Base of the scratch layouts: approves self.tables and runs proxyd."""

    scratch: harness.Scratch
    tables: list[str]

    def serve(self, smtputf8: bool) -> None:
        approved = ", ".join("proxy:" + t for t in self.tables)
        self.scratch.write_main_cf(f"smtputf8_enable = {'yes' if smtputf8 else 'no'}\n"
                                   f"proxy_read_maps = {approved}\n")
        self.proxyd = harness.Proxyd(self.scratch).start()

    def close(self):
        self.proxyd.stop()
        self.scratch.__exit__(None, None, None)


class Env(TablesEnv):
    """One scratch Postfix layout with every table type, and a running proxyd."""

    def __init__(self, smtputf8: bool):
        self.scratch = harness.Scratch(prefix="pxf")
        s = self.scratch
        db = s.path("mail.db")
        con = sqlite3.connect(db)
        con.executescript((DEMO / "schema.sql").read_text())
        con.execute("CREATE TABLE kv (k TEXT, v TEXT)")
        con.executemany("INSERT INTO kv VALUES (?, ?)", KV_ROWS)
        con.commit()
        con.close()
        s.write("kv.cf", f"dbpath = {db}\nquery = SELECT v FROM kv WHERE k='%s'\n")
        s.write("kv-fmt.cf", f"dbpath = {db}\nquery = SELECT v FROM kv WHERE k='%s'\n"
                             "result_format = <%s> for %U at %D\n")
        s.write("kv-domain.cf", f"dbpath = {db}\nquery = SELECT v FROM kv WHERE k='%s'\n"
                                "domain = example.org\n")
        # A domain list of mixed-case non-ASCII names: folded like match_list.
        s.write("kv-udomain.cf", f"dbpath = {db}\nquery = SELECT v FROM kv WHERE k='%s'\n"
                                 "domain = EX\u00c4MPLE.ORG, Stra\u00dfe.DE\n")
        s.write("aliases.cf", f"dbpath = {db}\n"
                              "query = SELECT destination FROM virtual_aliases WHERE source='%s'\n")
        s.write("legacy.cf", f"dbpath = {db}\ntable = virtual_users\nselect_field = email\n"
                             "where_field = email\nadditional_conditions = AND quota = 0\n")
        s.write("localpart.cf", f"dbpath = {db}\n"
                                "query = SELECT email FROM virtual_users WHERE email='%u@%d'\n")
        s.write("texthash.txt", TEXTHASH)
        self.tables = [
            "static:found-it",
            "static:{ static with spaces }",
            "inline:{Foo@Example.com=inline-value, key2=second, { k3 = v3, with comma }}",
            f"texthash:{s.path('texthash.txt')}",
            f"sqlite:{s.path('kv.cf')}",
            f"sqlite:{s.path('kv-fmt.cf')}",
            f"sqlite:{s.path('kv-domain.cf')}",
            f"sqlite:{s.path('kv-udomain.cf')}",
            UNICODE_INLINE,
            f"sqlite:{s.path('aliases.cf')}",
            f"sqlite:{s.path('legacy.cf')}",
            f"sqlite:{s.path('localpart.cf')}",
        ]
        self.serve(smtputf8)


def assert_oracle(test: unittest.TestCase, env, cases) -> None:
    """Require no difference between direct and proxy: lookups for each
    (table, keys, postmap options, require_hits) case, then close env."""
    try:
        for table, keys, args, hits in cases:
            with test.subTest(table=table, options=args):
                diffs = harness.compare_direct_and_proxy(env.scratch, table, keys,
                                                         extra_args=args, require_hits=hits)
                test.assertEqual(diffs, [], "\n".join(diffs))
        test.assertTrue(env.proxyd.alive(), env.proxyd.log())
    finally:
        env.close()


def assert_answers(test: unittest.TestCase, env, expect) -> None:
    """Require each (postmap options, table, key, stdout) case to print
    stdout both directly and through proxy:, then close env."""
    try:
        for args, table, key, out in expect:
            for name in (table, "proxy:" + table):
                r = harness.postmap_query(env.scratch, name, [key], extra_args=args)
                test.assertEqual(r.stdout, out, (args, name, key, r.stderr))
    finally:
        env.close()


class BothSmtputf8:
    """Mixin: run_corpus() with smtputf8_enable on and off."""

    def test_smtputf8_on(self):
        self.run_corpus(True)

    def test_smtputf8_off(self):
        self.run_corpus(False)


class OracleTest(BothSmtputf8, unittest.TestCase):
    """postmap -q through proxy: must print what postmap -q prints directly."""

    def run_corpus(self, smtputf8: bool):
        env = Env(smtputf8)
        assert_oracle(self, env, [(table, KEYS, [], True) for table in env.tables])

    def test_oracle_finds_something(self):
        # Guard against a vacuous oracle: known keys must really be found.
        env = Env(True)
        s = env.scratch
        assert_answers(self, env, [
            ([], "sqlite:" + str(s.path("aliases.cf")), b"team@example.org",
             b"team@example.org\tjohn@example.org,jane@example.org\n"),
            ([], "sqlite:" + str(s.path("kv.cf")), b"O'Neil@Example.org",
             b"O'Neil@Example.org\tquote-ok\n"),
            ([], "sqlite:" + str(s.path("kv.cf")), b"multi@example.org",
             b"multi@example.org\tone,two\n"),
            ([], "sqlite:" + str(s.path("kv-fmt.cf")), b"multi@example.org",
             b"multi@example.org\t<one> for multi at example.org,"
             b"<two> for multi at example.org\n"),
            ([], "static:found-it", b"anything", b"anything\tfound-it\n"),
            # Unicode folding (ICU) of domain lists and stored keys.
            ([], "sqlite:" + str(s.path("kv-udomain.cf")), "JÜRGEN@EXÄMPLE.ORG".encode(),
             "JÜRGEN@EXÄMPLE.ORG\ticu-folded\n".encode()),
            ([], "sqlite:" + str(s.path("kv-udomain.cf")), "A@STRAßE.DE".encode(),
             "A@STRAßE.DE\tstrasse-icu\n".encode()),
            ([], UNICODE_INLINE, b"STRASSE", b"STRASSE\tinline-strasse\n"),
            ([], "texthash:" + str(s.path("texthash.txt")), "jÜrgen@exÄmple.org".encode(),
             "jÜrgen@exÄmple.org\ttexthash-juergen\n".encode()),
        ])


class FlagsEnv(TablesEnv):
    """Tables whose answers depend on the flags a client opens them with:
    mixed-case and non-ASCII keys, and values that name files (for -F)."""

    def __init__(self, smtputf8: bool):
        self.scratch = harness.Scratch(prefix="pxi")
        s = self.scratch
        cert = s.write("cert.pem", "-----BEGIN CERT-----\nMIIB\n-----END CERT-----\n")
        key = s.write("key.pem", "KEY\n")
        db = s.path("kv.db")
        con = sqlite3.connect(db)
        con.execute("CREATE TABLE kv (k TEXT, v TEXT)")
        con.executemany("INSERT INTO kv VALUES (?, ?)",
                        [("MixedCase", "sql-mixed"), ("mixedcase", "sql-lower"),
                         ("Stra\u00dfe", "sql-strasse")])
        con.commit()
        con.close()
        s.write("kv.cf", f"dbpath = {db}\nquery = SELECT v FROM kv WHERE k='%s'\n")
        s.write("th.txt", f"MixedCase {cert}\nStra\u00dfe {cert}, {key}\nlower {key}\n")
        self.tables = [
            f"static:{cert}",
            f"inline:{{MixedCase={cert}, {{Stra\u00dfe = {cert} {key}}}, lower={key}}}",
            f"texthash:{s.path('th.txt')}",
            f"sqlite:{s.path('kv.cf')}",
            "unix:passwd.byname",
        ]
        self.serve(smtputf8)


FLAG_KEYS = [b"MixedCase", b"MIXEDCASE", "Straße".encode(), b"STRASSE", b"lower", b"LOWER",
             b"root", b"Root", b"nobody", b"anything"]


class InstanceFlagsTest(BothSmtputf8, unittest.TestCase):
    """postmap -f, -F, -N and -n through proxy: print what they print directly.

    Each option changes the flags the client opens its table with; proxyd
    keeps one instance per table and instance flags, as proxymap does.
    """

    def run_corpus(self, smtputf8: bool):
        env = FlagsEnv(smtputf8)
        cases = []
        for option in ("-f", "-F", "-N", "-n", "-fF"):
            for table in env.tables:
                keys = FLAG_KEYS
                if smtputf8 and "f" in option and table.startswith(("inline:", "texthash:")):
                    # A 3.6-3.10 request cannot tell "postmap -f" from a
                    # client whose UTF-8 layer folded the key, except by a
                    # key that folding would change: keys already in folded
                    # form are served as folded (the 3.11 layout carries the
                    # difference; see test_v2_instance_flags).
                    keys = [k for k in keys if k.decode().casefold() != k.decode()]
                # -F on a table whose values are not base64 fails both ways
                # (sqlite, unix:); then nothing is found.
                hits = not ("F" in option and table.startswith(("sqlite:", "unix:")))
                cases.append((table, keys, [option], hits))
        assert_oracle(self, env, cases)

    def test_options_change_answers(self):
        # Guard against a vacuous comparison: the options really change what
        # the direct lookup prints, and proxy: prints the same.
        env = FlagsEnv(False)
        s = env.scratch
        texthash = f"texthash:{s.path('th.txt')}"
        path = str(s.path("cert.pem")).encode()
        cert = s.path("cert.pem").read_bytes()
        assert_answers(self, env, [
            (["-f"], texthash, b"MixedCase", b"MixedCase\t" + path + b"\n"),
            (["-f"], texthash, b"mixedcase", b""),
            ([], texthash, b"MIXEDCASE", b"MIXEDCASE\t" + path + b"\n"),
            (["-F"], texthash, b"MixedCase", b"MixedCase\t" + cert + b"\n"),
            (["-F"], env.tables[0], b"x", b"x\t" + cert + b"\n"),
        ])


def direct_answers(scratch: harness.Scratch, table: str, keys: list[bytes],
                   options: tuple[str, ...]) -> list[tuple[str, bytes]]:
    """sql_differential's answers from the direct lookup; with -F key by key,
    as the files' contents span lines."""
    if "-F" not in options:
        return sqd.table_answers(scratch, table, keys, options=options)
    out = []
    for key in keys:
        r = harness.postmap_one(scratch, table, key, extra_args=list(options))
        fatal = [line for line in r.stderr.split(b"\n") if b"fatal:" in line]
        if fatal:
            out.append(sqd.classify_fatal(fatal[0]))
        elif r.returncode == 0:  # -q KEY prints the value alone
            out.append(("OK", r.stdout[:-1]))
        else:
            out.append(sqd.NOKEY)
    return out


class V311LayoutTest(BothSmtputf8, unittest.TestCase):
    """The same options in the 3.11 layout (instance_flags on open and
    lookup), spoken by the project's protocol client as Postfix 3.11's
    postmap would (sql_differential's helper), against the direct lookup by
    Debian's postmap, for every native type but mysql and pgsql (which
    sql_differential covers)."""

    def run_corpus(self, smtputf8: bool):
        env = FlagsEnv(smtputf8)
        diffs, compared, found = [], 0, 0
        try:
            # The 3.11 client's UTF-8 layer refuses keys that are not UTF-8.
            keys = [k for k in FLAG_KEYS if not smtputf8 or sqd.is_utf8(k)]
            for options in sqd.FLAG_OPTIONS:
                for table in env.tables:
                    direct = direct_answers(env.scratch, table, keys, options)
                    v311 = sqd.v311_answers(env.proxyd.proxymap_socket, table, keys, options,
                                            smtputf8)
                    found += sum(1 for a in direct if a[0] == "OK")
                    compared += len(keys)
                    diffs += [f"{table} {' '.join(options)} {k!r}: direct {sqd.show(d)} | "
                              f"3.11 layout {sqd.show(v)}"
                              for k, d, v in zip(keys, direct, v311)
                              if not sqd.same_answer(d, v)]
            self.assertTrue(env.proxyd.alive(), env.proxyd.log())
        finally:
            env.close()
        print(f"3.11 layout, smtputf8 {'on' if smtputf8 else 'off'}: {compared} lookups "
              f"compared, {found} found directly", flush=True)
        self.assertGreater(found, 0, "nothing found directly: the comparison proves nothing")
        self.assertEqual(diffs, [], "\n".join(diffs))


# A texthash line with a NUL byte (issue 13): what the installed Postfix
# (Debian's 3.7.11) reads there, through proxy: as directly.
TEXTHASH_NUL = b"key1 val\0ue\nkey2 after\nke\0y3 v3\nk\0ey4\tv4\n\0key5 v5\nkey6 v6\n"


class TexthashNulTest(unittest.TestCase):
    def test_nul_lines_read_as_the_installed_postmap_reads_them(self):
        for smtputf8 in (True, False):
            with self.subTest(smtputf8=smtputf8):
                env = TablesEnv()
                env.scratch = harness.Scratch(prefix="pxn")
                path = env.scratch.write("nul.txt", TEXTHASH_NUL)
                table = f"texthash:{path}"
                env.tables = [table]
                env.serve(smtputf8)
                keys = [b"key1", b"key2", b"ke", b"key3", b"k", b"key4", b"ey4", b"key5",
                        b"key6", b"y3"]
                # Guard: the direct lookup finds key1 (cut at the NUL) and key6.
                direct = harness.postmap_query(env.scratch, table, [b"key1", b"key6"])
                self.assertEqual(direct.stdout, b"key1\tval\nkey6\tv6\n", direct.stderr)
                assert_oracle(self, env, [(table, keys, [], True)])


class ProtocolTest(unittest.TestCase):
    """Raw protocol cases: both layouts, refusals, malformed input."""

    @classmethod
    def setUpClass(cls):
        cls.env = Env(True)
        cls.sock = cls.env.proxyd.proxymap_socket
        cls.wsock = cls.env.proxyd.proxywrite_socket
        cls.kv = "sqlite:" + str(cls.env.scratch.path("kv.cf"))

    @classmethod
    def tearDownClass(cls):
        cls.env.close()

    def test_v1_layout(self):
        with proxyproto.Conn(self.sock) as c:
            self.assertEqual(c.request([("request", "open"), ("table", self.kv), ("flags", 0)]),
                             [(b"status", b"0"), (b"flags", b"16")])
            r = c.request([("request", "lookup"), ("table", self.kv), ("flags", 524353),
                           ("key", "multi@example.org")])
            self.assertEqual(r, [(b"status", b"0"), (b"value", b"one,two")])
            r = c.request([("request", "lookup"), ("table", self.kv), ("flags", 524353),
                           ("key", "missing@example.org")])
            self.assertEqual(r, [(b"status", b"1"), (b"value", b"")])

    def test_v2_layout(self):
        with proxyproto.Conn(self.sock) as c:
            r = c.request([("request", "open"), ("table", self.kv),
                           ("instance_flags", 540737)])
            self.assertEqual(r[0], (b"status", b"0"))
            self.assertEqual(r[1][0], b"flags")
            flags = int(r[1][1])
            # Every requested bit survives, FIXED is added, UTF8_ACTIVE is not.
            self.assertEqual(flags & 540737, 540737)
            self.assertTrue(flags & 0x10)
            self.assertFalse(flags & 0x100000)
            r = c.request([("request", "lookup"), ("table", self.kv),
                           ("instance_flags", 540737), ("flags", flags),
                           ("key", "multi@example.org")])
            self.assertEqual(r, [(b"status", b"0"), (b"flags", str(flags).encode()),
                                 (b"value", b"one,two")])
            r = c.request([("request", "lookup"), ("table", "sqlite:/not/approved.cf"),
                           ("instance_flags", 0), ("flags", 0), ("key", "x")])
            self.assertEqual(r, [(b"status", b"4"), (b"flags", b"0"), (b"value", b"")])

    def test_v2_instance_flags(self):
        # The 3.11+ layout names the instance: inline: opened with FOLD_FIX
        # stores folded keys, opened without it (postmap -f) keys as written;
        # SRC_RHS_IS_FILE values are the base64 of the named files.
        table = "inline:{Foo@Example.com=inline-value, key2=second, { k3 = v3, with comma }}"

        def lookup(c, inst, flags, key, name=table):
            return c.request([("request", "lookup"), ("table", name),
                              ("instance_flags", inst), ("flags", flags), ("key", key)])

        fold, utf8 = 0x4000, 0x80000
        with proxyproto.Conn(self.sock) as c:
            self.assertEqual(lookup(c, fold | utf8, utf8, "foo@example.com")[2],
                             (b"value", b"inline-value"))
            self.assertEqual(lookup(c, fold | utf8, utf8, "Foo@Example.com")[0], (b"status", b"1"))
            self.assertEqual(lookup(c, utf8, utf8, "Foo@Example.com")[2],
                             (b"value", b"inline-value"))
            self.assertEqual(lookup(c, utf8, utf8, "foo@example.com")[0], (b"status", b"1"))
            # FOLD_FIX in the request folds the key (client without a UTF-8 layer).
            self.assertEqual(lookup(c, fold, fold, "FOO@EXAMPLE.COM")[2],
                             (b"value", b"inline-value"))
        rhs = 0x200000
        with proxyproto.Conn(self.sock) as c:
            # static:found-it names no file: with SRC_RHS_IS_FILE that
            # instance cannot open (RETRY, as Postfix's surrogate answers);
            # the ordinary instance still answers.
            r = lookup(c, fold | utf8 | rhs, utf8, "x", name="static:found-it")
            self.assertEqual(r[0], (b"status", b"2"))
            r = lookup(c, fold | utf8, utf8, "x", name="static:found-it")
            self.assertEqual(r[2], (b"value", b"found-it"))
        self.assertIn("open found-it: No such file or directory", self.env.proxyd.log())

    def test_deny_unlisted_table_with_log_line(self):
        with proxyproto.Conn(self.sock) as c:
            r = c.request([("request", "open"), ("table", "proxy:proxy:sqlite:/etc/x.cf"),
                           ("flags", 0)])
            self.assertEqual(r, [(b"status", b"4"), (b"flags", b"0")])
        log = self.env.proxyd.log()
        self.assertIn('request for unapproved table: "sqlite:/etc/x.cf"', log)
        self.assertIn("to approve this table for read-only access, list proxy:sqlite:/etc/x.cf "
                      "in main.cf:proxy_read_maps", log)

    def test_real_client_sees_deny(self):
        r = harness.postmap_one(self.env.scratch, "proxy:sqlite:/etc/not-listed.cf", "x")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"proxymap service is not configured for table", r.stderr)

    def test_bad_requests(self):
        with proxyproto.Conn(self.sock) as c:
            # Table name without a colon.
            self.assertEqual(c.request([("request", "open"), ("table", "foo"), ("flags", 0)]),
                             [(b"status", b"3"), (b"flags", b"0")])
            # Misordered attributes.
            self.assertEqual(c.request([("request", "lookup"), ("flags", 0),
                                        ("table", self.kv), ("key", "k")]),
                             [(b"status", b"3"), (b"value", b"")])
            # Malformed number.
            self.assertEqual(c.request([("request", "lookup"), ("table", self.kv),
                                        ("flags", "12x"), ("key", "k")]),
                             [(b"status", b"3"), (b"value", b"")])
            # Unknown request: a reply with the status alone.
            self.assertEqual(c.request([("request", "frobnicate")]), [(b"status", b"3")])
            # First attribute is not "request".
            self.assertEqual(c.request([("table", self.kv)]), [(b"status", b"3")])
            # Bad sequence function.
            self.assertEqual(c.request([("request", "sequence"), ("table", self.kv),
                                        ("flags", 0), ("function", 7)]),
                             [(b"status", b"3"), (b"key", b""), (b"value", b"")])
            # The connection is still usable afterwards.
            r = c.request([("request", "lookup"), ("table", self.kv), ("flags", 0),
                           ("key", "multi@example.org")])
            self.assertEqual(r, [(b"status", b"0"), (b"value", b"one,two")])

    def test_write_refused_on_proxymap(self):
        with proxyproto.Conn(self.sock) as c:
            r = c.request([("request", "update"), ("table", self.kv), ("flags", 0),
                           ("key", "k"), ("value", "v")])
            self.assertEqual(r, [(b"status", b"4")])
            r = c.request([("request", "delete"), ("table", self.kv), ("flags", 0),
                           ("key", "k")])
            self.assertEqual(r, [(b"status", b"4")])
        self.assertIn("refusing " + self.kv + " update request on non-proxywrite service",
                      self.env.proxyd.log())

    def test_proxywrite_uses_write_allowlist(self):
        with proxyproto.Conn(self.wsock) as c:
            r = c.request([("request", "lookup"), ("table", self.kv), ("flags", 0),
                           ("key", "multi@example.org")])
            self.assertEqual(r, [(b"status", b"4"), (b"value", b"")])
        self.assertIn("list proxy:" + self.kv + " in main.cf:proxy_write_maps",
                      self.env.proxyd.log())

    def test_pipelined_requests_answered_in_order(self):
        with proxyproto.Conn(self.sock) as c:
            keys = [f"k{i}@example.org" for i in range(20)] + ["multi@example.org"]
            c.send(b"".join(proxyproto.encode([("request", "lookup"), ("table", self.kv),
                                               ("flags", 0), ("key", k)]) for k in keys))
            replies = [c.read() for _ in keys]
            self.assertEqual(replies[:-1], [[(b"status", b"1"), (b"value", b"")]] * 20)
            self.assertEqual(replies[-1], [(b"status", b"0"), (b"value", b"one,two")])

    def test_split_request_bytes(self):
        with proxyproto.Conn(self.sock) as c:
            data = proxyproto.encode([("request", "lookup"), ("table", self.kv), ("flags", 0),
                                      ("key", "multi@example.org")])
            for i in range(len(data)):
                c.send(data[i:i + 1])
            self.assertEqual(c.read(), [(b"status", b"0"), (b"value", b"one,two")])

    def test_garbage_client_does_not_disturb_others(self):
        errors = []

        def good_client():
            try:
                with proxyproto.Conn(self.sock) as c:
                    for _ in range(200):
                        r = c.request([("request", "lookup"), ("table", self.kv),
                                       ("flags", 0), ("key", "multi@example.org")])
                        if r != [(b"status", b"0"), (b"value", b"one,two")]:
                            errors.append(r)
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        t = threading.Thread(target=good_client)
        t.start()
        # An attribute name far over the limit: framing cannot recover.
        bad = proxyproto.Conn(self.sock)
        bad.send(b"request\0lookup\0" + b"N" * 100000)
        self.assertTrue(bad.closed_by_peer(5.0))
        bad.close()
        # A client that starts a request and disconnects half-way.
        half = proxyproto.Conn(self.sock)
        half.send(b"request\0look")
        half.close()
        # Random bytes.
        noise = proxyproto.Conn(self.sock)
        noise.send(bytes(range(256)) * 50)
        noise.close()
        t.join(60)
        self.assertEqual(errors, [])
        self.assertTrue(self.env.proxyd.alive())
        self.assertIn("closing connection", self.env.proxyd.log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
