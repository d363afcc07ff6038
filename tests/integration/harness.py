"""Shared fixtures for proxyd integration tests.

Builds a scratch Postfix configuration (config dir + queue dir) in a
temporary directory, starts the proxyd under test on it, and runs the real
Postfix `postmap` from Debian's package against tables directly and through
`proxy:`, so that real Postfix is the oracle. Standard library only.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

POSTMAP = shutil.which("postmap") or "/usr/sbin/postmap"

# How a sanitizer report starts (scripts/sanitize.sh builds). One in the
# output of a proxyd the harness ran fails the test, whatever its exit status.
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "WARNING: ThreadSanitizer", "LeakSanitizer has encountered")


def check_sanitizer_output(text: str, what: str = "proxyd") -> None:
    """Raise AssertionError with the report if text holds a sanitizer report."""
    for marker in SANITIZER_MARKERS:
        at = text.find(marker)
        if at >= 0:
            start = text.rfind("\n", 0, max(at - 200, 0)) + 1
            raise AssertionError(f"sanitizer report in {what}'s output:\n{text[start:start + 8000]}")


def proxyd_exe() -> str:
    """Path of the proxyd binary under test (meson passes PROXYD_EXE)."""
    exe = os.environ.get("PROXYD_EXE")
    if not exe:
        here = Path(__file__).resolve().parents[2]
        exe = str(here / "build" / "proxyd" / "proxyd")
    return exe


class Scratch:
    """A temporary Postfix instance layout: etc/main.cf and a queue directory.

    Use as a context manager; everything is removed at exit unless
    PROXYD_KEEP_SCRATCH is set in the environment.
    """

    def __init__(self, main_cf: str = "", prefix: str = "pxd"):
        # Short paths: UNIX socket names are limited to 108 bytes.
        self.root = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
        # proxyd started as root serves as mail_owner: it must read what we write.
        self.root.chmod(0o755)
        self.config_dir = self.root / "etc"
        self.queue_dir = self.root / "q"
        self.config_dir.mkdir()
        (self.queue_dir / "private").mkdir(parents=True)
        self.write_main_cf(main_cf)

    def write_main_cf(self, extra: str = "") -> None:
        """(Re)write main.cf: the scratch layout plus extra lines."""
        base = (
            f"queue_directory = {self.queue_dir}\n"
            "compatibility_level = 3.6\n"
        )
        (self.config_dir / "main.cf").write_text(base + extra)

    def path(self, name: str) -> Path:
        """A path inside the scratch root."""
        return self.root / name

    def write(self, name: str, text: str | bytes) -> Path:
        """Write a file inside the scratch root and return its path."""
        p = self.path(name)
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            p.write_bytes(text)
        else:
            p.write_text(text)
        return p

    def __enter__(self) -> "Scratch":
        return self

    def __exit__(self, *exc) -> None:
        if not os.environ.get("PROXYD_KEEP_SCRATCH"):
            shutil.rmtree(self.root, ignore_errors=True)


class Proxyd:
    """The proxyd under test, running in the foreground on a Scratch layout."""

    def __init__(self, scratch: Scratch, args: list[str] | None = None,
                 exe: str | None = None):
        self.scratch = scratch
        self.exe = exe or proxyd_exe()
        self.args = args or []
        self.proc: subprocess.Popen | None = None
        self.log_path = scratch.path("proxyd.log")

    @property
    def proxymap_socket(self) -> Path:
        return self.scratch.queue_dir / "private" / "proxymap"

    @property
    def proxywrite_socket(self) -> Path:
        return self.scratch.queue_dir / "private" / "proxywrite"

    def start(self, timeout: float = 10.0) -> "Proxyd":
        """Start proxyd and wait until both sockets accept connections and it
        has said "daemon started": the sockets listen before the privilege
        drop, the chroot and the signal handlers, and a slow (sanitizer) build
        shows that gap to a test that looks too early."""
        self._log = open(self.log_path, "ab")
        log_start = self._log.tell()
        cmd = [self.exe, "-c", str(self.scratch.config_dir), "-f", *self.args]
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=self._log,
                                     stdin=subprocess.DEVNULL, env=self._env())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"proxyd exited with {self.proc.returncode}:\n{self.log()}")
            if (self._accepts(self.proxymap_socket) and self._accepts(self.proxywrite_socket)
                    and b"daemon started" in self.log_path.read_bytes()[log_start:]):
                return self
            time.sleep(0.05)
        raise RuntimeError(f"proxyd did not start in {timeout}s:\n{self.log()}")

    def _env(self) -> dict | None:
        """The environment for proxyd: ours, except that under ASan a proxyd
        that chroots runs without LeakSanitizer, which needs /proc (absent in
        the jail) and would otherwise fail the exit with a fatal error."""
        cf = self.scratch.config_dir / "proxyd.cf"
        asan = os.environ.get("ASAN_OPTIONS")
        if asan is None or not cf.exists():
            return None
        if not any(l.split("=", 1)[0].strip() == "chroot" and l.split("=", 1)[1].strip() == "yes"
                   for l in cf.read_text().splitlines() if "=" in l):
            return None
        return dict(os.environ, ASAN_OPTIONS=asan + ":detect_leaks=0")

    @staticmethod
    def _accepts(path: Path) -> bool:
        if not path.exists():
            return False
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.settimeout(1.0)
            s.connect(str(path))
            return True
        except OSError:
            return False
        finally:
            s.close()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        """Stop proxyd and return its exit status."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        check_sanitizer_output(self.log())
        return self.proc.returncode

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        """Everything proxyd wrote to stderr/stdout so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def __enter__(self) -> "Proxyd":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class TablesInstance:
    """A scratch layout listing SQL tables in proxy_read_maps, a proxyd.cf, and
    the proxyd serving them; a context manager that fails on a bad exit."""

    def __init__(self, tables: dict[str, tuple[str, str]], proxyd_cf, prefix: str = "pxi"):
        """tables: name -> (type, .cf text); proxyd_cf: the text, or a
        function of {name: "type:PATH"} giving it."""
        self.scratch = Scratch(prefix=prefix)
        self.tables = {}
        for name, (kind, text) in tables.items():
            path = self.scratch.write(f"{name}.cf", text)
            self.tables[name] = f"{kind}:{path}"
        listed = " ".join(f"proxy:{t}" for t in self.tables.values())
        self.scratch.write_main_cf(f"proxy_read_maps = {listed}\n")
        if callable(proxyd_cf):
            proxyd_cf = proxyd_cf(self.tables)
        self.scratch.write("etc/proxyd.cf", proxyd_cf)
        self.proxyd = Proxyd(self.scratch)

    def __enter__(self) -> "TablesInstance":
        self.proxyd.start()
        return self

    def __exit__(self, *exc) -> None:
        rc = self.proxyd.stop()
        self.scratch.__exit__(*exc)
        if exc[0] is None and rc != 0:
            raise AssertionError(f"proxyd exited with {rc}:\n{self.proxyd.log()}")

    @property
    def socket(self) -> Path:
        return self.proxyd.proxymap_socket


def postmap_query(scratch: Scratch, table: str, keys: list[bytes],
                  timeout: float = 60.0, extra_args: list[str] | None = None
                  ) -> subprocess.CompletedProcess:
    """Run `postmap -c ETC -q - TABLE` with keys on stdin (one per line).

    Returns the CompletedProcess (stdout/stderr as bytes). The output is
    "key<TAB>value" lines for found keys, as postmap prints them.
    """
    cmd = [POSTMAP, "-c", str(scratch.config_dir), *(extra_args or []), "-q", "-", table]
    data = b"".join(k + b"\n" for k in keys)
    return subprocess.run(cmd, input=data, capture_output=True, timeout=timeout)


def postmap_one(scratch: Scratch, table: str, key: bytes | str,
                timeout: float = 60.0, extra_args: list[str] | None = None
                ) -> subprocess.CompletedProcess:
    """Run `postmap -c ETC -q KEY TABLE` (exit 0 found; 1 not found or error).

    A lookup error shows as a "postmap: fatal: ..." line on stderr.
    """
    if isinstance(key, str):
        key = key.encode()
    cmd = [POSTMAP, "-c", str(scratch.config_dir), *(extra_args or []), "-q", key, table]
    return subprocess.run(cmd, capture_output=True, timeout=timeout)


def compare_direct_and_proxy(scratch: Scratch, table: str, keys: list[bytes],
                             extra_args: list[str] | None = None,
                             require_hits: bool = True) -> list[str]:
    """Run the key corpus through `TABLE` and `proxy:TABLE`; return differences.

    Each key is queried on its own (postmap -q KEY) so that the exit status
    (found / not found / error) is compared too, then the whole corpus once
    more through `-q -`. An empty list means the outputs are identical. With
    require_hits, a corpus that finds nothing directly is reported too, so a
    broken fixture cannot make the comparison vacuous.
    """
    diffs: list[str] = []
    found_directly = False
    for key in keys:
        if b"\n" in key or not key:
            continue
        d = postmap_one(scratch, table, key, extra_args=extra_args)
        found_directly = found_directly or d.returncode == 0
        p = postmap_one(scratch, "proxy:" + table, key, extra_args=extra_args)
        # postmap exits 1 both for "not found" and for a fatal lookup error:
        # the "fatal:" line tells them apart.
        if (d.returncode, d.stdout, b"fatal:" in d.stderr) != \
                (p.returncode, p.stdout, b"fatal:" in p.stderr):
            diffs.append(f"{table} key={key!r}: direct rc={d.returncode} out={d.stdout!r} "
                         f"err={d.stderr[-300:]!r} | proxy rc={p.returncode} "
                         f"out={p.stdout!r} err={p.stderr[-300:]!r}")
    d = postmap_query(scratch, table, keys, extra_args=extra_args)
    p = postmap_query(scratch, "proxy:" + table, keys, extra_args=extra_args)
    # (A batch stops at its first lookup error and loses its output.)
    if require_hits and not found_directly and not d.stdout:
        diffs.append(f"{table}: no key of the corpus is found directly (rc={d.returncode}, "
                     f"err={d.stderr[-300:]!r}): the comparison would prove nothing")
    if (d.returncode, d.stdout) != (p.returncode, p.stdout):
        diffs.append(f"{table} batch: direct rc={d.returncode} out={d.stdout!r} | "
                     f"proxy rc={p.returncode} out={p.stdout!r} err={p.stderr[-300:]!r}")
    return diffs
