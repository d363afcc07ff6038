"""Private MariaDB and PostgreSQL servers for proxyd integration tests.

`MariaDB()` and `PostgreSQL()` are context managers that initialise a data
directory under /tmp, start the server on a short UNIX socket path and on a
free 127.0.0.1 port (never a fixed one), and stop it again on exit, also
when the body raises or the test process is killed (the server child gets
PR_SET_PDEATHSIG). They work when the suite runs as root on Debian 12:
MariaDB runs with --user=root, PostgreSQL (which refuses root) runs as the
`postgres` system user. Admin access is via the mariadb/psql client binaries
over the UNIX socket. Standard library only.

This is the one private-database starter of the project: the C++ driver
tests (tests/fakes/db_servers.cpp) run `dbservers.py serve KIND ...`, which
starts a server, creates the test user and database, prints one `ready`
line with its facts and then takes `kill` / `restart` commands on stdin
until stdin closes (see serve()).
"""

from __future__ import annotations

import ctypes
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """preexec_fn: the server gets SIGTERM when the test process dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except OSError:
        pass


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dead_port() -> int:
    """A loopback port nobody listens on (connect is refused at once)."""
    return free_port()


def terminate_on_signals() -> None:
    """Turn SIGTERM/SIGHUP into SystemExit so context managers clean up."""
    def handler(signum, _frame):
        raise SystemExit(128 + signum)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)


def _sql_literal(text: str, backslash_escapes: bool = False) -> str:
    """A single-quoted SQL string literal ('' for '; \\ too for MySQL)."""
    if backslash_escapes:
        text = text.replace("\\", "\\\\")
    return "'" + text.replace("'", "''") + "'"


class ServerError(RuntimeError):
    """A server failed to initialise or start; the message carries its log."""


class _Server:
    """Common start/stop logic: temp dir, child process, log on failure."""

    name = "server"
    start_timeout = 30.0

    def __init__(self, keep: bool = False):
        self.keep = keep or bool(os.environ.get("PROXYD_KEEP_SCRATCH"))
        self.root: Path | None = None
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.host = "127.0.0.1"
        self.log_path: Path | None = None
        self.startup_seconds = 0.0

    # -- to be provided by subclasses
    def _init_datadir(self) -> None:
        raise NotImplementedError

    def _server_cmd(self) -> list[str]:
        raise NotImplementedError

    def _popen_kwargs(self) -> dict:
        return {}

    def _ready(self) -> bool:
        raise NotImplementedError

    def _after_start(self) -> None:
        pass

    # -- life cycle
    def log(self) -> str:
        """The server's log so far (empty when none)."""
        if self.log_path is None:
            return ""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def start(self) -> "_Server":
        t0 = time.monotonic()
        self.root = Path(tempfile.mkdtemp(prefix=self.name[:2], dir="/tmp"))
        # proxyd serves as mail_owner: it must reach the server's socket.
        os.chmod(self.root, 0o755)
        self.log_path = self.root / "server.log"
        try:
            self._init_datadir()
            for attempt in range(3):   # a free port may be taken meanwhile
                self.port = free_port()
                if self._launch():
                    break
                if attempt == 2:
                    raise ServerError(f"{self.name} did not start:\n{self.log()}")
            self._after_start()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - t0
        return self

    def _launch(self) -> bool:
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                self._server_cmd(), stdin=subprocess.DEVNULL, stdout=log,
                stderr=log, preexec_fn=_die_with_parent, **self._popen_kwargs())
        finally:
            log.close()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                if b"in use" in self.log().encode():
                    return False
                raise ServerError(
                    f"{self.name} exited with {self.proc.returncode}:\n{self.log()}")
            if self._ready():
                return True
            time.sleep(0.1)
        self._kill()
        raise ServerError(f"{self.name} not ready after {self.start_timeout}s:\n"
                          f"{self.log()}")

    kill_signal = signal.SIGKILL

    def kill_now(self) -> None:
        """Kill the server at once (SIGKILL for MariaDB, an immediate shutdown
        for PostgreSQL) and wait until it is gone."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(self.kill_signal)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def relaunch(self) -> None:
        """Start the server again on its data directory, port and socket
        (after the test killed it); returns once it answers queries."""
        if not self._launch():
            raise ServerError(f"{self.name} did not start again:\n{self.log()}")

    def _kill(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        """Stop the server and remove its directory (unless keep)."""
        self._kill()
        if self.root is not None and not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class MariaDB(_Server):
    """A private mariadbd; root@localhost has no password (socket admin)."""

    name = "mariadb"

    def __init__(self, keep: bool = False):
        super().__init__(keep)
        self.install_db = shutil.which("mariadb-install-db") or "/usr/bin/mariadb-install-db"
        self.mariadbd = shutil.which("mariadbd", path="/usr/sbin:/usr/bin") or "/usr/sbin/mariadbd"
        self.client = shutil.which("mariadb") or "/usr/bin/mariadb"

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def socket(self) -> Path:
        return self.root / "sock"

    def _user_args(self) -> list[str]:
        return ["--user=root"] if os.geteuid() == 0 else []

    def _init_datadir(self) -> None:
        cmd = [self.install_db, "--no-defaults", f"--datadir={self.datadir}",
               "--auth-root-authentication-method=normal", "--skip-test-db",
               "--skip-name-resolve", *self._user_args()]
        r = subprocess.run(cmd, capture_output=True, timeout=120)
        if r.returncode != 0:
            raise ServerError("mariadb-install-db failed:\n"
                              + r.stdout.decode(errors="replace")
                              + r.stderr.decode(errors="replace"))

    def _server_cmd(self) -> list[str]:
        return [self.mariadbd, "--no-defaults", f"--datadir={self.datadir}",
                f"--socket={self.socket}", f"--port={self.port}",
                "--bind-address=127.0.0.1", "--skip-name-resolve",
                f"--pid-file={self.root / 'pid'}", f"--log-error={self.log_path}",
                "--skip-log-bin", "--innodb-buffer-pool-size=16M",
                "--innodb-log-file-size=8M", "--skip-innodb-doublewrite",
                "--innodb-flush-log-at-trx-commit=0",
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_general_ci",
                "--max-connections=500", *self._user_args()]

    def _ready(self) -> bool:
        if not self.socket.exists():
            return False
        r = subprocess.run([self.client, "--no-defaults", f"--socket={self.socket}",
                            "-uroot", "-e", "SELECT 1"], capture_output=True)
        return r.returncode == 0

    def sql(self, script: str | bytes, database: str | None = None,
            check: bool = True) -> str:
        """Run SQL statements as root over the socket; return tab-separated rows."""
        if isinstance(script, str):
            script = script.encode()
        cmd = [self.client, "--no-defaults", f"--socket={self.socket}", "-uroot",
               "--batch", "--skip-column-names", "--default-character-set=utf8mb4"]
        if database:
            cmd.append(database)
        r = subprocess.run(cmd, input=script, capture_output=True, timeout=120)
        if check and r.returncode != 0:
            raise ServerError(f"mariadb client failed: {r.stderr.decode(errors='replace')}")
        return r.stdout.decode(errors="replace")

    def create_database(self, name: str) -> None:
        """CREATE DATABASE name (utf8mb4)."""
        self.sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 "
                 "COLLATE utf8mb4_general_ci;")

    def create_user(self, name: str, password: str, databases: tuple[str, ...] = ()
                    ) -> None:
        """A password user reachable over TCP and socket, SELECT on databases."""
        stmts = []
        for host in ("localhost", "127.0.0.1"):
            stmts.append(f"CREATE USER {_sql_literal(name)}@'{host}' "
                         f"IDENTIFIED BY {_sql_literal(password, True)};")
            for db in databases:
                stmts.append(f"GRANT SELECT, EXECUTE ON `{db}`.* TO "
                             f"{_sql_literal(name)}@'{host}';")
        self.sql("\n".join(stmts))


class PostgreSQL(_Server):
    """A private postgres run as the `postgres` user when we are root.

    pg_hba: the superuser `postgres` is trusted on the socket (admin);
    every other user must give a password (scram-sha-256) on the socket and
    on 127.0.0.1, so that Postfix's user/password settings are exercised.
    """

    name = "postgresql"
    kill_signal = signal.SIGQUIT  # immediate shutdown: every backend at once

    def __init__(self, keep: bool = False):
        super().__init__(keep)
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                      key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0)
        self.bindir = Path(bins[-1]) if bins else Path("/usr/bin")
        self.psql = shutil.which("psql") or str(self.bindir / "psql")
        self.run_as = "postgres" if os.geteuid() == 0 else None

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root

    @property
    def socket(self) -> Path:
        return self.root / f".s.PGSQL.{self.port}"

    @property
    def default_port_socket_dir(self) -> Path:
        """A directory whose .s.PGSQL.5432 links to the server's socket.

        Postfix passes no port for UNIX-socket hosts (libpq then uses 5432),
        so tables name this directory rather than socket_dir.
        """
        return self.root / "d5432"

    def _after_start(self) -> None:
        d = self.default_port_socket_dir
        d.mkdir(exist_ok=True)
        os.chmod(d, 0o755)
        link = d / ".s.PGSQL.5432"
        if not link.exists():
            link.symlink_to(self.socket)

    def _popen_kwargs(self) -> dict:
        if self.run_as is None:
            return {}
        pw = pwd.getpwnam(self.run_as)
        return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": [],
                "env": {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
                        "HOME": str(self.root)}}

    def _init_datadir(self) -> None:
        if self.run_as is not None:
            pw = pwd.getpwnam(self.run_as)
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            os.chown(self.log_path.parent, pw.pw_uid, pw.pw_gid)
        os.chmod(self.root, 0o755)
        cmd = [str(self.bindir / "initdb"), "-D", str(self.datadir), "-U", "postgres",
               "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
               "--auth-local=trust", "--auth-host=scram-sha-256"]
        r = subprocess.run(cmd, capture_output=True, timeout=120, cwd=self.root,
                           **self._popen_kwargs())
        if r.returncode != 0:
            raise ServerError("initdb failed:\n" + r.stdout.decode(errors="replace")
                              + r.stderr.decode(errors="replace"))
        (self.datadir / "pg_hba.conf").write_text(
            "local all postgres trust\n"
            "local all all scram-sha-256\n"
            "host all all 127.0.0.1/32 scram-sha-256\n")

    def _server_cmd(self) -> list[str]:
        return [str(self.bindir / "postgres"), "-D", str(self.datadir),
                "-k", str(self.socket_dir), "-p", str(self.port),
                "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                "-c", "logging_collector=off", "-c", "max_connections=300",
                "-c", "shared_buffers=16MB", "-c", "password_encryption=scram-sha-256"]

    def _ready(self) -> bool:
        if not self.socket.exists():
            return False
        r = self._psql(b"SELECT 1;", "postgres", check=False)
        return r.returncode == 0

    def _psql(self, script: bytes, database: str, check: bool = True
              ) -> subprocess.CompletedProcess:
        cmd = [self.psql, "-X", "-q", "-h", str(self.socket_dir), "-p", str(self.port),
               "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1",
               "-A", "-t", "-F", "\t"]
        kw = self._popen_kwargs()
        if kw:
            kw["env"]["PGCLIENTENCODING"] = "UTF8"
        r = subprocess.run(cmd, input=script, capture_output=True, timeout=120,
                           cwd=self.root, **kw)
        if check and r.returncode != 0:
            raise ServerError(f"psql failed: {r.stderr.decode(errors='replace')}")
        return r

    def sql(self, script: str | bytes, database: str | None = None,
            check: bool = True) -> str:
        """Run SQL as the superuser over the socket; return tab-separated rows."""
        if isinstance(script, str):
            script = script.encode()
        return self._psql(script, database or "postgres", check).stdout.decode(
            errors="replace")

    def create_database(self, name: str) -> None:
        """CREATE DATABASE name (UTF8)."""
        self.sql(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0;')

    def create_user(self, name: str, password: str, databases: tuple[str, ...] = ()
                    ) -> None:
        """A password login role with SELECT on the public schema of databases."""
        self.sql(f'CREATE ROLE "{name}" LOGIN PASSWORD {_sql_literal(password)};')
        for db in databases:
            self.sql(f'GRANT CONNECT ON DATABASE "{db}" TO "{name}";'
                     f'GRANT USAGE ON SCHEMA public TO "{name}";'
                     f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{name}";'
                     f'GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO "{name}";',
                     db)


def _reply(line: str) -> None:
    print(line.replace("\\", "\\\\").replace("\n", "\\n"), flush=True)


def serve(kind: str, user: str, password: str, database: str) -> int:
    """Start one server for a test program that is not Python (the C++
    driver tests). The server gets `database` and a password user `user`
    with every privilege on it. Then, on stdout, one line
    `ready dir=D port=P socket=S pid=N` (S: MariaDB's socket file, or the
    directory of PostgreSQL's), or `error MESSAGE` (newlines as \\n) and exit
    status 1. Commands, one per line on stdin, each answered `ok` or `error
    MESSAGE`: `kill` (kill_now) and `restart` (relaunch). At end of stdin,
    or when the test program dies, the server stops and its directory goes."""
    terminate_on_signals()
    _die_with_parent()  # the test program died: SIGTERM, then the finally
    server: _Server = MariaDB() if kind == "mariadb" else PostgreSQL()
    try:
        server.start()
        if kind == "mariadb":
            server.sql(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4;" + "".join(
                f"CREATE USER {_sql_literal(user)}@'{host}' IDENTIFIED BY "
                f"{_sql_literal(password, True)};"
                f"GRANT ALL ON `{database}`.* TO {_sql_literal(user)}@'{host}';"
                for host in ("localhost", "127.0.0.1")))
            where = server.socket
        else:
            server.sql(f'CREATE ROLE "{user}" LOGIN PASSWORD {_sql_literal(password)};')
            server.sql(f'CREATE DATABASE "{database}" OWNER "{user}" ENCODING \'UTF8\' '
                       "TEMPLATE template0;")
            where = server.socket_dir
    except (ServerError, OSError, subprocess.SubprocessError) as e:
        server.stop()
        _reply(f"error {e}")
        return 1
    try:
        _reply(f"ready dir={server.root} port={server.port} socket={where} "
               f"pid={server.proc.pid}")
        for line in sys.stdin:
            command = line.strip()
            try:
                if command == "kill":
                    server.kill_now()
                elif command == "restart":
                    server.kill_now()
                    server.relaunch()
                else:
                    _reply(f"error unknown command {command!r}")
                    continue
            except (ServerError, OSError, subprocess.SubprocessError) as e:
                _reply(f"error {e}")
                continue
            _reply("ok")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "serve" and \
            sys.argv[2] in ("mariadb", "postgresql"):
        sys.exit(serve(*sys.argv[2:]))
    if len(sys.argv) > 1:
        sys.exit("usage: dbservers.py [serve mariadb|postgresql USER PASSWORD DATABASE]")
    # Smoke test: start both, report timings.
    terminate_on_signals()
    with MariaDB() as m:
        print(f"mariadb up in {m.startup_seconds:.1f}s port {m.port} socket {m.socket}")
        m.create_database("t")
        m.create_user("u", "p'w", ("t",))
        print(m.sql("SELECT VERSION();").strip())
    with PostgreSQL() as p:
        print(f"postgresql up in {p.startup_seconds:.1f}s port {p.port} socket {p.socket}")
        p.create_database("t")
        p.create_user("u", "p'w", ("t",))
        print(p.sql("SELECT version();").strip())
