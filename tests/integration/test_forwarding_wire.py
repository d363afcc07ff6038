"""Forwarding on the wire (issue 12): what proxyd sends to the stock service
and what it hands back, with a scripted stand-in for Postfix's proxymap.

Debian's proxymap speaks only the 3.7 request layout, so the 3.11+ layout
(`instance_flags` in every request) is shown here against a fake stock
service that records each request it receives:
* open, lookup, update, delete and sequence requests of both layouts reach
  the stock service as a Postfix client of that layout sends them, and its
  replies (status, flags, value) reach the client unchanged;
* a stock service that answers, but slower than `lookup_timeout`, costs
  RETRY within `lookup_timeout`, while proxyd's own tables keep answering
  at once; when it is fast again, forwarding answers at once too;
* `proxyd stats` (text, --json, --prometheus) shows the forwarding pool.
Runs a standalone proxyd; needs no root.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import harness  # noqa: E402
import proxyproto  # noqa: E402
from test_forwarding import FrontProxyd  # noqa: E402

LOOKUP_TIMEOUT = 1
CIDR = "cidr:/stock/only.cidr"     # a type proxyd forwards
BTREE = "btree:/stock/cache"       # a writable forwarded type
NATIVE = "inline:{native=local}"   # served by proxyd itself


class FakeStock:
    """A stand-in for Postfix's proxymap on a UNIX socket: greets like it,
    records every request, answers lookups with a value naming the key, and
    waits `delay` seconds before each reply."""

    def __init__(self, path: Path):
        self.path = path
        self.requests: list[list[tuple[bytes, bytes]]] = []
        self.delay = 0.0
        self.lock = threading.Lock()
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(str(path))
        # proxyd connects after dropping to mail_owner, as to private/proxymap.
        os.chmod(path, 0o666)
        os.chmod(path.parent, 0o711)
        self.srv.listen(16)
        self.stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.stopping = True
        self.srv.close()

    def _accept(self) -> None:
        while not self.stopping:
            try:
                conn, _ = self.srv.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        c = proxyproto.Conn.__new__(proxyproto.Conn)
        c.sock, c.buf = conn, b""
        conn.settimeout(60)
        try:
            conn.sendall(proxyproto.encode([("protocol", "proxymap_protocol")]))
            while True:
                req = c.read()
                with self.lock:
                    self.requests.append(req)
                    delay = self.delay
                if delay:
                    time.sleep(delay)
                conn.sendall(proxyproto.encode(self.reply(dict(req))))
        except (EOFError, OSError):
            pass
        finally:
            conn.close()

    @staticmethod
    def reply(req: dict[bytes, bytes]) -> list[tuple[str, str | bytes]]:
        v2 = b"instance_flags" in req
        kind = req[b"request"]
        flags = req.get(b"instance_flags", req.get(b"flags", b"0"))
        if kind == b"open":
            return [("status", "0"), ("flags", int(flags) | 0x10)]
        if kind == b"lookup":
            key = req[b"key"]
            if key == b"missing":
                out = [("status", "1")] + ([("flags", flags)] if v2 else []) + [("value", "")]
            else:
                out = [("status", "0")] + ([("flags", flags)] if v2 else []) + \
                      [("value", b"stock:" + key)]
            return out
        if kind == b"sequence":
            return [("status", "0")] + ([("flags", flags)] if v2 else []) + \
                   [("key", "k1"), ("value", "v1")]
        # update, delete
        return [("status", "0")] + ([("flags", flags)] if v2 else [])


class ForwardingWire(unittest.TestCase):
    def setUp(self):
        self.stack = []
        self.s = harness.Scratch(prefix="pfw").__enter__()
        self.stack.append(lambda: self.s.__exit__(None, None, None))
        self.stock = FakeStock(self.s.root / "stock.sock")
        self.stack.append(self.stock.close)
        self.s.write_main_cf(f"proxy_read_maps = proxy:{CIDR} proxy:{NATIVE} proxy:{BTREE}\n"
                             f"proxy_write_maps = proxy:{BTREE}\n"
                             "proxymap_service_name = front\n"
                             "proxywrite_service_name = front-write\n"
                             "local_recipient_maps =\n")
        (self.s.config_dir / "proxyd.cf").write_text(
            f"forward_read_socket = {self.stock.path}\n"
            f"forward_write_socket = {self.stock.path}\n"
            f"lookup_timeout = {LOOKUP_TIMEOUT}\n")
        self.p = FrontProxyd(self.s).start()
        self.stack.append(self.p.stop)

    def tearDown(self):
        for undo in reversed(self.stack):
            undo()

    def exchange(self, sock: Path, requests):
        """Send each request on one connection; the replies, and what the
        stock service received meanwhile."""
        with self.stock.lock:
            self.stock.requests.clear()
        with proxyproto.Conn(sock) as c:
            replies = [c.request(r) for r in requests]
        with self.stock.lock:
            return replies, list(self.stock.requests)

    @staticmethod
    def as_bytes(attrs):
        def b(v):
            if isinstance(v, int):
                return str(v).encode()
            return v if isinstance(v, bytes) else v.encode()
        return [(b(n), b(v)) for n, v in attrs]

    def test_both_layouts_pass_through_unchanged(self):
        v1 = [[("request", "open"), ("table", CIDR), ("flags", 0x4040)],
              [("request", "lookup"), ("table", CIDR), ("flags", 0x4040), ("key", "10.1.1.1")],
              [("request", "lookup"), ("table", CIDR), ("flags", 0x4040), ("key", "missing")]]
        v2 = [[("request", "open"), ("table", CIDR), ("instance_flags", 0x84040)],
              [("request", "lookup"), ("table", CIDR), ("instance_flags", 0x84040),
               ("flags", 0x84050), ("key", "10.1.1.1")],
              [("request", "lookup"), ("table", CIDR), ("instance_flags", 0x84040),
               ("flags", 0x84050), ("key", "missing")]]
        for name, reqs in (("3.7 layout", v1), ("3.11 layout", v2)):
            with self.subTest(name):
                replies, seen = self.exchange(self.p.proxymap_socket, reqs)
                # The stock service sees the client's requests, attribute for
                # attribute (proxyd opens nothing of its own on the way).
                self.assertEqual(seen, [self.as_bytes(r) for r in reqs], name)
                want = [self.as_bytes(FakeStock.reply(dict(self.as_bytes(r)))) for r in reqs]
                self.assertEqual(replies, want, name)
                print(f"{name}: {len(reqs)} requests forwarded byte for byte, "
                      f"replies passed back unchanged")

    def test_writes_and_sequence_in_both_layouts(self):
        for name, extra in (("3.7 layout", []), ("3.11 layout", [("instance_flags", 0x84040)])):
            with self.subTest(name):
                def req(kind, *rest):
                    return [("request", kind), ("table", BTREE)] + extra + \
                           [("flags", 0x4040)] + list(rest)
                reqs = [req("update", ("key", "k1"), ("value", "v1")),
                        req("delete", ("key", "k2")),
                        req("sequence", ("function", 1))]
                replies, seen = self.exchange(self.p.proxywrite_socket, reqs)
                self.assertEqual(seen, [self.as_bytes(r) for r in reqs], name)
                want = [self.as_bytes(FakeStock.reply(dict(self.as_bytes(r)))) for r in reqs]
                self.assertEqual(replies, want, name)

    def test_slow_stock_service_costs_retry_not_the_native_tables(self):
        with self.stock.lock:
            self.stock.delay = LOOKUP_TIMEOUT + 2.0
        result = {}

        def forwarded():
            t = time.monotonic()
            with proxyproto.Conn(self.p.proxymap_socket, timeout=30) as c:
                result["reply"] = c.request([("request", "lookup"), ("table", CIDR),
                                             ("flags", 0x4040), ("key", "10.2.2.2")])
            result["elapsed"] = time.monotonic() - t

        th = threading.Thread(target=forwarded)
        th.start()
        worst = 0.0
        while th.is_alive():
            t = time.monotonic()
            with proxyproto.Conn(self.p.proxymap_socket) as c:
                r = c.request([("request", "lookup"), ("table", NATIVE), ("flags", 0x4040),
                               ("key", "native")])
            self.assertEqual(r, [(b"status", b"0"), (b"value", b"local")])
            worst = max(worst, time.monotonic() - t)
            time.sleep(0.02)
        th.join()
        self.assertEqual(result["reply"], [(b"status", b"2"), (b"value", b"")], result)
        self.assertGreaterEqual(result["elapsed"], LOOKUP_TIMEOUT - 0.05)
        self.assertLess(result["elapsed"], LOOKUP_TIMEOUT + 0.75, result)
        self.assertLess(worst, 0.25, f"native lookup took {worst:.3f} s")
        print(f"slow stock service: RETRY after {result['elapsed']:.3f} s "
              f"(lookup_timeout {LOOKUP_TIMEOUT}); native worst {worst * 1000:.1f} ms")
        # Fast again: the next forwarded lookup answers at once.
        with self.stock.lock:
            self.stock.delay = 0.0
        t = time.monotonic()
        with proxyproto.Conn(self.p.proxymap_socket) as c:
            r = c.request([("request", "lookup"), ("table", CIDR), ("flags", 0x4040),
                           ("key", "10.3.3.3")])
        took = time.monotonic() - t
        self.assertEqual(r, [(b"status", b"0"), (b"value", b"stock:10.3.3.3")])
        self.assertLess(took, 1.0)
        print(f"stock service fast again: answered after {took * 1000:.1f} ms")
        # The forwarding pool in every stats rendering, as any other pool.
        stats = json.loads(self.stats("--json"))[0]["forward_pools"]["read"]
        self.assertEqual((stats["path"], stats["expired"]), (str(self.stock.path), 1), stats)
        self.assertGreaterEqual(stats["answered"], 1, stats)
        self.assertEqual(stats["tables"], [CIDR], stats)
        prom = self.stats("--prometheus")
        self.assertIn('proxyd_forward_retries_total{service="standalone",pool="read",'
                      'reason="timeout"} 1\n', prom)
        self.assertIn(f"forwarded {CIDR} role=read to={self.stock.path}\n", self.stats())

    def stats(self, *how: str) -> str:
        r = subprocess.run([harness.proxyd_exe(), "-c", str(self.s.config_dir), "stats", *how],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout


if __name__ == "__main__":
    unittest.main(verbosity=2)
