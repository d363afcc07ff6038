#!/usr/bin/env python3
"""Differential test of mysql:, pgsql: and sqlite: tables, direct vs proxy:.

Starts private MariaDB and PostgreSQL servers (dbservers.py), loads the
fixture schemas and data (sql/), renders the table definitions (tables/)
and runs the key corpus (keys/corpus.txt) through real Postfix `postmap`,
reading each table directly and through `proxy:` served by the proxyd under
test (PROXYD_EXE). Any difference in found/not-found/error or in the value
is a failure. For mysql and pgsql the proxied run is made twice: once key
by key, and once by 8 postmap processes at the same time against a proxyd
with a single database session, so that lookups queue up and proxyd sends
them in batches (mysql: several statements per round trip; pgsql: a libpq
pipeline); the stats command must show that batches formed. For mysql and pgsql,
three tables (edge_s, domain_list_unicode, rhs_base64) are then looked up
with postmap -f, -F, -N, -n and -fF directly and through proxy:, by
Debian's postmap and by the project's protocol client speaking the 3.11
layout (instance_flags) as 3.11's postmap would (issue 13); every answer
must match the direct one. Last, proxyd is restarted on a main.cf with
smtputf8_enable = no, and the keys that are not UTF-8 (which a client
without a UTF-8 layer sends as they are) are compared direct against proxy:
on every table that answers (issue 13). With --direct-only it checks only
Postfix's direct answers against the `#! KEY => ANSWER` expectations written
in each table file, so the fixtures cannot rot silently; that mode needs no
proxyd.
With --loop-session the mysql and pgsql proxyd has two sessions with
loop_queries = yes, so that key-by-key lookups run on the event loop's
session (mysql: the Connector/C one, pgsql: libpq's asynchronous calls);
the stats command must show lookups the loop answered.

Usage: test_sql_differential.py [--direct-only] [--loop-session]
                                [--backend mysql|pgsql|sqlite]
Standard library only. Exit status 0 = no differences, 1 = differences or
expectation failures, 2 = setup failure.
"""

from __future__ import annotations

import argparse
import base64
import codecs
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import harness  # noqa: E402
import proxyproto  # noqa: E402
from dbservers import MariaDB, PostgreSQL, ServerError, dead_port, terminate_on_signals  # noqa: E402

SQL_DIR = HERE / "sql"
TABLES_DIR = HERE / "tables"
CORPUS = HERE / "keys" / "corpus.txt"
BACKENDS = ("mysql", "pgsql", "sqlite")

# Database users (name, password, databases). The tutorials' own credentials
# where the seeds give them; erruser is used only by tables that are meant
# to fail, so a session pool keyed on credentials never mixes them with the
# healthy tables; quirky has a password that stresses .cf parsing.
MAILUSER_PASSWORD = "fLxsWdf5ABLqwhZr"
USERS = (
    ("mailuser", MAILUSER_PASSWORD, ("mailserver",)),
    ("erruser", "errpw", ("mailserver",)),
    ("quirky", "a b'c\"d\\e#f", ("mailserver",)),
    ("someone", "some_password", ("customer_database",)),
    ("groveld", "gr0veld-pw", ("groveld",)),
)
DATABASES = ("mailserver", "groveld", "customer_database")
# A postmap that runs longer than this is killed and counted as an error
# (a proxy client retries forever when the service keeps failing).
POSTMAP_TIMEOUT = float(os.environ.get("SQL_DIFF_POSTMAP_TIMEOUT", "30"))
NOKEY = ("NOKEY", b"")
# Lookup errors, told apart by postmap's fatal message: "query error: %m"
# is a temporary error (DICT_ERR_RETRY), a bare "query error" a
# configuration error (DICT_ERR_CONFIG), anything else a fatal error inside
# the driver (e.g. 3.7's sqlite prepare failure), which a real proxymap would
# die of; through proxy: that can only surface as RETRY.
RETRY = ("RETRY", b"")
CONFIG = ("CONFIG", b"")
FATAL = ("FATAL", b"")
ERRORS = (RETRY, CONFIG, FATAL)
ERROR = ("ERROR", b"")           # expectation wildcard: any of ERRORS


# ---------------------------------------------------------------- corpus


def decode_key(text: str) -> bytes:
    """Corpus/expectation syntax: {N*c} repeats, Python escapes, <empty>."""
    if text == "<empty>":
        return b""
    text = re.sub(r"\{(\d+)\*(.)\}", lambda m: m.group(2) * int(m.group(1)), text)
    return codecs.escape_decode(text.encode("utf-8"))[0]


