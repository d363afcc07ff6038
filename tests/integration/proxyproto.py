"""A tiny raw Postfix proxymap protocol client for integration tests.

Speaks the attr0 framing (name NUL value NUL ... NUL) over a UNIX socket so
tests can send exact byte sequences (both client layouts, malformed input)
and read replies. Standard library only.
"""

from __future__ import annotations

import socket
import time


def encode(attrs: list[tuple[str | bytes, str | bytes | int]]) -> bytes:
    """Encode one attribute list, terminator included."""
    out = b""
    for name, value in attrs:
        if isinstance(name, str):
            name = name.encode()
        if isinstance(value, int):
            value = str(value).encode()
        elif isinstance(value, str):
            value = value.encode()
        out += name + b"\0" + value + b"\0"
    return out + b"\0"


class Conn:
    """One client connection; reads and checks the greeting on connect."""

    def __init__(self, path, timeout: float = 10.0, greeting: bool = True):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.buf = b""
        if greeting:
            g = self.read()
            if g != [(b"protocol", b"proxymap_protocol")]:
                raise AssertionError(f"bad greeting {g!r}")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def request(self, attrs) -> list[tuple[bytes, bytes]]:
        self.send(encode(attrs))
        return self.read()

    def read(self) -> list[tuple[bytes, bytes]]:
        """Read one complete attribute list; raises EOFError at end of stream."""
        attrs: list[tuple[bytes, bytes]] = []
        while True:
            # name
            name = self._field()
            if name == b"":
                return attrs
            value = self._field()
            attrs.append((name, value))

    def _field(self) -> bytes:
        while b"\0" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("server closed the connection")
            self.buf += chunk
        field, _, self.buf = self.buf.partition(b"\0")
        return field

    def closed_by_peer(self, wait: float = 2.0) -> bool:
        """True when the server closes the connection within wait seconds."""
        deadline = time.monotonic() + wait
        self.sock.settimeout(0.1)
        try:
            while time.monotonic() < deadline:
                try:
                    chunk = self.sock.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    return True
                if not chunk:
                    return True
                self.buf += chunk
            return False
        finally:
            self.sock.settimeout(10.0)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
