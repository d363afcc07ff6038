"""Private servers for the forwarded table types that need one (issue 12).

A slapd (ldap_table(5)), a memcached (memcache_table(5)) and a socketmap
server (socketmap_table(5), written here in Python), each listening on a
UNIX socket inside a temporary directory of its own, started and stopped by
the test: no fixed port, no fixed path, nothing of the system's instances.
The directories are world-traversable and the sockets world-writable so
Postfix's proxymap, running as the mail owner, reaches them. Standard
library only (the servers are Debian's slapd and memcached).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"
MEMCACHED = "/usr/bin/memcached"
SCHEMA_DIR = Path("/etc/ldap/schema")


def _scratch(prefix: str) -> Path:
    d = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    d.chmod(0o755)
    return d


def _wait_socket(path: Path, proc: subprocess.Popen, what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode}")
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(str(path))
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} not listening on {path}")


def _stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


class Slapd:
    """A private OpenLDAP server (mdb backend) on an ldapi:// socket,
    loaded with slapadd before it starts; anonymous read access."""

    SUFFIX = "dc=example,dc=com"

    def __init__(self, ldif: str):
        self.dir = _scratch("pfl")
        self.socket = self.dir / "ldapi"
        self.proc: subprocess.Popen | None = None
        self.ldif = ldif

    @property
    def url(self) -> str:
        return "ldapi://" + urllib.parse.quote(str(self.socket), safe="")

    def conf(self) -> str:
        schemas = "".join(f"include {SCHEMA_DIR}/{s}.schema\n"
                          for s in ("core", "cosine", "inetorgperson"))
        return (schemas
                + f"pidfile {self.dir}/slapd.pid\n"
                + "modulepath /usr/lib/ldap\nmoduleload back_mdb\n"
                + "database mdb\nmaxsize 16777216\n"
                + f'suffix "{self.SUFFIX}"\nrootdn "cn=admin,{self.SUFFIX}"\n'
                + f"directory {self.dir}/db\n"
                + "access to * by * read\n")

    def start(self) -> "Slapd":
        (self.dir / "db").mkdir()
        conf = self.dir / "slapd.conf"
        conf.write_text(self.conf())
        (self.dir / "data.ldif").write_text(self.ldif, encoding="utf-8")
        subprocess.run([SLAPADD, "-f", str(conf), "-l", str(self.dir / "data.ldif")],
                       check=True, capture_output=True, timeout=60)
        # -d 0: stay in the foreground so the test owns the process.
        self.proc = subprocess.Popen([SLAPD, "-f", str(conf), "-h", self.url, "-d", "0"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _wait_socket(self.socket, self.proc, "slapd")
        self.socket.chmod(0o777)
        return self

    def stop(self) -> None:
        _stop(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


class Memcached:
    """A private memcached on a UNIX socket (network support off)."""

    def __init__(self):
        self.dir = _scratch("pfm")
        self.socket = self.dir / "mc.sock"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Memcached":
        user = "root" if os.geteuid() == 0 else str(os.getuid())
        self.proc = subprocess.Popen(
            [MEMCACHED, "-s", str(self.socket), "-a", "0777", "-u", user, "-m", "16",
             "-c", "64", "-t", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_socket(self.socket, self.proc, "memcached")
        return self

    def set(self, key: bytes, value: bytes) -> None:
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(self.socket))
            s.sendall(b"set %s 0 0 %d\r\n%s\r\n" % (key, len(value), value))
            reply = s.recv(100)
        if reply != b"STORED\r\n":
            raise RuntimeError(f"memcached set {key!r}: {reply!r}")

    def stop(self) -> None:
        _stop(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


def netstring(data: bytes) -> bytes:
    return b"%d:%s," % (len(data), data)


class SocketmapServer:
    """A socketmap(5) server: netstring requests "NAME KEY", replies
    "OK value", "NOTFOUND ", "TEMP reason" or "PERM reason". Keys are
    matched exactly; a key in `temp` answers TEMP. One thread per client
    connection (Postfix keeps its connection open between requests)."""

    MAX = 100000

    def __init__(self, name: str, data: dict[bytes, bytes], temp: set[bytes] = frozenset()):
        self.dir = _scratch("pfs")
        self.socket = self.dir / "sockmap"
        self.name = name.encode()
        self.data = data
        self.temp = temp
        self.sock: socket.socket | None = None
        self.requests = 0

    def start(self) -> "SocketmapServer":
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.bind(str(self.socket))
        self.socket.chmod(0o777)
        self.sock.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def answer(self, request: bytes) -> bytes:
        self.requests += 1
        name, _, key = request.partition(b" ")
        if name != self.name:
            return b"PERM unknown map"
        if key in self.temp:
            return b"TEMP backend unavailable"
        if key in self.data:
            return b"OK " + self.data[key]
        return b"NOTFOUND "

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buf = b""
        with conn:
            while True:
                while b":" not in buf:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                    if b":" not in buf and len(buf) > 10:
                        return
                head, _, rest = buf.partition(b":")
                if not head.isdigit() or int(head) > self.MAX:
                    return
                need = int(head) + 1
                while len(rest) < need:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    rest += chunk
                if rest[need - 1:need] != b",":
                    return
                conn.sendall(netstring(self.answer(rest[:need - 1])))
                buf = rest[need:]

    def stop(self) -> None:
        if self.sock is not None:
            self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)