def load_corpus(path: Path = CORPUS) -> list[bytes]:
    """The key corpus as bytes, in file order."""
    keys = []
    for line in path.read_text(encoding="utf-8").split("\n"):
        if not line or line.startswith("#"):
            continue
        key = decode_key(line)
        if b"\n" in key:
            raise ValueError(f"corpus key with a newline: {line!r}")
        keys.append(key)
    return keys


# ---------------------------------------------------------------- tables


@dataclass
class TableDef:
    """One rendered table: its Postfix name and the fixture's expectations."""
    name: str                      # e.g. mysql:/tmp/pxd.../tables/edge_s.cf
    source: Path                   # the template it came from
    expect: list[tuple[bytes, tuple[str, bytes]]] = field(default_factory=list)
    requires_absent: list[str] = field(default_factory=list)


def render(text: str, subs: dict[str, str]) -> str:
    for k, v in subs.items():
        text = text.replace(f"@{k}@", v)
    left = re.findall(r"@[A-Z]+@", text)
    if left:
        raise ValueError(f"unfilled placeholders {left}")
    return text


def parse_expectations(text: str, table: TableDef) -> None:
    """Collect `#! KEY => VALUE|NOKEY|ERROR` and `#! requires-absent PATH`."""
    for line in text.split("\n"):
        if not line.startswith("#! "):
            continue
        body = line[3:]
        if body.startswith("requires-absent "):
            table.requires_absent.append(body.split(" ", 1)[1].strip())
            continue
        key, sep, want = body.rpartition(" => ")
        if not sep:
            raise ValueError(f"{table.source}: bad expectation {line!r}")
        if want == "NOKEY":
            answer = NOKEY
        elif want in ("ERROR", "RETRY", "CONFIG", "FATAL"):
            answer = (want, b"")
        else:
            answer = ("OK", decode_key(want))
        table.expect.append((decode_key(key), answer))


def write_tables(backend: str, scratch: harness.Scratch, subs: dict[str, str]
                 ) -> tuple[list[TableDef], str]:
    """Render tables/<backend>/ into the scratch dir; return tables + main.cf lines."""
    out_dir = Path(subs["DIR"])
    out_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(scratch.root, 0o755)
    os.chmod(out_dir, 0o755)
    for aux in sorted((TABLES_DIR / "aux").iterdir()):
        (out_dir / aux.name).write_text(render(aux.read_text(encoding="utf-8"), subs),
                                        encoding="utf-8")
    tables: list[TableDef] = []
    main_cf = []
    for tpl in sorted((TABLES_DIR / backend).iterdir()):
        text = render(tpl.read_text(encoding="utf-8"), subs)
        if tpl.suffix == ".cf":
            dst = out_dir / tpl.name
            dst.write_text(text, encoding="utf-8")
            os.chmod(dst, 0o644)
            t = TableDef(f"{backend}:{dst}", tpl)
        elif tpl.suffix == ".maincf":
            # main.cf-prefix form: "<prefix>_<param>" lines; table <backend>:<prefix>
            m = re.search(r"^(\w+?)_hosts\b|^(\w+?)_dbpath\b", text, re.M)
            if not m:
                raise ValueError(f"{tpl}: no <name>_hosts line")
            t = TableDef(f"{backend}:{m.group(1) or m.group(2)}", tpl)
            main_cf.append(text)
        else:
            # auxiliary file for this backend (e.g. my.cnf for option_file)
            (out_dir / tpl.name).write_text(text, encoding="utf-8")
            continue
        parse_expectations(text, t)
        tables.append(t)
    return tables, "\n".join(main_cf)


# ---------------------------------------------------------------- answers


def classify_fatal(line: bytes) -> tuple[str, bytes]:
    """RETRY, CONFIG or FATAL from postmap's fatal log line."""
    line = line.rstrip(b"\r\n")
    if re.search(rb"fatal: table \S+: query error: ", line):
        return RETRY
    if re.search(rb"fatal: table \S+: query error$", line):
        return CONFIG
    return FATAL


def same_answer(direct: tuple[str, bytes], proxied: tuple[str, bytes]) -> bool:
    """Equal answers. Where direct Postfix dies (FATAL: its proxymap process
    would die too and the client would retry forever), proxyd answers a
    temporary or configuration error instead, as SPEC 4.7 asks; both defer mail."""
    return direct == proxied or (direct == FATAL and proxied[0] in ("RETRY", "CONFIG"))


