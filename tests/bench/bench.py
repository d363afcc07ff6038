#!/usr/bin/env python3
"""Benchmark driver for issues #4 and #16: proxyd against real Postfix 3.7 proxymap.

One run per database (private MariaDB, then private PostgreSQL; --db picks
one), one workload: three mysql: (or pgsql:) tables of one database
(workaround.org-style virtual domains, mailboxes and aliases, about 10,000
rows each) and a key file with about half misses over the three.
Measured, at 1/16/128/1000 closed-loop clients (proxyd-loadgen):

  * real Postfix proxymap: a scratch Postfix instance whose master.cf has
    only proxymap/proxywrite (plus postlog so its log lands in a file);
  * proxyd, cache off, max_sessions = 4;
  * the database's own ceiling: 4 direct sessions (proxyd-dbceiling), one
    query per round trip, and pipelined (16 queries per round trip on the
    same 4 sessions: what a pipelining client could reach);
  * proxyd holding 10,000 idle connections while 16 clients look up;
  * proxyd with its cache on vs proxymap, on a hot set, at 128 clients.

Sampled during every run: DB sessions per system (MariaDB: information_schema
PROCESSLIST; PostgreSQL: backend process titles; by user: proxymap, proxyd
and the ceiling tool use distinct database users with the same grants), RSS
and CPU of proxyd (for proxymap: summed over all proxymap processes) and of
the database (mariadbd; PostgreSQL: the postmaster and its backends). Prints a Markdown
table and the target checks, and writes them to BUILD/bench-results.md
(raw JSON lines to BUILD/bench-results.json). Needs root. Stdlib only.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import platform
import pwd
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
import dbservers  # noqa: E402

MASTER = "/usr/lib/postfix/sbin/master"
CLK_TCK = os.sysconf("SC_CLK_TCK")
DB_NAME = "mail"
ROWS = 10_000
KEYS_PER_TABLE = 10_000   # half hits, half misses
USERS = {"proxymap": "bench_pm", "proxyd": "bench_pxd", "proxyd2": "bench_pxd2",
         "ceiling": "bench_ceil"}
# The second proxyd configuration, run at 128 clients only (see README.md).
PXD2_MODE = "proxyd, 2 sessions"
# The same 4-session proxyd from another build (--compare-build), instead of
# the 2-session one: before/after rows of a change measured side by side.
PXD_OTHER_MODE = "proxyd, other build"
CEIL_PIPE_MODE = "db ceiling, pipelined"
CEIL_PIPELINE = 16   # queries per round trip: proxyd's max_batch default
# Targets per database: (proxyd/proxymap at 128 clients, p99 fraction of
# proxymap's, proxyd / plain ceiling). mysql: issue #4; pgsql: issue #16.
TARGETS = {"mysql": (2.0, 1 / 3, 0.8), "pgsql": (2.5, 1 / 4, 1.2)}
DB_TITLES = {"mysql": "MariaDB", "pgsql": "PostgreSQL"}
DB_PASSWORD = "bench-secret"   # private throw-away server on a UNIX socket
MAX_CONNECTIONS = 2000         # proxymap may open 3 sessions x 100 processes


def die_with_parent() -> None:
    """preexec_fn: the child gets SIGTERM when this driver dies."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)
    except OSError:
        pass


class BenchMariaDB(dbservers.MariaDB):
    """dbservers.MariaDB with max_connections raised for proxymap."""

    def _server_cmd(self) -> list[str]:
        cmd = [a for a in super()._server_cmd() if not a.startswith("--max-connections=")]
        # Its own tmpdir: /tmp is cleaned by other jobs on shared machines.
        return cmd + [f"--max-connections={MAX_CONNECTIONS}",
                      "--innodb-buffer-pool-size=64M", f"--tmpdir={self.root}"]


class BenchPostgreSQL(dbservers.PostgreSQL):
    """dbservers.PostgreSQL with max_connections raised for proxymap."""

    def _server_cmd(self) -> list[str]:
        cmd = super()._server_cmd()
        i = cmd.index("max_connections=300")
        return cmd[:i] + [f"max_connections={MAX_CONNECTIONS}"] + cmd[i + 1:]


# ---------------------------------------------------------------- workload

SCHEMA = """
CREATE TABLE virtual_domains (
 id int(11) NOT NULL auto_increment, name varchar(50) NOT NULL,
 PRIMARY KEY (id), UNIQUE KEY name (name)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE virtual_users (
 id int(11) NOT NULL auto_increment, domain_id int(11) NOT NULL,
 email varchar(100) NOT NULL, password varchar(150) NOT NULL,
 quota bigint(11) NOT NULL DEFAULT 0,
 PRIMARY KEY (id), UNIQUE KEY email (email),
 FOREIGN KEY (domain_id) REFERENCES virtual_domains(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE virtual_aliases (
 id int(11) NOT NULL auto_increment, domain_id int(11) NOT NULL,
 source varchar(100) NOT NULL, destination varchar(100) NOT NULL,
 PRIMARY KEY (id), KEY source (source),
 FOREIGN KEY (domain_id) REFERENCES virtual_domains(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
"""

PG_SCHEMA = """
CREATE TABLE virtual_domains (id serial PRIMARY KEY, name varchar(50) NOT NULL UNIQUE);
CREATE TABLE virtual_users (
 id serial PRIMARY KEY,
 domain_id int NOT NULL REFERENCES virtual_domains(id) ON DELETE CASCADE,
 email varchar(100) NOT NULL UNIQUE, password varchar(150) NOT NULL,
 quota bigint NOT NULL DEFAULT 0);
CREATE TABLE virtual_aliases (
 id serial PRIMARY KEY,
 domain_id int NOT NULL REFERENCES virtual_domains(id) ON DELETE CASCADE,
 source varchar(100) NOT NULL, destination varchar(100) NOT NULL);
CREATE INDEX virtual_aliases_source ON virtual_aliases (source);
"""

