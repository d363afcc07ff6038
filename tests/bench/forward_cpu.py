#!/usr/bin/env python3
"""CPU and wake-ups per forwarded lookup (issue 12, forwarded throughput).

The forwarded rows of bench.py, measured the load-tolerant way: the same
cidr: table and keys (forwarding_bench.py), Postfix's own proxymap straight
and proxyd forwarding to it, interleaved, while `perf stat -e
task-clock,context-switches` watches proxyd, the stock proxymap processes
and the load generator. Prints per lookup: CPU microseconds and context
switches of each side, and how many stock proxymap processes ran. On a
2-core machine shared by all three, forwarded throughput is decided by the
sum of these, so the figures stay meaningful when lookups/s do not.

Usage (root): tests/bench/forward_cpu.py [--build build-rel] [--clients 128]
              [--duration 4] [--reps 3] [--proxyd-cf TEXT]...

Each --proxyd-cf starts one more proxyd (pxd0, pxd1, ...) with that text
appended to its proxyd.cf (e.g. "forward_connections = 16"), all
forwarding to the same stock proxymap.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench as B  # noqa: E402
import forwarding_bench as F  # noqa: E402
from wakeups import perf  # noqa: E402

WARMUP = 1.0
RESULTS: dict[tuple[str, int], list[dict[str, float]]] = {}


def run(name: str, socket: Path, proxyd_pids: list[int], pm, keys: Path, clients: int,
        args) -> None:
    cmd = [str(Path(args.build) / "tests/bench/proxyd-loadgen"), "--socket", str(socket),
           "--keys", str(keys), "--clients", str(clients), "--duration", str(args.duration),
           "--warmup", str(WARMUP), "--seed", str(clients)]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    time.sleep(WARMUP + 0.2)
    span = args.duration - 0.5
    res: dict[str, dict[str, float]] = {}
    stock = pm.pids()

    def watch(key: str, pids: list[int]) -> None:
        res[key] = perf(pids, span)

    threads = [threading.Thread(target=watch, args=("pxd", proxyd_pids)),
               threading.Thread(target=watch, args=("pm", stock)),
               threading.Thread(target=watch, args=("lg", [p.pid]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out = json.loads(p.communicate()[0].strip().splitlines()[-1])
    n = max(out["lookups_per_s"] * span, 1)

    def us(k: str) -> float:
        return 1000 * res.get(k, {}).get("task-clock", 0) / n

    def cs(k: str) -> float:
        return res.get(k, {}).get("context-switches", 0) / n

    row = {"lps": out["lookups_per_s"], "p50": out["p50_us"], "pxd_us": us("pxd"),
           "pxd_cs": cs("pxd"), "pm_us": us("pm"), "pm_cs": cs("pm"), "lg_us": us("lg"),
           "pm_procs": len(stock), "load": os.getloadavg()[0]}
    print(f"{name:6s} c={clients:4d} {row['lps']:7.0f}/s p50 {row['p50']:6d}us | proxyd "
          f"{row['pxd_us']:5.1f} us {row['pxd_cs']:4.2f} cs | stock x{len(stock)} "
          f"{row['pm_us']:5.1f} us {row['pm_cs']:4.2f} cs | loadgen {row['lg_us']:5.1f} us "
          f"| load {row['load']:.1f}", flush=True)
    RESULTS.setdefault((name, clients), []).append(row)


def summary() -> None:
    print("\nmedians (per lookup):", flush=True)
    for (name, clients), rs in RESULTS.items():
        med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
        direct = RESULTS.get(("direct", clients))
        ratio = ""
        if direct and name != "direct":
            ratio = f" | {med['lps'] / statistics.median(r['lps'] for r in direct):.2f}x direct"
        print(f"{name:6s} c={clients:4d} n={len(rs)} {med['lps']:7.0f}/s | proxyd "
              f"{med['pxd_us']:5.1f} us {med['pxd_cs']:4.2f} cs | stock x{med['pm_procs']:.0f} "
              f"{med['pm_us']:5.1f} us {med['pm_cs']:4.2f} cs | loadgen {med['lg_us']:5.1f} us"
              f"{ratio}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=str(B.REPO / "build-rel"))
    ap.add_argument("--clients", default="128")
    ap.add_argument("--duration", type=float, default=4)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--proxyd-cf", action="append",
                    help="proxyd.cf lines of one more proxyd (repeatable; default: none)")
    ap.add_argument("--base-exe", action="append", default=[],
                    help="another proxyd binary (e.g. a copy of the one before a change), "
                         "run as base0, base1, ... with an empty proxyd.cf text")
    args = ap.parse_args()
    B.dbservers.terminate_on_signals()
    build = Path(args.build).resolve()
    root = Path(tempfile.mkdtemp(prefix="pxfc", dir="/tmp"))
    root.chmod(0o755)
    with contextlib.ExitStack() as st:
        st.callback(shutil.rmtree, root, True)
        table, keys = F.write_table_and_keys(root)
        pm = B.PostfixProxymap(root / "postfix", [table]).start()
        st.callback(pm.stop)
        pxds = []
        for i, text in enumerate(args.proxyd_cf or [""]):
            cf = f"forward_read_socket = {pm.socket}\nforward_write_socket =\n"
            cf += text.replace("\\n", "\n") + "\n"
            print(f"pxd{i}: {text!r}", flush=True)
            pxd = B.Proxyd(build / "proxyd/proxyd", root / f"proxyd{i}", [table], cf).start()
            st.callback(pxd.stop)
            pxds.append(pxd)
        for i, exe in enumerate(args.base_exe):
            cf = f"forward_read_socket = {pm.socket}\nforward_write_socket =\n"
            pxd = B.Proxyd(Path(exe).resolve(), root / f"base{i}", [table], cf).start()
            st.callback(pxd.stop)
            pxds.append(pxd)
        names = [f"pxd{i}" for i in range(len(pxds) - len(args.base_exe))]
        names += [f"base{i}" for i in range(len(args.base_exe))]
        for c in (int(x) for x in args.clients.split(",")):
            for _ in range(args.reps):
                run("direct", pm.socket, [], pm, keys, c, args)
                for name, pxd in zip(names, pxds):
                    run(name, pxd.socket, pxd.pids(), pm, keys, c, args)
    summary()
    return 0


if __name__ == "__main__":
    sys.exit(main())
