"""A scratch Postfix instance run by the real master(8), with proxyd as proxymap.

Builds a complete, loopback-only Postfix configuration in a temporary
directory: config_directory (main.cf, master.cf, table .cf files), queue and
data directories, a virtual mailbox base, and a private daemon_directory.
master(8) always runs a service's command as daemon_directory/COMMAND
(master_ent.c), so the private daemon_directory holds copies of Debian's
real daemons (/usr/lib/postfix/sbin/*) plus one named "proxyd", a copy of
the binary under test; the proxymap and proxywrite lines of master.cf name
it. Started with `postfix -c DIR start`, stopped with `postfix -c DIR stop`
(and a SIGKILL sweep of anything left, so a failing test leaves no daemon);
an instance whose test process was killed before it could stop it is swept
when the next one is made (sweep_orphans).
Standard library only; needs root (master(8) does).
"""

from __future__ import annotations

import os
import pwd
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

POSTFIX = shutil.which("postfix", path="/usr/sbin:/usr/bin") or "/usr/sbin/postfix"
POSTSUPER = shutil.which("postsuper", path="/usr/sbin:/usr/bin") or "/usr/sbin/postsuper"
REAL_DAEMON_DIR = Path("/usr/lib/postfix/sbin")

# Virtual mailbox owner: any uid >= virtual_minimum_uid; need not exist.
VMAIL_UID = 5000


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_comm(pid: int) -> str:
    """The command name of a process ("" when it is gone)."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def proc_exe(pid: int) -> str:
    """The executable of a process ("" when unreadable or gone)."""
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return ""


def proc_status_ids(pid: int, field: str) -> list[int]:
    """Real/effective/saved/fs ids of a process from /proc/PID/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return [int(x) for x in line.split()[1:]]
    raise AssertionError(f"no {field} line for pid {pid}")