# table short name -> (.cf file stem, query) as in the workaround.org tutorial.
TABLES = {
    "domains": ("virtual_domains", "SELECT 1 FROM virtual_domains WHERE name='%s'"),
    "mailboxes": ("virtual_mailboxes", "SELECT 1 FROM virtual_users WHERE email='%s'"),
    "aliases": ("virtual_aliases",
                "SELECT destination FROM virtual_aliases WHERE source='%s'"),
}


def domain(i: int) -> str:
    return f"dom{i:05d}.example"


def load_data(db, kind: str) -> None:
    db.create_database(DB_NAME)
    db.sql(SCHEMA if kind == "mysql" else PG_SCHEMA, DB_NAME)
    batch = 1000
    stmts = []
    for lo in range(0, ROWS, batch):
        rows = ",".join(f"({i + 1},'{domain(i)}')" for i in range(lo, lo + batch))
        stmts.append(f"INSERT INTO virtual_domains (id,name) VALUES {rows};")
    for lo in range(0, ROWS, batch):
        rows = ",".join(f"({i % ROWS + 1},'user{i}@{domain(i % ROWS)}','{{SHA512-CRYPT}}x')"
                        for i in range(lo, lo + batch))
        stmts.append(f"INSERT INTO virtual_users (domain_id,email,password) VALUES {rows};")
    for lo in range(0, ROWS, batch):
        rows = ",".join(f"({i % ROWS + 1},'alias{i}@{domain(i % ROWS)}',"
                        f"'user{(i * 7) % ROWS}@{domain((i * 7) % ROWS)}')"
                        for i in range(lo, lo + batch))
        stmts.append(f"INSERT INTO virtual_aliases (domain_id,source,destination) "
                     f"VALUES {rows};")
    db.sql("\n".join(stmts), DB_NAME)
    db.sql(("ANALYZE TABLE" if kind == "mysql" else "ANALYZE")
           + " virtual_domains, virtual_users, virtual_aliases;", DB_NAME)
    for user in USERS.values():
        db.create_user(user, DB_PASSWORD, (DB_NAME,))


def write_key_file(path: Path, table_names: dict[str, str]) -> None:
    """TABLE<TAB>KEY lines, about half misses, shuffled with a fixed seed."""
    rnd = random.Random(4)
    half = KEYS_PER_TABLE // 2
    lines = []
    hits = {
        "domains": lambda i: domain(i),
        "mailboxes": lambda i: f"user{i}@{domain(i % ROWS)}",
        "aliases": lambda i: f"alias{i}@{domain(i % ROWS)}",
    }
    misses = {
        "domains": lambda i: f"nodom{i:05d}.example",
        "mailboxes": lambda i: f"nouser{i}@{domain(i % ROWS)}",
        "aliases": lambda i: f"noalias{i}@{domain(i % ROWS)}",
    }
    for short, table in table_names.items():
        for i in rnd.sample(range(ROWS), half):
            lines.append(f"{table}\t{hits[short](i)}")
        for i in rnd.sample(range(ROWS * 10), half):
            lines.append(f"{table}\t{misses[short](i)}")
    rnd.shuffle(lines)
    path.write_text("\n".join(lines) + "\n")


def db_hosts(db, kind: str) -> str:
    """The "hosts" value that reaches db over its UNIX socket. Postfix gives
    libpq no port for a socket directory: the 5432 link directory."""
    if kind == "mysql":
        return f"unix:{db.socket}"
    return f"unix:{db.default_port_socket_dir}"


def write_cf_files(dir_: Path, kind: str, hosts: str, user: str) -> dict[str, str]:
    """Three .cf files for one database user; short name -> table name."""
    dir_.mkdir(parents=True, exist_ok=True)
    out = {}
    for short, (stem, query) in TABLES.items():
        p = dir_ / f"{stem}.cf"
        p.write_text(f"hosts = {hosts}\nuser = {user}\n"
                     f"password = {DB_PASSWORD}\ndbname = {DB_NAME}\nquery = {query}\n")
        p.chmod(0o644)
        out[short] = f"{kind}:{p}"
    return out


# ---------------------------------------------------------------- processes