def matches(want: tuple[str, bytes], got: tuple[str, bytes]) -> bool:
    """An expectation holds (ERROR stands for any error class)."""
    return got == want or (want == ERROR and got in ERRORS)


def run_postmap(scratch: harness.Scratch, table: str, keys: list[bytes],
                options: tuple[str, ...] = ()) -> tuple[tuple[str, bytes] | None, bytes]:
    """`postmap -q - TABLE` over keys; returns (error class or None, stdout).

    A lookup error makes postmap log "fatal:" and then sleep one second
    before exiting (Postfix's msg_fatal), losing its buffered output; the
    process is killed as soon as the fatal line appears, to save that second.
    """
    cmd = [harness.POSTMAP, "-c", str(scratch.config_dir), *options, "-q", "-", table]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    out: list[bytes] = []
    data = b"".join(k + b"\n" for k in keys)

    def feed() -> None:
        try:
            proc.stdin.write(data)
            proc.stdin.close()
        except OSError:
            pass

    def drain() -> None:
        out.append(proc.stdout.read())

    threads = [threading.Thread(target=feed), threading.Thread(target=drain)]
    for t in threads:
        t.start()
    failed: tuple[str, bytes] | None = None
    timer = threading.Timer(POSTMAP_TIMEOUT, proc.kill)
    timer.start()
    try:
        for line in proc.stderr:
            if b"fatal:" in line or b"panic:" in line:
                failed = classify_fatal(line)
                proc.kill()
                break
        proc.stderr.read()
    finally:
        for t in threads:
            t.join()
        rc = proc.wait()
        timer.cancel()
    if rc not in (0, 1) and failed is None:   # 1 = nothing found
        failed = FATAL
    return failed, b"".join(out)


def table_answers(scratch: harness.Scratch, table: str, keys: list[bytes],
                  stats: dict | None = None, options: tuple[str, ...] = (),
                  each_on_error: bool = False) -> list[tuple[str, bytes]]:
    """Each key's answer (OK value / NOKEY / ERROR) from real postmap.

    Uses `postmap -q -` (one process per batch, fresh table state each
    time). postmap dies at the first lookup error (exit 1 + "fatal:", the
    same exit status as "not found" with -q KEY), so a failed batch is split
    in halves until the failing keys stand alone: a one-key batch that fails
    is that key's temporary/configuration error. With each_on_error a
    failed batch is run key by key at once (fewer runs when most keys fail).
    """
    res: list[tuple[str, bytes] | None] = [None] * len(keys)

    def solve(lo: int, hi: int) -> None:
        if lo >= hi:
            return
        failed, stdout = run_postmap(scratch, table, keys[lo:hi], options)
        if stats is not None:
            stats["spawns"] = stats.get("spawns", 0) + 1
        if failed:
            if hi - lo == 1:
                res[lo] = failed
                return
            if each_on_error:
                for i in range(lo, hi):
                    solve(i, i + 1)
                return
            mid = (lo + hi) // 2
            solve(lo, mid)
            solve(mid, hi)
            return
        j = lo
        for line in stdout.split(b"\n")[:-1]:
            while j < hi and not line.startswith(keys[j] + b"\t"):
                res[j] = NOKEY
                j += 1
            if j == hi:
                raise RuntimeError(f"{table}: cannot place output line {line[:200]!r}")
            res[j] = ("OK", line[len(keys[j]) + 1:])
            j += 1
        for k in range(j, hi):
            res[k] = NOKEY

    solve(0, len(keys))
    return res  # type: ignore[return-value]


PARALLEL = 8
# Drivers that send queued lookups in batches: run concurrently as well.
BATCHING = ("mysql", "pgsql")


def parallel_answers(scratch: harness.Scratch, table: str, keys: list[bytes]
                     ) -> list[tuple[str, bytes]]:
    """table_answers with PARALLEL postmap processes at once, each given
    every PARALLEL-th key, so that their lookups overlap in proxyd."""
    out: list[tuple[str, bytes] | None] = [None] * len(keys)
    errors: list[BaseException] = []

    def run(first: int) -> None:
        idx = list(range(first, len(keys), PARALLEL))
        try:
            for i, a in zip(idx, table_answers(scratch, table, [keys[i] for i in idx])):
                out[i] = a
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(PARALLEL)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return out  # type: ignore[return-value]


