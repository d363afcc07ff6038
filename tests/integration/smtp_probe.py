"""A byte-exact SMTP client for RCPT comparisons in the end-to-end tests.

One session per recipient (smtpd's error limits never come into play): EHLO,
MAIL FROM (with SMTPUTF8 when the recipient is not ASCII), RCPT TO, QUIT.
Returns the RCPT reply (code and every line of text), or the MAIL reply
when MAIL was refused. Standard library only.
"""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor

Reply = tuple[int, str]


class _Session:
    def __init__(self, port: int, timeout: float, source: str):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout,
                                             source_address=(source, 0))
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError(f"connection closed; partial reply {self.buf!r}")
            self.buf += data
        out, self.buf = self.buf.split(b"\r\n", 1)
        return out

    def reply(self) -> Reply:
        lines = []
        while True:
            ln = self.line()
            lines.append(ln[4:].decode("utf-8", errors="backslashreplace"))
            if ln[3:4] != b"-":
                return int(ln[:3]), "\n".join(lines)

    def command(self, text: str) -> Reply:
        self.sock.sendall(text.encode("utf-8") + b"\r\n")
        return self.reply()


def rcpt(port: int, recipient: str, sender: str = "sender@client.e2e.test",
         timeout: float = 60, source: str = "127.0.0.1") -> Reply:
    """RCPT's reply for one recipient in a fresh session from source."""
    s = _Session(port, timeout, source)
    try:
        s.reply()   # greeting
        s.command("EHLO client.e2e.test")
        utf8 = " SMTPUTF8" if not recipient.isascii() else ""
        mail = s.command(f"MAIL FROM:<{sender}>{utf8}")
        if mail[0] != 250:
            return mail
        got = s.command(f"RCPT TO:<{recipient}>")
        s.sock.sendall(b"QUIT\r\n")
        return got
    finally:
        s.close()


def rcpt_all(port: int, recipients: list[str], workers: int = 4) -> list[Reply]:
    """RCPT replies for every recipient, in order (a few sessions at once)."""
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda r: rcpt(port, r), recipients))
