#!/usr/bin/env python3
"""Does scraping /metrics slow lookups? (issue #17)

Starts proxyd (a texthash and an sqlite table, metrics_listen on a free
loopback port) and drives it with proxyd-loadgen at --clients closed-loop
clients, alternating rounds without scraping and with a scraper that GETs
/metrics every --interval seconds. Prints lookups/s per round, the median
per mode, the run-to-run noise (the spread of the unscraped rounds) and the
difference the scraping makes. Not part of `meson test`:

  python3 tests/bench/scrape_noise.py --proxyd build/proxyd/proxyd \\
      --loadgen build/tests/bench/proxyd-loadgen [--rounds 5 --duration 5]
"""

from __future__ import annotations

import argparse
import json
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import harness  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--proxyd", required=True)
    ap.add_argument("--loadgen", required=True)
    ap.add_argument("--clients", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=5, help="rounds per mode")
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--interval", type=float, default=0.1)
    a = ap.parse_args()
    port = free_port()
    with harness.Scratch(prefix="pxn") as s:
        rows = [(f"user{i}@example.com", f"m{i}/") for i in range(2000)]
        aliases = s.write("aliases", "".join(f"{k} {v}\n" for k, v in rows[:1000]))
        db = s.path("users.sqlite")
        with sqlite3.connect(db) as conn:
            conn.execute("CREATE TABLE users (email TEXT PRIMARY KEY, maildir TEXT)")
            conn.executemany("INSERT INTO users VALUES (?, ?)", rows)
        db.chmod(0o644)
        cf = s.write("users.cf", f"dbpath = {db}\n"
                                 "query = SELECT maildir FROM users WHERE email='%s'\n")
        tables = [f"texthash:{aliases}", f"sqlite:{cf}"]
        s.write_main_cf("proxy_read_maps = " + " ".join(f"proxy:{t}" for t in tables) + "\n")
        s.write("etc/proxyd.cf", f"metrics_listen = 127.0.0.1:{port}\n")
        keys = s.write("keys", "".join(f"{t}\t{k}\n" for k, _ in rows for t in tables))
        p = harness.Proxyd(s, exe=a.proxyd).start()
        results: dict[str, list[float]] = {"off": [], "on": []}
        scrapes = 0
        try:
            for r in range(2 * a.rounds):
                mode = "off" if r % 2 == 0 else "on"
                stop = threading.Event()

                def scrape():
                    nonlocal scrapes
                    url = f"http://127.0.0.1:{port}/metrics"
                    while not stop.wait(a.interval):
                        with urllib.request.urlopen(url, timeout=5) as resp:
                            resp.read()
                        scrapes += 1

                t = threading.Thread(target=scrape)
                if mode == "on":
                    t.start()
                out = subprocess.run(
                    [a.loadgen, "--socket", str(p.proxymap_socket), "--keys", str(keys),
                     "--clients", str(a.clients), "--duration", str(a.duration),
                     "--warmup", "1"], capture_output=True, text=True, check=True).stdout
                stop.set()
                if mode == "on":
                    t.join()
                res = json.loads(out.strip().splitlines()[-1])
                if res["errors_total"]:
                    raise SystemExit(f"loadgen errors: {res['errors']}")
                results[mode].append(res["lookups_per_s"])
                print(f"round {r + 1} scrape={mode}: {res['lookups_per_s']:.0f} lookups/s "
                      f"p99 {res['p99_us']} us", flush=True)
        finally:
            p.stop()
    off, on = results["off"], results["on"]
    m_off, m_on = statistics.median(off), statistics.median(on)
    noise = (max(off) - min(off)) / m_off
    diff = (m_on - m_off) / m_off
    print(f"figure: {a.clients} clients, {a.rounds}x{a.duration:.0f}s per mode, "
          f"{scrapes} scrapes at {a.interval * 1000:.0f} ms")
    print(f"figure: median lookups/s without scraping {m_off:.0f}, with {m_on:.0f} "
          f"({diff * 100:+.1f}%); run-to-run noise (spread without scraping) "
          f"{noise * 100:.1f}%")
    print("PASS" if abs(diff) < noise else "FAIL: scraping changes lookups/s by more than "
          "the noise")
    return 0 if abs(diff) < noise else 1


if __name__ == "__main__":
    sys.exit(main())