def pool_batches(scratch: harness.Scratch, counter: str = "batched") -> int:
    """A pool counter (default: lookups answered in batches) so far, summed
    over proxyd's pools."""
    r = subprocess.run([harness.proxyd_exe(), "-c", str(scratch.config_dir), "stats"],
                       capture_output=True, text=True, timeout=30)
    return sum(int(m) for m in re.findall(rf"\b{counter}=(\d+)", r.stdout))


def show(answer: tuple[str, bytes]) -> str:
    st, v = answer
    if st != "OK":
        return st
    s = repr(v)[2:-1]
    return s if len(s) <= 80 else s[:60] + f"...({len(v)} bytes)"


def short(key: bytes) -> str:
    s = repr(key)[2:-1]
    return s if len(s) <= 60 else s[:40] + f"...({len(key)} bytes)"


# ---------------------------------------------------------------- instance flags

# postmap options that change the flags a client opens its table with
# (issue 13): -f no FOLD_FIX, -F SRC_RHS_IS_FILE (values are base64 that
# postmap decodes), -N TRY1NULL, -n TRY0NULL.
FLAG_OPTIONS = (("-f",), ("-F",), ("-N",), ("-n",), ("-f", "-F"))
# The tables they run against (each backend has all three), and the keys:
# the tables' own expectation keys plus case and UTF-8 variants.
FLAG_TABLES = ("edge_s.cf", "domain_list_unicode.cf", "rhs_base64.cf")
FLAG_KEYS = [b"MixedCase@Example.COM", b"mixedcase@example.com", b"MIXEDCASE@EXAMPLE.COM",
             b"LOWER@Example.com", b"lower@example.com", "JÖRG@BÜCHER.EXAMPLE".encode(),
             "jörg@bücher.example".encode(), b"\xff\xfe@example.org", b"comma@example.com"]

# DICT_FLAG_* bits (src/util/dict.h) of the 3.11 client layout.
DUP_WARN, TRY0NULL, TRY1NULL, LOCK = 0x1, 0x4, 0x8, 0x40
FOLD_FIX, FOLD_MUL, UTF8_REQUEST, UTF8_ACTIVE = 0x4000, 0x8000, 0x80000, 0x100000
RHS_IS_FILE = 0x200000
PROXY_STATUS = {0: "OK", 1: "NOKEY", 2: "RETRY", 5: "CONFIG"}


def v311_instance_flags(options: tuple[str, ...], smtputf8: bool) -> int:
    """The instance_flags Postfix 3.11's `postmap OPTIONS -q` sends (postmap.c)."""
    flags = DUP_WARN | FOLD_FIX | UTF8_REQUEST | LOCK
    for opt in options:
        if opt == "-f":
            flags &= ~FOLD_FIX
        elif opt == "-F":
            flags |= RHS_IS_FILE
        elif opt == "-N":
            flags = (flags | TRY1NULL) & ~TRY0NULL
        elif opt == "-n":
            flags = (flags | TRY0NULL) & ~TRY1NULL
    return flags if smtputf8 else flags & ~UTF8_REQUEST


def v311_answers(sock: Path, table: str, keys: list[bytes], options: tuple[str, ...],
                 smtputf8: bool) -> list[tuple[str, bytes]]:
    """What Postfix 3.11's `postmap OPTIONS -q KEY proxy:TABLE` would print,
    spoken by the project's protocol client in the 3.11 layout: the same
    instance_flags on open and lookup; with smtputf8 the client's UTF-8
    layer folds the key (when the server's flags have FOLD_FIX), sends the
    lookup without FOLD_ANY and refuses a value that is not UTF-8 (a
    configuration error); -F values are base64-decoded by postmap."""
    inst = v311_instance_flags(options, smtputf8)
    out = []
    with proxyproto.Conn(sock) as c:
        r = c.request([("request", "open"), ("table", table), ("instance_flags", inst)])
        if r[0] != (b"status", b"0"):
            return [CONFIG] * len(keys)
        flags = int(r[1][1])
        for key in keys:
            rq, k = flags, key
            if smtputf8:
                rq |= UTF8_ACTIVE
                if flags & FOLD_FIX:
                    k = key.decode("utf-8").casefold().encode("utf-8")
                    rq &= ~(FOLD_FIX | FOLD_MUL)
            r = dict(c.request([("request", "lookup"), ("table", table),
                                ("instance_flags", inst), ("flags", rq), ("key", k)]))
            status = PROXY_STATUS.get(int(r[b"status"]), "FATAL")
            value = r.get(b"value", b"")
            if status == "OK" and smtputf8 and not is_utf8(value):
                status = "CONFIG"  # the client's UTF-8 layer refuses the value
            if status == "OK" and RHS_IS_FILE & inst:
                try:
                    value = base64.b64decode(value, validate=True)
                except ValueError:  # postmap: "malformed BASE64 value", query error
                    status, value = "CONFIG", b""
            out.append((status, value if status == "OK" else b""))
    return out