def proc_service(pid: int) -> str:
    """The -n argument master(8) gave a daemon ("" when none or gone)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return ""
    if b"-n" in argv[:-1]:
        return argv[argv.index(b"-n") + 1].decode(errors="replace")
    return ""


def proc_ppid(pid: int) -> int:
    """Parent pid of a process (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("PPid:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def proc_env(pid: int) -> dict[str, str]:
    """The start-up environment of a process."""
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    out = {}
    for item in raw.split(b"\0"):
        if b"=" in item:
            k, v = item.split(b"=", 1)
            out[k.decode(errors="replace")] = v.decode(errors="replace")
    return out


def pids_running(exe: str | None) -> list[int]:
    """Pids of live (non-zombie) processes whose executable is exe (any if None)."""
    want = os.path.realpath(exe) if exe else None
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        if want is not None and proc_exe(pid) != want:
            continue
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z":
            out.append(pid)
    return sorted(out)


def pids_with_accepted_connection(pids: list[int], path: Path) -> list[int]:
    """Those of pids that hold a connection accepted on the UNIX socket path.

    An accepted socket carries the listener's path in /proc/net/unix, state
    03 (connected); the listening socket itself, which master(8) hands to
    every child, is state 01. master(8) binds relative to the queue
    directory ("private/proxymap"), so a relative entry matches the tail.
    """
    want = str(path)
    inodes = set()
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        cols = line.split()
        if len(cols) < 8 or cols[5] != "03":
            continue
        bound = cols[7]
        if bound == want or (not bound.startswith("/") and want.endswith("/" + bound)):
            inodes.add(f"socket:[{cols[6]}]")
    out = []
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                    out.append(pid)
                    break
            except OSError:
                continue
    return out


def last_definitions_only(main_cf: str) -> str:
    """main.cf text with every parameter defined once, at its last definition.

    Postfix uses the last definition anyway, but each process that reads a
    repeated one logs "overriding earlier entry" while it starts, and
    postlogd(8) logs its own start-up warnings to its own public/postlog
    socket with a blocking send. With Linux's default
    net.unix.max_dgram_qlen of 10, a postlogd that starts when other
    processes have queued a few lines blocks on its own socket for good:
    every Postfix process that logs (master(8) included) then hangs, so
    `postfix start` waits out master's 100 s start-up limit, smtpd never
    greets and proxymap never answers. A main.cf without repeated
    parameters gives postlogd nothing to log at start-up."""
    lines = main_cf.splitlines(keepends=True)
    last: dict[str, int] = {}
    for i, line in enumerate(lines):
        if "=" in line and line[:1] not in (" ", "\t", "#"):
            last[line.split("=", 1)[0].strip()] = i
    out = []
    skip_continuation = False
    for i, line in enumerate(lines):
        if line[:1] in (" ", "\t") and line.strip():
            if not skip_continuation:
                out.append(line)
            continue
        skip_continuation = False
        if "=" in line and line[:1] not in (" ", "\t", "#"):
            if last[line.split("=", 1)[0].strip()] != i:
                skip_continuation = True
                continue
        out.append(line)
    return "".join(out)


# The pid of the test process that made an instance, in its root directory.
OWNER_FILE = "owner.pid"


def sweep_orphans() -> list[Path]:
    """Stop the instances of test processes that died without stopping
    them (a run killed by meson's timeout or by hand): every process run
    from such an instance's daemon_directory is killed and its directory
    removed. An instance whose owner still runs (another test, perhaps
    another engineer's) is never touched. Returns the roots swept."""
    swept = []
    for owner in Path("/tmp").glob(f"pf*/{OWNER_FILE}"):
        try:
            pid = int(owner.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
        if Path(f"/proc/{pid}").exists():
            continue
        root = owner.parent
        prefix = str(root / "libexec") + "/"
        for p in pids_running(None):
            if proc_exe(p).startswith(prefix):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        shutil.rmtree(root, ignore_errors=True)
        swept.append(root)
    return swept


class PostfixError(RuntimeError):
    """A postfix command failed; the message carries its output and the log."""


class PostfixInstance:
    """One scratch Postfix instance (see the module docstring)."""

    def __init__(self, proxyd_exe: str, main_cf_extra: str = "",
                 proxymap_chroot: bool = False, prefix: str = "pfe",
                 forwarding: bool = False, stock_proxymap: bool = False,
                 master_cf_extra: str = ""):
        # stock_proxymap: Postfix's own proxymap as the proxymap/proxywrite
        # services and no proxyd at all (the reference run of a comparison).
        # master_cf_extra: more master.cf lines (e.g. local(8)).
        self.stock_proxymap = stock_proxymap
        self.master_cf_extra = master_cf_extra
        # forwarding: the layout of issue 12 -- Postfix's own proxymap stays
        # as the proxymap/proxywrite services, proxyd runs as the services
        # "proxyd" and "proxyd-write" that main.cf names for every client.
        self.forwarding = forwarding
        self.proxyd_exe = os.path.realpath(proxyd_exe)
        self.main_cf_extra = main_cf_extra
        self.proxymap_chroot = proxymap_chroot
        self.smtp_port = free_port()
        # Short paths: master(8) binds UNIX sockets under the queue directory.
        sweep_orphans()
        self.root = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
        self.root.chmod(0o755)
        (self.root / OWNER_FILE).write_text(f"{os.getpid()}\n")
        self.config_dir = self.root / "etc"
        self.queue_dir = self.root / "q"
        self.data_dir = self.root / "data"
        self.daemon_dir = self.root / "libexec"
        self.mail_base = self.root / "vmail"
        self.maillog = self.root / "maillog"
        self.mail_owner = pwd.getpwnam("postfix")
        self.started = False

    # -- layout
    def table_path(self, name: str) -> Path:
        """Where a table .cf file lives (config_directory)."""
        return self.config_dir / name

    def write_table(self, name: str, text: str) -> Path:
        """Write a table .cf readable by root and mail_owner's group only."""
        p = self.table_path(name)
        p.write_text(text)
        os.chown(p, 0, self.mail_owner.pw_gid)
        p.chmod(0o640)
        return p

    def main_cf(self) -> str:
        """main.cf of the instance: loopback only, virtual domains via proxy:.

        A parameter that main_cf_extra sets replaces the default line instead
        of following it: Postfix would use the last one anyway, but every
        process would log "overriding earlier entry" for each, and that
        start-up log burst through postlogd is what these tests must not
        depend on."""
        base = self.default_main_cf()
        extra_names = {line.split("=", 1)[0].strip()
                       for line in self.main_cf_extra.splitlines()
                       if "=" in line and line[:1] not in (" ", "\t", "#")}
        kept = [line for line in base.splitlines(keepends=True)
                if line.split("=", 1)[0].strip() not in extra_names]
        return "".join(kept) + self.main_cf_extra

    def default_main_cf(self) -> str:
        """The instance's own main.cf lines, before main_cf_extra."""
        cfg = self.config_dir
        return (
            "compatibility_level = 3.6\n"
            f"queue_directory = {self.queue_dir}\n"
            f"data_directory = {self.data_dir}\n"
            f"daemon_directory = {self.daemon_dir}\n"
            "mail_owner = postfix\n"
            "setgid_group = postdrop\n"
            "syslog_name = postfix-e2e\n"
            f"maillog_file_prefixes = {self.root}\n"
            f"maillog_file = {self.maillog}\n"
            "inet_interfaces = 127.0.0.1\n"
            "inet_protocols = ipv4\n"
            "myhostname = mx.e2e.test\n"
            "mydomain = e2e.test\n"
            "myorigin = $myhostname\n"
            "mydestination =\n"
            "relay_domains =\n"
            "mynetworks = 127.0.0.0/8\n"
            "alias_maps =\n"
            "local_recipient_maps =\n"
            "alias_database =\n"
            "local_transport = error:local delivery is disabled\n"
            "default_transport = error:outbound mail is disabled\n"
            "relay_transport = error:outbound mail is disabled\n"
            "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n"
            "smtpd_client_connection_count_limit = 0\n"
            "smtpd_client_connection_rate_limit = 0\n"
            "smtpd_peername_lookup = no\n"
            "disable_dns_lookups = yes\n"
            "smtp_dns_support_level = disabled\n"
            "biff = no\n"
            "append_dot_mydomain = no\n"
            f"virtual_mailbox_domains = proxy:mysql:{cfg}/vdomains.cf\n"
            f"virtual_mailbox_maps = proxy:mysql:{cfg}/vmailboxes.cf\n"
            f"virtual_alias_maps = proxy:mysql:{cfg}/valiases.cf\n"
            "proxy_read_maps = $virtual_mailbox_domains $virtual_mailbox_maps"
            " $virtual_alias_maps\n"
            "proxy_write_maps =\n"
            f"virtual_mailbox_base = {self.mail_base}\n"
            f"virtual_uid_maps = static:{VMAIL_UID}\n"
            f"virtual_gid_maps = static:{VMAIL_UID}\n"
            "virtual_minimum_uid = 100\n"
            "queue_run_delay = 5s\n"
            "minimal_backoff_time = 5s\n"
            "maximal_backoff_time = 10s\n"
            + ("proxymap_service_name = proxyd\n"
               "proxywrite_service_name = proxyd-write\n" if self.forwarding else "")
        )

    def master_cf(self) -> str:
        """master.cf: the daemons the test needs; proxymap/proxywrite run proxyd."""
        chroot = "y" if self.proxymap_chroot else "n"
        return (
            "# service type  private unpriv  chroot  wakeup  maxproc command\n"
            f"127.0.0.1:{self.smtp_port} inet n - n - - smtpd\n"
            "cleanup   unix  n       -       n       -       0       cleanup\n"
            "qmgr      unix  n       -       n       300     1       qmgr\n"
            "rewrite   unix  -       -       n       -       -       trivial-rewrite\n"
            "bounce    unix  -       -       n       -       0       bounce\n"
            "defer     unix  -       -       n       -       0       bounce\n"
            "trace     unix  -       -       n       -       0       bounce\n"
            "verify    unix  -       -       n       -       1       verify\n"
            "anvil     unix  -       -       n       -       1       anvil\n"
            "error     unix  -       -       n       -       -       error\n"
            "retry     unix  -       -       n       -       -       error\n"
            "discard   unix  -       -       n       -       -       discard\n"
            # virtual(8) opens virtual_mailbox_maps directly, never through
            # proxy: (DICT_FLAG_PARANOID), with Postfix 3.7's fixed 60 s host
            # retry after a database failure: one delivery per process keeps
            # a stale connection from outliving a database restart.
            "virtual   unix  -       n       n       -       -       virtual"
            " -o max_use=1\n"
            "postlog   unix-dgram n  -       n       -       1       postlogd\n"
            + self.master_cf_extra
            + (self.stock_services(chroot) if self.stock_proxymap else
               self.forwarding_services(chroot) if self.forwarding else
               f"proxymap  unix  -       -       {chroot}       -       -       proxyd\n"
               f"proxywrite unix -       -       {chroot}       -       1       proxyd\n")
        )

    @staticmethod
    def stock_services(chroot: str) -> str:
        """master.cf lines with Postfix's own proxymap only (no proxyd)."""
        return (
            f"proxymap  unix  -       -       {chroot}       -       -       proxymap\n"
            f"proxywrite unix -       -       {chroot}       -       1       proxymap\n"
        )

    @staticmethod
    def forwarding_services(chroot: str) -> str:
        """master.cf lines of the forwarding layout (issue 12): Postfix's
        proxymap as shipped, proxyd in front of it under names of its own
        (no -n: the command name is the service name for "proxyd")."""
        return (
            "proxymap  unix  -       -       n       -       -       proxymap\n"
            "proxywrite unix -       -       n       -       1       proxymap\n"
            f"proxyd    unix  -       -       {chroot}       -       -       proxyd\n"
            f"proxyd-write unix -     -       {chroot}       -       1       proxyd\n"
        )

    def write_config(self) -> None:
        """Create every directory and file of the instance."""
        self.config_dir.mkdir(exist_ok=True)
        self.queue_dir.mkdir(exist_ok=True)
        self.data_dir.mkdir(exist_ok=True)
        os.chown(self.data_dir, self.mail_owner.pw_uid, self.mail_owner.pw_gid)
        self.mail_base.mkdir(exist_ok=True)
        os.chown(self.mail_base, VMAIL_UID, VMAIL_UID)
        self.mail_base.chmod(0o755)
        self.daemon_dir.mkdir(exist_ok=True)
        for real in REAL_DAEMON_DIR.iterdir():
            if real.name == "proxymap" and not (self.forwarding or self.stock_proxymap):
                continue   # proxyd replaces it; keep the real one out of reach
            # Copies: postfix-script warns about symlinks leaving the directory.
            copy = self.daemon_dir / real.name
            if not copy.exists():
                shutil.copy2(real, copy)
        # proxyd too, as the .deb installs it: a binary in daemon_directory,
        # so `postfix start` and `postfix check` have no symlink to warn about.
        copy = self.daemon_dir / "proxyd"
        if not copy.exists():
            shutil.copy2(self.proxyd_exe, copy)
        self.proxyd_exe = os.path.realpath(copy)
        (self.config_dir / "main.cf").write_text(last_definitions_only(self.main_cf()))
        (self.config_dir / "master.cf").write_text(self.master_cf())

    # -- commands
    def postfix(self, *args: str, check: bool = True,
                timeout: float = 120) -> tuple[int, str]:
        """Run `postfix -c CONFIG_DIR ARGS`; returns (exit status, output).

        Postfix commands write diagnostics to stderr only when it is a
        terminal (otherwise to the log, which may not exist yet), so they
        run on a pseudo-terminal.
        """
        ptm, pts = os.openpty()
        try:
            # Its own process group: a timeout kills postfix-script and
            # whatever it runs (postlog, postsuper), not only postfix.
            proc = subprocess.Popen([POSTFIX, "-c", str(self.config_dir), *args],
                                    stdin=subprocess.DEVNULL, stdout=pts, stderr=pts,
                                    start_new_session=True)
        finally:
            os.close(pts)
        chunks = []
        try:
            deadline = time.monotonic() + timeout
            while True:
                if time.monotonic() > deadline:
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    proc.wait()
                    raise subprocess.TimeoutExpired(proc.args, timeout)
                ready, _, _ = select.select([ptm], [], [], 1.0)
                if not ready:
                    # Done even if a process it left behind still holds
                    # the terminal (read to EIO would wait for that one).
                    if proc.poll() is not None:
                        break
                    continue
                try:
                    data = os.read(ptm, 4096)
                except OSError:   # EIO: every writer closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
        finally:
            os.close(ptm)
        rc = proc.wait(timeout)
        out = b"".join(chunks).decode(errors="replace").replace("\r\n", "\n")
        if check and rc != 0:
            raise PostfixError(f"postfix {' '.join(args)} exited {rc}:\n{out}"
                               f"--- maillog:\n{self.log()}")
        return rc, out

    def postsuper(self, *args: str) -> None:
        """Run `postsuper -c CONFIG_DIR ARGS` (queue maintenance, as root)."""
        r = subprocess.run([POSTSUPER, "-c", str(self.config_dir), *args],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise PostfixError(f"postsuper {' '.join(args)} exited {r.returncode}:\n"
                               f"{r.stdout}{r.stderr}")

    def master_pid(self) -> int:
        """Pid of master(8) from its pid file (0 when not running)."""
        try:
            pid = int((self.queue_dir / "pid" / "master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return 0
        return pid if proc_comm(pid) == "master" else 0

    def start(self) -> "PostfixInstance":
        """Write the configuration and `postfix start`; wait for smtpd's greeting.

        The greeting, not only the port: master(8) binds the port before it
        runs anything, and a master that cannot spawn daemons (or a hung
        logger) must fail here, with the log, not later as a test's wrong
        answer. 60 s: smtpd's first start on a loaded machine."""
        self.write_config()
        self.started = True
        self.postfix("start")
        deadline = time.monotonic() + 60
        banner = b""
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.smtp_port), 1) as s:
                    s.settimeout(max(1.0, deadline - time.monotonic()))
                    banner = s.recv(512)
                    if banner.startswith(b"220"):
                        return self
            except OSError:
                pass
            time.sleep(0.2)
        raise PostfixError(f"no smtpd greeting on {self.smtp_port} ({banner!r}):\n{self.log()}")

    def proxyd_pids(self, service: str | None = "proxymap") -> list[int]:
        """Live proxyd children of this instance's master(8) running the
        master.cf service (its -n argument); any service when None."""
        master = self.master_pid()
        out = []
        for pid in pids_running(self.proxyd_exe):
            if master and proc_ppid(pid) != master:
                continue
            if service is not None and proc_service(pid) != service:
                continue
            out.append(pid)
        return out

    def stop(self) -> None:
        """`postfix stop`, then kill whatever of this instance is left."""
        if not self.started:
            return
        master = self.master_pid()
        try:
            self.postfix("stop", check=False, timeout=60)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + 20
        while master and proc_comm(master) == "master" and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in self.leftover_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.started = False

    def leftover_pids(self) -> list[int]:
        """Live processes of this instance: daemons run from its
        daemon_directory, and proxyd processes whose MAIL_CONFIG is its
        config_directory (set by master(8) for its children)."""
        prefix = str(self.daemon_dir) + "/"
        out = []
        for pid in pids_running(None):
            exe = proc_exe(pid)
            if exe.startswith(prefix):
                out.append(pid)
            elif exe == self.proxyd_exe:
                try:
                    if proc_env(pid).get("MAIL_CONFIG") == str(self.config_dir):
                        out.append(pid)
                except OSError:
                    pass
        return out

    def log(self) -> str:
        """The instance's mail log so far (postlogd's maillog_file)."""
        try:
            return self.maillog.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def cleanup(self) -> None:
        """Remove the instance's directory (unless PROXYD_KEEP_SCRATCH)."""
        if not os.environ.get("PROXYD_KEEP_SCRATCH"):
            shutil.rmtree(self.root, ignore_errors=True)
        else:   # kept for reading: no longer an instance to sweep
            (self.root / OWNER_FILE).unlink(missing_ok=True)

    def __enter__(self) -> "PostfixInstance":
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.stop()
        finally:
            self.cleanup()


def run_side_by_side(instances: dict, body, timeout: float = 600) -> None:
    """Start each instance and run body(name, instance) on it, all at once
    (one thread per instance, as two hosts would run); re-raise the first
    error any of them met."""
    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:
            instances[name].start()
            body(name, instances[name])
        except BaseException as e:   # re-raised below, on the test's thread
            errors.append(e)

    threads = [threading.Thread(target=run, args=(n,)) for n in instances]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    if errors:
        raise errors[0]