def wait_socket(path: Path, proc: subprocess.Popen, what: str, log: Path,
                timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{tail(log)}")
        if path.exists():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.settimeout(1)
                s.connect(str(path))
                return
            except OSError:
                pass
            finally:
                s.close()
        time.sleep(0.05)
    raise RuntimeError(f"{what}: {path} not ready after {timeout}s:\n{tail(log)}")


def tail(path: Path, n: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except FileNotFoundError:
        return "(no log)"


def stop_proc(proc: subprocess.Popen | None, timeout: float = 20) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class PostfixProxymap:
    """A scratch Postfix 3.7 instance running only proxymap and proxywrite."""

    name = "proxymap"

    def __init__(self, root: Path, tables: list[str]):
        self.root = root
        self.etc = root / "etc"
        self.queue = root / "q"
        self.log = root / "maillog"
        self.tables = tables
        self.proc: subprocess.Popen | None = None

    @property
    def socket(self) -> Path:
        return self.queue / "private" / "proxymap"

    def start(self) -> "PostfixProxymap":
        pw = pwd.getpwnam("postfix")
        for d in ("etc", "q/pid", "q/private", "q/public", "data"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        for d in ("q/private", "q/public", "data"):
            os.chown(self.root / d, pw.pw_uid, -1)
        (self.root / "q/private").chmod(0o700)
        (self.etc / "main.cf").write_text(
            "compatibility_level = 3.6\n"
            f"queue_directory = {self.queue}\n"
            f"data_directory = {self.root / 'data'}\n"
            "mail_owner = postfix\n"
            "inet_interfaces = loopback-only\n"
            "syslog_name = postfix-bench\n"
            f"maillog_file = {self.log}\n"
            f"maillog_file_prefixes = {self.root}\n"
            "proxy_read_maps = " + " ".join(f"proxy:{t}" for t in self.tables) + "\n")
        # Only the proxy services (default process limits), and postlogd so
        # that maillog_file works without a syslog daemon.
        (self.etc / "master.cf").write_text(
            "proxymap   unix  -  -  n  -  -  proxymap\n"
            "proxywrite unix  -  -  n  -  1  proxymap\n"
            "postlog    unix-dgram n  -  n  -  1  postlogd\n")
        self.proc = subprocess.Popen(
            [MASTER, "-c", str(self.etc), "-d"], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent)
        wait_socket(self.socket, self.proc, "postfix master", self.log)
        return self

    def stop(self) -> None:
        stop_proc(self.proc)

    def pids(self) -> list[int]:
        """The proxymap children of this master."""
        if self.proc is None:
            return []
        return [pid for pid, (comm, ppid) in proc_table().items()
                if ppid == self.proc.pid and comm == "proxymap"]


class Proxyd:
    """proxyd in the foreground (-f) on its own scratch configuration."""

    def __init__(self, exe: Path, root: Path, tables: list[str], proxyd_cf: str,
                 name: str = "proxyd"):
        self.name = name  # key of USERS: the MariaDB user its tables use
        self.exe = exe
        self.root = root
        self.etc = root / "etc"
        self.queue = root / "q"
        self.log = root / "proxyd.log"
        self.tables = tables
        self.proxyd_cf = proxyd_cf
        self.proc: subprocess.Popen | None = None

    @property
    def socket(self) -> Path:
        return self.queue / "private" / "proxymap"

    def start(self) -> "Proxyd":
        (self.queue / "private").mkdir(parents=True, exist_ok=True)
        self.etc.mkdir(parents=True, exist_ok=True)
        (self.etc / "main.cf").write_text(
            "compatibility_level = 3.6\n"
            f"queue_directory = {self.queue}\n"
            "mail_owner = postfix\n"
            "proxy_read_maps = " + " ".join(f"proxy:{t}" for t in self.tables) + "\n")
        (self.etc / "proxyd.cf").write_text(self.proxyd_cf)
        log = open(self.log, "ab")
        try:
            self.proc = subprocess.Popen(
                [str(self.exe), "-c", str(self.etc), "-f"], stdin=subprocess.DEVNULL,
                stdout=log, stderr=log, preexec_fn=die_with_parent)
        finally:
            log.close()
        wait_socket(self.socket, self.proc, "proxyd", self.log)
        return self

    def stop(self) -> None:
        stop_proc(self.proc)

    def pids(self) -> list[int]:
        return [self.proc.pid] if self.proc and self.proc.poll() is None else []


# ---------------------------------------------------------------- sampling


def proc_table() -> dict[int, tuple[str, int]]:
    """pid -> (comm, ppid) for every process."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        out[int(d)] = (comm, ppid)
    return out


def cpu_ticks(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    f = stat[stat.rindex(")") + 2:].split()
    return int(f[11]) + int(f[12])   # utime + stime


def task_ticks(pid: int, tid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
    except OSError:
        return None
    f = stat[stat.rindex(")") + 2:].split()
    return int(f[11]) + int(f[12])


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class SessionCounter:
    """A persistent root mariadb client: sessions per user, on demand.

    Restarted when it dies; a failed query counts nothing (-1)."""

    def __init__(self, db: BenchMariaDB):
        self.db = db
        self.proc: subprocess.Popen | None = None
        self.lock = threading.Lock()

    def _spawn(self) -> subprocess.Popen:
        return subprocess.Popen(
            [self.db.client, "--no-defaults", f"--socket={self.db.socket}", "-uroot",
             "--batch", "--skip-column-names", "--unbuffered", "--force"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, preexec_fn=die_with_parent)

    def count(self) -> dict[str, int]:
        with self.lock:
            try:
                if self.proc is None or self.proc.poll() is not None:
                    self.proc = self._spawn()
                assert self.proc.stdin and self.proc.stdout
                self.proc.stdin.write(
                    "SELECT USER, COUNT(*) FROM information_schema.PROCESSLIST "
                    "GROUP BY USER; SELECT '--end--', 0;\n")
                self.proc.stdin.flush()
                out = {}
                for line in self.proc.stdout:
                    user, _, n = line.rstrip("\n").partition("\t")
                    if user == "--end--":
                        return out
                    out[user] = int(n)
            except (OSError, ValueError):
                pass
            return {}   # the client died; the next call restarts it

    def close(self) -> None:
        with self.lock:
            if self.proc is None:
                return
            with contextlib.suppress(OSError):
                if self.proc.stdin:
                    self.proc.stdin.close()
            stop_proc(self.proc, 5)


class PgSessionCounter:
    """Backends per user of a private PostgreSQL, from their process titles
    ("postgres: USER DB [local] idle"): no query, no session of its own."""

    def __init__(self, db: BenchPostgreSQL):
        self.db = db

    def count(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for pid in db_pids(self.db)[1:]:
            try:
                title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            words = title.decode(errors="replace").split()
            if len(words) >= 3 and words[0] == "postgres:" and words[2] == DB_NAME:
                out[words[1]] = out.get(words[1], 0) + 1
        return out

    def close(self) -> None:
        pass


def db_pids(db) -> list[int]:
    """The database server's processes: mariadbd; the postmaster and its
    children (one backend per session) for PostgreSQL."""
    root = db.proc.pid
    if isinstance(db, dbservers.PostgreSQL):
        return [root] + [pid for pid, (_comm, ppid) in proc_table().items() if ppid == root]
    return [root]


class Sampler(threading.Thread):
    """Samples target processes, mariadbd and DB sessions every `interval` s."""

    def __init__(self, pids_fn, db, sessions, db_user: str, interval: float = 0.25):
        super().__init__(daemon=True)
        self.pids_fn = pids_fn
        self.db = db
        self.sessions = sessions
        self.db_user = db_user
        self.interval = interval
        self.stop_ev = threading.Event()
        # t, pid->ticks, db pid->ticks, main-thread ticks (single-process targets)
        self.samples: list[tuple[float, dict[int, int], dict[int, int], int]] = []
        self.main_thread_pct = 0.0
        self.max_rss_kb = 0
        self.max_sessions = 0

    def sample(self) -> None:
        t = time.monotonic()
        ticks = {}
        rss = 0
        for pid in self.pids_fn():
            c = cpu_ticks(pid)
            if c is not None:
                ticks[pid] = c
                rss += rss_kb(pid)
        # proxyd: also its main (event loop) thread alone, to split CPU
        # between the event loop and the SQL worker threads.
        pids = list(ticks)
        main = 0
        if len(pids) == 1:
            main = task_ticks(pids[0], pids[0]) or 0
        # PostgreSQL: one process per session, counted per pid like the
        # proxymap children (a backend that exits takes its last interval's
        # ticks along; sessions are long-lived here).
        db_ticks = {pid: c for pid in db_pids(self.db) if (c := cpu_ticks(pid)) is not None}
        self.samples.append((t, ticks, db_ticks, main))
        self.max_rss_kb = max(self.max_rss_kb, rss)
        if self.db_user:
            self.max_sessions = max(self.max_sessions,
                                    self.sessions.count().get(self.db_user, 0))

    def run(self) -> None:
        while not self.stop_ev.is_set():
            self.sample()
            self.stop_ev.wait(self.interval)

    def finish(self) -> None:
        self.stop_ev.set()
        self.join()
        self.sample()

    def cpu_pct(self, t0: float, t1: float) -> tuple[float, float]:
        """CPU % of the targets and of the database between t0 and t1."""
        if not self.samples:
            return 0.0, 0.0
        start = min(self.samples, key=lambda s: abs(s[0] - t0))
        end = min(self.samples, key=lambda s: abs(s[0] - t1))
        wall = end[0] - start[0]
        if wall <= 0:
            return 0.0, 0.0
        # Per pid: last value seen up to `end` minus the value at `start`
        # (0 for processes born later); covers short-lived proxymap children
        # and PostgreSQL backends.
        last: dict[int, int] = {}
        db_last: dict[int, int] = {}
        for s in self.samples:
            if s[0] > end[0]:
                break
            if s[0] >= start[0]:
                last.update(s[1])
                db_last.update(s[2])
        used = sum(v - start[1].get(pid, 0) for pid, v in last.items())
        db_used = sum(v - start[2].get(pid, 0) for pid, v in db_last.items())
        self.main_thread_pct = 100.0 * (end[3] - start[3]) / CLK_TCK / wall
        return (100.0 * used / CLK_TCK / wall, 100.0 * db_used / CLK_TCK / wall)


# ---------------------------------------------------------------- runs


class Bench:
    def __init__(self, args, build: Path, db, kind: str, sessions, keys: Path):
        self.args = args
        self.kind = kind
        self.build = build
        self.db = db
        self.sessions = sessions
        self.keys = keys
        self.rows: list[dict] = []
        self.loadgen = build / "tests" / "bench" / "proxyd-loadgen"
        self.ceiling = build / "tests" / "bench" / "proxyd-dbceiling"

    def _run(self, mode: str, cmd: list[str], env: dict | None, pids_fn, db_user: str,
             duration: float, extra: dict) -> dict:
        sampler = Sampler(pids_fn, self.db, self.sessions, db_user)
        sampler.start()
        timeout = duration + self.args.warmup + 300
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        finally:
            sampler.finish()
        t_end = time.monotonic()
        if r.returncode not in (0, 1) or not r.stdout.strip():
            raise RuntimeError(f"{mode}: {cmd[0]} failed ({r.returncode}):\n{r.stderr}")
        res = json.loads(r.stdout.strip().splitlines()[-1])
        cpu, db_cpu = sampler.cpu_pct(t_end - duration, t_end)
        res.update(mode=mode, db=self.kind, db_sessions=sampler.max_sessions,
                   rss_mb=sampler.max_rss_kb / 1024, cpu_pct=cpu, db_cpu_pct=db_cpu,
                   main_thread_cpu_pct=sampler.main_thread_pct, **extra)
        self.rows.append(res)
        print(fmt_row(res), flush=True)
        return res

    def loadgen_run(self, mode: str, server, clients: int, hot: int = 0, idle: int = 0,
                    duration: float | None = None) -> dict:
        duration = duration or self.args.duration
        cmd = [str(self.loadgen), "--socket", str(server.socket), "--keys", str(self.keys),
               "--clients", str(clients), "--duration", str(duration),
               "--warmup", str(self.args.warmup), "--seed", str(clients)]
        if hot:
            cmd += ["--hot", str(hot)]
        if idle:
            cmd += ["--idle", str(idle)]
        return self._run(mode, cmd, None, server.pids, USERS[server.name], duration,
                         {"hot": hot})

    def ceiling_run(self, threads: int, tables: dict[str, str], hot: int = 0,
                    pipeline: int = 1) -> dict:
        """tables: short name -> table name as in the key file. pipeline > 1:
        that many queries per round trip on each session."""
        cmd = [str(self.ceiling), "--kind", self.kind, "--hosts", db_hosts(self.db, self.kind),
               "--pipeline", str(pipeline),
               "--user", USERS["ceiling"], "--dbname", DB_NAME, "--keys", str(self.keys),
               "--threads", str(threads), "--duration", str(self.args.duration),
               "--warmup", str(self.args.warmup)]
        for short, (_stem, query) in TABLES.items():
            cmd += ["--query", f"{tables[short]}={query}"]
        if hot:
            cmd += ["--hot", str(hot)]
        env = dict(os.environ, BENCH_DB_PASSWORD=DB_PASSWORD)
        mode = CEIL_PIPE_MODE if pipeline > 1 else "db ceiling"
        return self._run(mode, cmd, env, lambda: [], USERS["ceiling"],
                         self.args.duration, {"hot": hot})


def median_rows(rows: list[dict]) -> list[dict]:
    """One row per (mode, clients, hot, idle): the median round by lookups/s."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["mode"], r["clients"], r.get("hot", 0), r.get("idle", 0)),
                          []).append(r)
    out = []
    for group in groups.values():
        group = sorted(group, key=lambda r: r["lookups_per_s"])
        out.append(group[(len(group) - 1) // 2])
    return out


def fmt_row(r: dict) -> str:
    errors = r.get("errors_total", 0)
    if r.get("errors"):
        errors = f"{errors} " + ",".join(f"{k}={v}" for k, v in r["errors"].items())
    mode = r["mode"]
    if r.get("hot"):
        mode += f" (hot {r['hot']})"
    clients = str(r["clients"])
    if r.get("idle"):
        clients += f" + {r['idle_open']}/{r['idle']} idle"
    ceiling = r["mode"].startswith("db ceiling")
    rss = "-" if ceiling else f"{r['rss_mb']:.1f}"
    cpu = "-" if ceiling else f"{r['cpu_pct']:.0f}"
    return (f"| {mode} | {clients} | {r['lookups_per_s']:.0f} | {r['p50_us'] / 1000:.2f} "
            f"| {r['p99_us'] / 1000:.2f} | {r['db_sessions']} | {rss} | {cpu} "
            f"| {r['db_cpu_pct']:.0f} | {r.get('loadgen_cpu_pct', 0):.0f} | {errors} |")


TABLE_HEAD = ("| mode | clients | lookups/s | p50 ms | p99 ms | DB sessions (max) "
              "| RSS MB | CPU % | DB CPU % | client CPU % | errors |\n"
              "|---|---|---|---|---|---|---|---|---|---|---|")


def machine_info(db, kind: str) -> list[str]:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    pf = subprocess.run(["postconf", "-d", "-h", "mail_version"], capture_output=True,
                        text=True).stdout.strip()
    version = db.sql("SELECT VERSION();" if kind == "mysql" else "SHOW server_version;")
    return [
        f"- CPUs: {os.cpu_count()} x {model}; kernel {platform.release()}; "
        f"load average at start {os.getloadavg()[0]:.2f}",
        f"- Postfix {pf} (Debian package), {DB_TITLES[kind]} {version.strip()} "
        f"(max_connections={MAX_CONNECTIONS})",
    ]


def check(label: str, ok: bool, detail: str) -> str:
    return f"- {'PASS' if ok else 'FAIL'}: {label} — {detail}"


def targets(rows: list[dict], clients_list: list[int], idle_n: int,
            cache_supported: bool | None, kind: str = "mysql") -> list[str]:
    def find(mode, clients=128, hot=0, idle=0):
        for r in rows:
            if (r["mode"] == mode and r["clients"] == clients and r.get("hot", 0) == hot
                    and r.get("idle", 0) == idle):
                return r
        return None

    want_x, want_p99, want_ceil = TARGETS[kind]
    out = []
    pm = find("proxymap")
    ceil = next((r for r in rows if r["mode"] == "db ceiling"), None)
    for mode in ("proxyd", PXD2_MODE, PXD_OTHER_MODE):
        px = find(mode)
        if not (pm and px):
            continue
        tag = "" if mode == "proxyd" else f" [{mode}]"
        ratio = px["lookups_per_s"] / max(pm["lookups_per_s"], 1e-9)
        p99r = px["p99_us"] / max(pm["p99_us"], 1)
        out.append(check(f"128 clients, cache off: proxyd >= {want_x:g}x proxymap "
                         f"lookups/s{tag}",
                         ratio >= want_x, f"{ratio:.2f}x ({px['lookups_per_s']:.0f} vs "
                         f"{pm['lookups_per_s']:.0f})"))
        out.append(check(f"128 clients: proxyd <= 4 DB sessions{tag}", px["db_sessions"] <= 4,
                         f"{px['db_sessions']} (proxymap {pm['db_sessions']})"))
        out.append(check(f"128 clients: proxyd p99 <= {want_p99:.2f} of proxymap's{tag}",
                         p99r <= want_p99,
                         f"{p99r:.2f} ({px['p99_us'] / 1000:.2f} ms vs "
                         f"{pm['p99_us'] / 1000:.2f} ms)"))
        if ceil:
            frac = px["lookups_per_s"] / max(ceil["lookups_per_s"], 1e-9)
            best = max((r for r in rows if r["mode"] == mode and not r.get("hot")
                        and not r.get("idle")), key=lambda r: r["lookups_per_s"])
            out.append(check(f"128 clients: proxyd >= {100 * want_ceil:.0f}% of the DB "
                             f"ceiling (4 direct sessions, one query per round trip){tag}",
                             frac >= want_ceil,
                             f"{100 * frac:.0f}% ({px['lookups_per_s']:.0f} vs "
                             f"{ceil['lookups_per_s']:.0f}); best proxyd level "
                             f"{best['clients']} clients = "
                             f"{100 * best['lookups_per_s'] / ceil['lookups_per_s']:.0f}%"))
    pm1, px1 = find("proxymap", 1), find("proxyd", 1)
    if pm1 and px1:
        ratio = px1["lookups_per_s"] / max(pm1["lookups_per_s"], 1e-9)
        out.append(check("1 client: proxyd >= 1.0x proxymap lookups/s and p50 no higher",
                         ratio >= 1.0 and px1["p50_us"] <= pm1["p50_us"],
                         f"{ratio:.2f}x ({px1['lookups_per_s']:.0f} vs "
                         f"{pm1['lookups_per_s']:.0f}); p50 {px1['p50_us'] / 1000:.3f} ms vs "
                         f"{pm1['p50_us'] / 1000:.3f} ms"))
    idle = next((r for r in rows if r["mode"] == "proxyd" and r.get("idle")), None)
    if idle:
        ok = (idle["idle_open"] == idle_n and idle["rss_mb"] < 50 and idle["lookups"] > 0
              and idle["errors_total"] == 0)
        out.append(check(f"{idle_n} idle clients held, RSS < 50 MB, lookups answered", ok,
                         f"{idle['idle_open']}/{idle_n} held, RSS {idle['rss_mb']:.1f} MB, "
                         f"{idle['lookups_per_s']:.0f} lookups/s by {idle['clients']} "
                         f"clients, {idle['errors_total']} errors"))
    hot_px = next((r for r in rows if r["mode"] == "proxyd cache" and r.get("hot")), None)
    hot_pm = next((r for r in rows if r["mode"] == "proxymap" and r.get("hot")), None)
    if hot_px and hot_pm:
        ratio = hot_px["lookups_per_s"] / max(hot_pm["lookups_per_s"], 1e-9)
        note = "" if cache_supported else " (this proxyd ignored the cache settings)"
        out.append(check("128 clients, cache on, hot set: proxyd >= 10x proxymap",
                         ratio >= 10, f"{ratio:.2f}x ({hot_px['lookups_per_s']:.0f} vs "
                         f"{hot_pm['lookups_per_s']:.0f}){note}"))
    return out


def per_round(all_rows: list[dict]) -> list[str]:
    """The ratio targets round by round (the table shows medians): how far
    from its threshold each round landed."""
    def runs(mode, hot=0):
        return [r for r in all_rows if r["mode"] == mode and r["clients"] == 128
                and r.get("hot", 0) == hot and not r.get("idle")]

    out = []
    pm = runs("proxymap")
    for mode in ("proxyd", PXD2_MODE, PXD_OTHER_MODE):
        px = runs(mode)
        if not px or len(px) != len(pm):
            continue
        each = [f"{a['lookups_per_s'] / max(b['lookups_per_s'], 1e-9):.2f}x, p99 "
                f"{a['p99_us'] / max(b['p99_us'], 1):.2f}" for a, b in zip(px, pm)]
        out.append(f"- per round, {mode} vs proxymap at 128 clients: " + "; ".join(each))
        ceil = [r for r in all_rows if r["mode"] == "db ceiling"]
        if len(ceil) == len(px):
            each = [f"{100 * a['lookups_per_s'] / max(c['lookups_per_s'], 1e-9):.0f}%"
                    for a, c in zip(px, ceil)]
            out.append(f"- per round, {mode} at 128 clients vs that round's plain DB "
                       "ceiling: " + "; ".join(each))
    hot_px = [r for r in all_rows if r["mode"] == "proxyd cache" and r.get("hot")]
    hot_pm = [r for r in all_rows if r["mode"] == "proxymap" and r.get("hot")]
    if hot_px and len(hot_px) == len(hot_pm):
        each = [f"{a['lookups_per_s'] / max(b['lookups_per_s'], 1e-9):.1f}x"
                for a, b in zip(hot_px, hot_pm)]
        out.append("- per round, cache on vs proxymap (hot set): " + "; ".join(each))
    return out


def run_db(kind: str, args, build: Path, clients_list: list[int],
           all_json: list[dict]) -> list[str]:
    """Every run against one private database (kind mysql or pgsql); the
    Markdown lines of its section."""
    proxyd_exe = build / "proxyd" / "proxyd"
    root = Path(tempfile.mkdtemp(prefix="pxb", dir="/tmp"))
    root.chmod(0o755)
    lines: list[str] = []
    with contextlib.ExitStack() as stack:
        if not args.keep:
            stack.callback(shutil.rmtree, root, True)
        t0 = time.monotonic()
        server = BenchMariaDB if kind == "mysql" else BenchPostgreSQL
        db = stack.enter_context(server(keep=args.keep))
        load_data(db, kind)
        sessions = SessionCounter(db) if kind == "mysql" else PgSessionCounter(db)
        stack.callback(sessions.close)
        hosts = db_hosts(db, kind)
        cf = {name: write_cf_files(root / f"cf-{name}", kind, hosts, user)
              for name, user in USERS.items()}
        # The key file names the proxymap user's tables; the others get the
        # same bytes with their own .cf directory substituted.
        keys = {"proxymap": root / "keys-proxymap.txt"}
        write_key_file(keys["proxymap"], cf["proxymap"])
        for name in ("proxyd", "proxyd2", "ceiling"):
            keys[name] = root / f"keys-{name}.txt"
            keys[name].write_text(keys["proxymap"].read_text().replace(
                str(root / "cf-proxymap"), str(root / f"cf-{name}")))
        print(f"setup: {DB_TITLES[kind]} up and {3 * ROWS} rows loaded in "
              f"{time.monotonic() - t0:.1f}s; {3 * KEYS_PER_TABLE} keys, ~half misses; "
              f"scratch {root}", flush=True)
        info = machine_info(db, kind)
        print("\n".join(info), flush=True)

        pm = PostfixProxymap(root / "postfix", list(cf["proxymap"].values())).start()
        stack.callback(pm.stop)
        # max_clients (default 10,000) must hold the idle run's connections
        # and its 16 active clients, as an admin holding that many would set.
        pxd = Proxyd(proxyd_exe, root / "proxyd", list(cf["proxyd"].values()),
                     f"max_sessions = 4\nmax_clients = {max(10000, args.idle + 1024)}\n"
                     + args.proxyd_cf).start()
        stack.callback(pxd.stop)
        # The same proxyd with 2 sessions (its own database user, so that each
        # configuration's sessions are counted apart).
        if args.compare_build:
            pxd2_mode = PXD_OTHER_MODE
            pxd2 = Proxyd(Path(args.compare_build) / "proxyd" / "proxyd", root / "proxyd2",
                          list(cf["proxyd2"].values()), "max_sessions = 4\n" + args.proxyd_cf,
                          name="proxyd2").start()
        else:
            pxd2_mode = PXD2_MODE
            pxd2 = Proxyd(proxyd_exe, root / "proxyd2", list(cf["proxyd2"].values()),
                          "max_sessions = 2\n" + args.proxyd_cf, name="proxyd2").start()
        stack.callback(pxd2.stop)

        bench_pm = Bench(args, build, db, kind, sessions, keys["proxymap"])
        bench_px = Bench(args, build, db, kind, sessions, keys["proxyd"])
        bench_px2 = Bench(args, build, db, kind, sessions, keys["proxyd2"])
        bench_ce = Bench(args, build, db, kind, sessions, keys["ceiling"])
        print("\n" + TABLE_HEAD, flush=True)
        # Interleaved, so that drifting background load hits both alike;
        # repeated, and the median round of each kind reported.
        for rnd in range(args.rounds):
            if args.rounds > 1:
                print(f"| round {rnd + 1} of {args.rounds} |", flush=True)
            bench_ce.ceiling_run(args.ceiling_threads, cf["ceiling"])
            bench_ce.ceiling_run(args.ceiling_threads, cf["ceiling"], pipeline=CEIL_PIPELINE)
            for c in clients_list:
                bench_pm.loadgen_run("proxymap", pm, c)
                bench_px.loadgen_run("proxyd", pxd, c)
                if c == 128:
                    bench_px2.loadgen_run(pxd2_mode, pxd2, c)
        pxd2.stop()
        # Once, last: memory proxyd took for 10,000 connections is not all
        # given back, and would inflate the RSS of later runs.
        bench_px.loadgen_run("proxyd", pxd, 16, idle=args.idle)
        batch_stats = [ln.strip() for ln in subprocess.run(
            [str(proxyd_exe), "-c", str(pxd.etc), "stats"], capture_output=True, text=True,
            timeout=30).stdout.splitlines() if "batch" in ln][:4]
        pxd.stop()

        # Cache on: a fresh proxyd (empty cache) with positive and negative TTLs.
        pxc = Proxyd(proxyd_exe, root / "proxyd-cache", list(cf["proxyd"].values()),
                     "max_sessions = 4\ncache_ttl = 300\ncache_negative_ttl = 300\n")
        pxc.start()
        stack.callback(pxc.stop)
        for _ in range(args.rounds):
            bench_px.loadgen_run("proxyd cache", pxc, 128, hot=args.hot)
            bench_pm.loadgen_run("proxymap", pm, 128, hot=args.hot)
        log = pxc.log.read_text(errors="replace") if pxc.log.exists() else ""
        cache_supported = 'unknown parameter "cache_ttl"' not in log
        stats = subprocess.run([str(proxyd_exe), "-c", str(pxc.etc), "stats"],
                               capture_output=True, text=True, timeout=30)
        cache_stats = [ln.strip() for ln in stats.stdout.splitlines()
                       if "cache" in ln.lower()][:6]
        pxc.stop()
        pm.stop()

        all_rows = bench_pm.rows + bench_px.rows + bench_px2.rows + bench_ce.rows
        all_json.extend(all_rows)
        rows = median_rows(all_rows)
        order = {"db ceiling": 0, CEIL_PIPE_MODE: 1, "proxymap": 2, "proxyd": 3,
                 PXD2_MODE: 4, PXD_OTHER_MODE: 4, "proxyd cache": 5}
        rows.sort(key=lambda r: (bool(r.get("hot")), bool(r.get("idle")),
                                 0 if r["mode"].startswith("db ceiling") else r["clients"],
                                 order[r["mode"]]))
        lines.append(f"## {DB_TITLES[kind]} ({kind}: tables)\n")
        lines += info
        lines.append(f"- workload: 3 {kind} tables in one database, {ROWS} rows each, "
                     f"{3 * KEYS_PER_TABLE} keys (about half misses), closed loop, "
                     f"{args.duration:g} s measured after {args.warmup:g} s warm-up, "
                     f"median of {args.rounds} round(s) by lookups/s; "
                     f"hot set = first {args.hot} keys")
        lines.append("- proxymap: Postfix master with only proxymap/proxywrite (+postlogd), "
                     "default process limit; proxyd: max_sessions = 4 (default), and "
                     + (f"at 128 clients also the same from {args.compare_build}; "
                        if args.compare_build else "at 128 clients also max_sessions = 2; ")
                     + "max_clients = "
                     f"{max(10000, args.idle + 1024)} (holds the idle run)")
        lines.append(f"- db ceiling: {args.ceiling_threads} direct sessions, one query per "
                     f"round trip; pipelined: {CEIL_PIPELINE} queries per round trip on "
                     "the same sessions")
        db_cpu = "mariadbd" if kind == "mysql" else "postmaster and backends"
        lines.append("- CPU %: of the server processes (proxymap: summed over all proxymap "
                     f"processes), 100 = one core; DB CPU: {db_cpu}; client CPU: the load "
                     "generator (or ceiling tool); RSS: max seen (proxymap: summed)\n")
        lines.append(TABLE_HEAD)
        lines += [fmt_row(r) for r in rows]
        lines.append("")
        if not cache_supported:
            lines.append("- note: this proxyd warned about the cache settings; the cache "
                         "run measured proxyd without a cache")
        split = [f"{r['clients']} clients{' (cache, hot)' if r.get('hot') else ''}"
                 f"{' (2 sessions)' if r['mode'] == PXD2_MODE else ''}"
                 f"{' (other build)' if r['mode'] == PXD_OTHER_MODE else ''}"
                 f"{' + idle' if r.get('idle') else ''}: event loop "
                 f"{r['main_thread_cpu_pct']:.0f}% + workers "
                 f"{r['cpu_pct'] - r['main_thread_cpu_pct']:.0f}%"
                 for r in rows if r["mode"].startswith("proxyd")]
        lines.append("- proxyd CPU split: " + "; ".join(split))
        if batch_stats:
            lines.append("- proxyd stats after its runs: " + "; ".join(batch_stats))
        if cache_stats:
            lines.append("- proxyd stats after the cache run: " + "; ".join(cache_stats))
        lines += targets(rows, clients_list, args.idle, cache_supported, kind)
        if args.rounds > 1:
            lines += per_round(all_rows)
        lines.append("")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=str(REPO / "build-bench"),
                    help="release build directory (default: build-bench)")
    ap.add_argument("--db", choices=("mysql", "pgsql", "both"), default="both",
                    help="database(s) to measure (default: both, MariaDB first)")
    ap.add_argument("--duration", type=float, default=10, help="seconds measured per run")
    ap.add_argument("--warmup", type=float, default=3, help="seconds of warm-up per run")
    ap.add_argument("--clients", default="1,16,128,1000", help="client counts")
    ap.add_argument("--idle", type=int, default=10000, help="idle connections for the idle run")
    ap.add_argument("--hot", type=int, default=1000, help="hot-set size (first K keys)")
    ap.add_argument("--ceiling-threads", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=5,
                    help="repeat every run this often and report the median (default 5)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 3 s runs, 1 s warm-up, one round (about a minute "
                         "per database)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    ap.add_argument("--proxyd-cf", default="",
                    help="extra proxyd.cf lines for both proxyd instances (experiments; "
                         "'\\n' separates lines), e.g. 'max_batch = 32'")
    ap.add_argument("--forwarding", choices=("on", "off", "only"), default="on",
                    help="forwarded cidr: rows (issue 12): on (after the databases), "
                         "off, or only them (no database)")
    ap.add_argument("--forward-connections", type=int, default=32,
                    help="proxyd's forward_connections for the forwarded rows (default 32, as proxyd)")
    ap.add_argument("--compare-build", default="",
                    help="another build directory: its proxyd (4 sessions) replaces the "
                         "2-session one at 128 clients, side by side (before/after a change)")
    args = ap.parse_args()
    args.proxyd_cf = "".join(ln.strip() + "\n" for ln in args.proxyd_cf.replace("\\n", "\n").split("\n") if ln.strip())
    if args.quick:
        args.duration, args.warmup, args.rounds = 3, 1, 1
    args.rounds = max(1, args.rounds)
    if os.geteuid() != 0:
        print("bench.py: run as root (Postfix master, proxyd privilege drop)", file=sys.stderr)
        return 2
    build = Path(args.build).resolve()
    proxyd_exe = build / "proxyd" / "proxyd"
    for exe in (proxyd_exe, build / "tests/bench/proxyd-loadgen",
                build / "tests/bench/proxyd-dbceiling", Path(MASTER)):
        if exe.name == "proxyd-dbceiling" and args.forwarding == "only":
            continue   # no database runs
        if not exe.exists():
            print(f"bench.py: {exe} missing (run scripts/bench.sh)", file=sys.stderr)
            return 2
    clients_list = [int(c) for c in args.clients.split(",") if c]
    # Children (proxyd, master, the load generator) inherit this.
    need = max(65536, args.idle * 2 + 4096)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, max(hard, need)))
    except (ValueError, OSError):   # no CAP_SYS_RESOURCE (containers): up to hard
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if nofile < args.idle + 1100:
        print(f"bench.py: RLIMIT_NOFILE {nofile} is too low for {args.idle} idle "
              "connections", file=sys.stderr)
        return 2
    dbservers.terminate_on_signals()

    out_md = build / "bench-results.md"
    out_json = build / "bench-results.json"
    kinds = ("mysql", "pgsql") if args.db == "both" else (args.db,)
    if args.forwarding == "only":
        kinds = ()
    lines = [f"# proxyd benchmark ({time.strftime('%Y-%m-%d %H:%M')})\n"]
    all_json: list[dict] = []
    for kind in kinds:
        lines += run_db(kind, args, build, clients_list, all_json)
    if args.forwarding != "off":
        import forwarding_bench  # issue 12: forwarded rows, no database
        lines += forwarding_bench.run(args, build, all_json, PostfixProxymap, Proxyd)
    text = "\n".join(lines) + "\n"
    print("\n" + text, flush=True)
    out_md.write_text(text)
    out_json.write_text("".join(json.dumps(r) + "\n" for r in all_json))
    print(f"written to {out_md} and {out_json}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