def smtputf8_enabled(scratch: harness.Scratch) -> bool:
    r = subprocess.run(["postconf", "-c", str(scratch.config_dir), "-xh", "smtputf8_enable"],
                       capture_output=True, text=True, check=True)
    return r.stdout.strip() == "yes"


def flag_differences(backend: str, scratch: harness.Scratch, tables: list[TableDef],
                     sock: Path) -> tuple[list[str], int]:
    """postmap -f/-F/-N/-n through proxy: (Debian's 3.7 client, then the
    3.11 layout) against the same options on the direct lookup; returns the
    differences and the number of keys compared."""
    diffs: list[str] = []
    compared = 0
    smtputf8 = smtputf8_enabled(scratch)
    hits = {}
    for t in (t for t in tables if t.source.name in FLAG_TABLES):
        keys = list(dict.fromkeys(FLAG_KEYS + [k for k, _ in t.expect if k]))
        # The 3.11 layout: keys a UTF-8 client layer would refuse never reach proxyd.
        utf8_keys = [k for k in keys if not smtputf8 or is_utf8(k)]
        for options in FLAG_OPTIONS:
            label = f"{t.source.relative_to(HERE)} {' '.join(options)}"
            direct = table_answers(scratch, t.name, keys, options=options)
            hits[label] = sum(1 for a in direct if a[0] == "OK")
            proxied = table_answers(scratch, "proxy:" + t.name, keys, options=options)
            by_key = dict(zip(keys, direct))
            v311 = v311_answers(sock, t.name, utf8_keys, options, smtputf8)
            for k, d, p in zip(keys, direct, proxied):
                if not same_answer(d, p):
                    diffs.append(f"{label}: key {short(k)}: direct {show(d)} | "
                                 f"proxy (3.7 client) {show(p)}")
            for k, p in zip(utf8_keys, v311):
                if not same_answer(by_key[k], p):
                    diffs.append(f"{label}: key {short(k)}: direct {show(by_key[k])} | "
                                 f"proxy (3.11 layout) {show(p)}")
            compared += len(keys) + len(utf8_keys)
    print(f"{backend}: instance flags (smtputf8_enable = {'yes' if smtputf8 else 'no'}): "
          f"found directly per table and options: {hits}")
    if not any(hits.values()):
        diffs.append("instance flags: no key found directly: the comparison proves nothing")
    return diffs, compared


def is_utf8(key: bytes) -> bool:
    try:
        key.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


# ---------------------------------------------------------------- smtputf8_enable = no

# Keys for the pass without a UTF-8 layer besides the corpus's invalid UTF-8
# ones: a Latin-1 byte (the bad key) and mixed-case non-ASCII keys,
# which are then folded as ASCII only.
NO_UTF8_EXTRA = [b"se\xf1or@example.com", "JÖRG@BÜCHER.EXAMPLE".encode(),
                 "ΑΛΦΑ@ΠΑΡΆΔΕΙΓΜΑ.ΕΛ".encode()]


def no_smtputf8_differences(backend: str, scratch: harness.Scratch, tables: list[TableDef],
                            corpus: list[bytes], main_cf: str, proxyd: harness.Proxyd,
                            stack: "Stack") -> tuple[list[str], int, harness.Proxyd]:
    """The pass with smtputf8_enable = no (issue 13). With it on, the
    client's UTF-8 layer drops keys that are not UTF-8 on the direct and the
    proxy: path alike, so they never reach proxyd's SQL path. Without it they
    are sent as they are and meet escaping, the client encoding and the
    server's conversion errors. Restarts proxyd on the changed main.cf and
    compares those keys, direct against proxy:, on every table that answered
    directly in the main pass (given as tables); returns the differences,
    the lookups compared and the proxyd now running (stack stops it)."""
    proxyd.stop()
    scratch.write_main_cf(main_cf + "smtputf8_enable = no\n")
    proxyd = harness.Proxyd(scratch)
    stack.items.append(proxyd)
    proxyd.start()
    bad = [k for k in corpus if not is_utf8(k)]
    diffs: list[str] = []
    compared = 0
    answered = 0
    for t in tables:
        keys = list(dict.fromkeys(bad + [k for k, _ in t.expect if k and not is_utf8(k)]
                                  + NO_UTF8_EXTRA))
        direct = table_answers(scratch, t.name, keys, each_on_error=True)
        proxied = table_answers(scratch, "proxy:" + t.name, keys, each_on_error=True)
        answered += sum(1 for k, d in zip(keys, direct) if d != NOKEY and not is_utf8(k))
        for k, d, p in zip(keys, direct, proxied):
            if not same_answer(d, p):
                diffs.append(f"{t.source.relative_to(HERE)} (smtputf8_enable = no): key "
                             f"{short(k)}: direct {show(d)} | proxy {show(p)}")
        compared += len(keys)
    if backend in BATCHING and not answered:
        # pgsql finds j\xf6rg@ through its LATIN1 client encoding; MariaDB
        # refuses the Latin-1 byte on a utf8mb4 connection.
        diffs.append("smtputf8_enable = no: every key that is not UTF-8 was simply not "
                     "found directly: the pass proves nothing")
    if not proxyd.alive():
        diffs.append(f"proxyd died in the smtputf8_enable = no pass:\n{proxyd.log()[-2000:]}")
    return diffs, compared, proxyd


# ---------------------------------------------------------------- backends


def run_script(server, database: str, path: Path, prefix: str = "") -> None:
    server.sql(prefix + path.read_text(encoding="utf-8"), database)


def setup_mysql(stack) -> dict[str, str]:
    m = stack.enter(MariaDB())
    for db in DATABASES:
        m.create_database(db)
    nbe = "SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES');\n"
    run_script(m, "mailserver", SQL_DIR / "mysql" / "mailserver.sql")
    run_script(m, "mailserver", SQL_DIR / "edge_data.sql", nbe)
    run_script(m, "groveld", SQL_DIR / "mysql" / "groveld.sql")
    run_script(m, "customer_database", SQL_DIR / "mysql" / "customer.sql")
    for name, pw, dbs in USERS:
        m.create_user(name, pw, dbs)
    print(f"mysql: MariaDB up in {m.startup_seconds:.1f}s on 127.0.0.1:{m.port}, "
          f"socket {m.socket}", flush=True)
    return {"TCP": f"127.0.0.1:{m.port}", "PORT": str(m.port), "SOCKET": str(m.socket),
            "DEAD": f"127.0.0.1:{dead_port()}", "USER": "mailuser",
            "PASSWORD": MAILUSER_PASSWORD, "DBNAME": "mailserver"}


def setup_pgsql(stack) -> dict[str, str]:
    p = stack.enter(PostgreSQL())
    for db in DATABASES:
        p.create_database(db)
    run_script(p, "mailserver", SQL_DIR / "pgsql" / "mailserver.sql")
    run_script(p, "mailserver", SQL_DIR / "edge_data.sql")
    run_script(p, "groveld", SQL_DIR / "pgsql" / "groveld.sql")
    run_script(p, "customer_database", SQL_DIR / "pgsql" / "customer.sql")
    for name, pw, dbs in USERS:
        p.create_user(name, pw, dbs)
    print(f"pgsql: PostgreSQL up in {p.startup_seconds:.1f}s on 127.0.0.1:{p.port}, "
          f"socket dir {p.socket_dir}", flush=True)
    return {"TCP": f"127.0.0.1:{p.port}", "PORT": str(p.port),
            "PGSOCKDIR": str(p.default_port_socket_dir),
            "DEAD": f"127.0.0.1:{dead_port()}", "USER": "mailuser",
            "PASSWORD": MAILUSER_PASSWORD, "DBNAME": "mailserver"}


def setup_sqlite(scratch: harness.Scratch) -> dict[str, str]:
    db = scratch.path("fixtures.sqlite")
    con = sqlite3.connect(db)
    try:
        con.executescript((SQL_DIR / "sqlite" / "schema.sql").read_text(encoding="utf-8"))
        con.executescript((SQL_DIR / "edge_data.sql").read_text(encoding="utf-8"))
        con.commit()
    finally:
        con.close()
    os.chmod(db, 0o644)
    return {"DBPATH": str(db)}


class Stack:
    """A tiny ExitStack for server context managers (stopped in reverse)."""

    def __init__(self):
        self.items = []

    def enter(self, cm):
        obj = cm.__enter__()
        self.items.append(cm)
        return obj

    def close(self):
        while self.items:
            self.items.pop().__exit__(None, None, None)


# ---------------------------------------------------------------- main


def run_backend(backend: str, corpus: list[bytes], args) -> tuple[int, int]:
    """Run one backend; return (differences, expectation failures)."""
    t0 = time.monotonic()
    stack = Stack()
    scratch = harness.Scratch(prefix="sqd")
    stack.items.append(scratch)
    try:
        if backend == "mysql":
            subs = setup_mysql(stack)
        elif backend == "pgsql":
            subs = setup_pgsql(stack)
        else:
            subs = setup_sqlite(scratch)
        subs["DIR"] = str(scratch.path("t"))
        tables, main_cf_extra = write_tables(backend, scratch, subs)
        allow = " ".join("proxy:" + t.name for t in tables)
        # harness.Scratch sets maillog_file = /dev/stderr, which Postfix 3.7
        # refuses unless maillog_file_prefixes allows it (default /var,
        # /dev/stdout): every postmap would die with a fatal error.
        main_cf = ("maillog_file_prefixes = /var, /dev/stdout, /dev/stderr\n"
                   + main_cf_extra + "\nproxy_read_maps = " + allow + "\n")
        scratch.write_main_cf(main_cf)
        proxyd = None
        if not args.direct_only:
            if backend in BATCHING and args.loop_session:
                # The loop's session and one worker's: lone lookups on the loop.
                (scratch.config_dir / "proxyd.cf").write_text(
                    "max_sessions = 2\nloop_queries = yes\n")
            elif backend in BATCHING:
                # One session: concurrent lookups queue and go out in batches.
                (scratch.config_dir / "proxyd.cf").write_text("max_sessions = 1\n")
            proxyd = harness.Proxyd(scratch)
            stack.items.append(proxyd)
            proxyd.start()
        t_setup = time.monotonic() - t0
        stats: dict = {}
        diffs: list[str] = []
        failures: list[str] = []
        counts = {"OK": 0, "NOKEY": 0, "RETRY": 0, "CONFIG": 0, "FATAL": 0}
        nkeys = 0
        answering: list[TableDef] = []   # tables for the smtputf8_enable = no pass
        for t in tables:
            # Expectation keys missing from the corpus go first: the corpus
            # ends with the keys that can fail (see keys/corpus.txt).
            extra = [k for k, _ in t.expect if k not in corpus]
            keys = extra + corpus
            nkeys += len(keys)
            direct = table_answers(scratch, t.name, keys, stats)
            for a in direct:
                counts[a[0]] += 1
            by_key = dict(zip(keys, direct))
            skip_expect = [p for p in t.requires_absent if os.path.exists(p)]
            if not skip_expect:
                for key, want in t.expect:
                    got = by_key[key]
                    if not matches(want, got):
                        failures.append(f"{t.source.relative_to(HERE)}: key {short(key)}: "
                                        f"want {show(want)}, direct Postfix says {show(got)}")
            if args.verbose:
                tally = {s: sum(1 for a in direct if a[0] == s) for s in counts}
                print(f"  {t.source.name}: {tally}")
                if args.verbose > 1:
                    for k, a in zip(keys, direct):
                        print(f"    {short(k)} => {show(a)}")
            if proxyd is not None:
                # Probe first: a table that fails wholesale through proxy:
                # (driver missing, open refused) is one difference, not one
                # per key, and costs a few postmap runs instead of hundreds.
                # Found keys make the best probes: they need the database.
                probe = ([k for k, d in zip(keys, direct) if d[0] == "OK"][:3]
                         or [k for k, d in zip(keys, direct) if d not in ERRORS][:3])
                if probe and all(a in ERRORS for a in
                                 table_answers(scratch, "proxy:" + t.name, probe, stats)):
                    wanted = ", ".join(show(d) for d in direct if d[0] == "OK")
                    diffs.append(f"{t.source.relative_to(HERE)}: every probe key is an "
                                 f"error through proxy: (direct: {wanted[:120]}); "
                                 "table skipped")
                    continue
                if any(d not in ERRORS for d in direct):
                    answering.append(t)
                proxied = table_answers(scratch, "proxy:" + t.name, keys, stats)
                for k, d, p in zip(keys, direct, proxied):
                    if not same_answer(d, p):
                        diffs.append(f"{t.source.relative_to(HERE)}: key {short(k)}: "
                                     f"direct {show(d)} | proxy {show(p)}")
                if backend in BATCHING:
                    together = parallel_answers(scratch, "proxy:" + t.name, keys)
                    for k, d, p in zip(keys, direct, together):
                        if not same_answer(d, p):
                            diffs.append(f"{t.source.relative_to(HERE)}: key {short(k)}: "
                                         f"direct {show(d)} | proxy, concurrent {show(p)}")
                # Exit status of single lookups for the fixture's own keys,
                # through the shared harness helper.
                sample = [k for k, _ in t.expect if k][: args.sample]
                expects_hit = any(want[0] == "OK" for k, want in t.expect if k in sample)
                diffs.extend(harness.compare_direct_and_proxy(
                    scratch, t.name, sample, require_hits=expects_hit))
                if not proxyd.alive():
                    diffs.append(f"proxyd died after {t.name}:\n{proxyd.log()[-2000:]}")
                    break
        if proxyd is not None and backend in BATCHING:
            flag_diffs, compared = flag_differences(backend, scratch, tables,
                                                    proxyd.proxymap_socket)
            print(f"{backend}: instance flags: {compared} lookups compared, "
                  f"{len(flag_diffs)} differences", flush=True)
            diffs.extend(flag_diffs)
            batched = pool_batches(scratch)
            print(f"{backend}: {batched} proxied lookups were answered in batches")
            on_loop = pool_batches(scratch, "loop_answered")
            print(f"{backend}: {on_loop} proxied lookups were answered by the loop session")
            if args.loop_session and on_loop == 0:
                diffs.append("no lookup ran on the loop session")
            elif batched == 0 and not args.loop_session:
                diffs.append("no batch formed: the concurrent run did not test batching")
        if proxyd is not None and proxyd.alive():
            t1 = time.monotonic()
            off_diffs, compared, proxyd = no_smtputf8_differences(
                backend, scratch, answering, corpus, main_cf, proxyd, stack)
            print(f"{backend}: smtputf8_enable = no: {len(answering)} tables, {compared} "
                  f"lookups compared, {len(off_diffs)} differences, "
                  f"{time.monotonic() - t1:.1f}s", flush=True)
            diffs.extend(off_diffs)
        elapsed = time.monotonic() - t0
        for line in failures:
            print(f"EXPECT {backend}: {line}")
        for line in diffs[: args.max_diffs]:
            print(f"DIFF {backend}: {line}")
        if len(diffs) > args.max_diffs:
            print(f"DIFF {backend}: ... {len(diffs) - args.max_diffs} more")
        nexp = sum(len(t.expect) for t in tables)
        mode = "direct-only" if proxyd is None else "differential"
        print(f"{backend}: {mode}: {len(tables)} tables, {len(corpus)} corpus keys, "
              f"{nkeys} lookups ({counts['OK']} found, {counts['NOKEY']} not found, "
              f"{counts['RETRY']} retry, {counts['CONFIG']} config, "
              f"{counts['FATAL']} fatal), {stats.get('spawns', 0)} postmap runs, "
              f"{nexp} expectations, {len(failures)} expectation failures, "
              f"{len(diffs) if proxyd else '-'} differences, "
              f"setup {t_setup:.1f}s, total {elapsed:.1f}s", flush=True)
        return len(diffs), len(failures)
    finally:
        stack.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--direct-only", action="store_true",
                    help="check Postfix's direct answers against the fixtures' "
                         "expectations; no proxyd needed")
    ap.add_argument("--backend", action="append", choices=BACKENDS,
                    help="backend(s) to run (default: all)")
    ap.add_argument("--loop-session", action="store_true",
                    help="mysql, pgsql: two sessions and loop_queries = yes, and "
                         "lookups must have run on the loop's session")
    ap.add_argument("--sample", type=int, default=4,
                    help="keys per table for the single-lookup exit-status check")
    ap.add_argument("--max-diffs", type=int, default=200)
    ap.add_argument("-v", "--verbose", action="count", default=0)
    args = ap.parse_args(argv)
    terminate_on_signals()
    corpus = load_corpus()
    if not args.direct_only and not os.access(harness.proxyd_exe(), os.X_OK):
        print(f"proxyd not found at {harness.proxyd_exe()} (set PROXYD_EXE, "
              "or use --direct-only)", file=sys.stderr)
        return 2
    total_diffs = total_fail = 0
    for backend in args.backend or BACKENDS:
        try:
            d, f = run_backend(backend, corpus, args)
        except (ServerError, RuntimeError, subprocess.SubprocessError) as e:
            print(f"{backend}: SETUP FAILED: {e}", file=sys.stderr)
            return 2
        total_diffs += d
        total_fail += f
    return 1 if (total_diffs or total_fail) else 0


if __name__ == "__main__":
    sys.exit(main())
