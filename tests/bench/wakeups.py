#!/usr/bin/env python3
"""Where the time goes at few clients: proxymap vs proxyd, per lookup.

For issue #16 (one client as fast as proxymap). Starts a private MariaDB
and/or PostgreSQL with bench.py's workload, real Postfix proxymap and
proxyd, and runs proxyd-loadgen at each client count against each, while
`perf stat -e task-clock,context-switches,cpu-migrations` (software
counters: they work in VMs without hardware counters) watches the server,
the database and the load generator. Prints per lookup: CPU microseconds
and context switches of each side. Counts per lookup stay meaningful on a
busy machine; lookups/s and latencies do not.

Usage (root): tests/bench/wakeups.py [--build build] [--db mysql,pgsql]
              [--clients 1,16] [--duration 4] [--reps 2] [--proxyd-cf TEXT]...

Each --proxyd-cf starts one more proxyd with that proxyd.cf text (pxd0,
pxd1, ...), measured interleaved with proxymap in the same run; at the
end the medians per system and client count are printed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench as B  # noqa: E402

WARMUP = 1.0


def perf(pids: list[int], secs: float) -> dict[str, float]:
    """Software counters of pids over secs: event name -> value."""
    if not pids:
        return {}
    r = subprocess.run(["perf", "stat", "-x,", "-e",
                        "task-clock,context-switches,cpu-migrations",
                        "-p", ",".join(map(str, pids)), "--", "sleep", str(secs)],
                       capture_output=True, text=True)
    out = {}
    for line in r.stderr.splitlines():
        f = line.split(",")
        if len(f) > 3 and f[0].replace(".", "").isdigit():
            out[f[2]] = float(f[0])
    return out


RESULTS: dict[tuple[str, int], list[dict[str, float]]] = {}


def run(name: str, server, keys: Path, clients: int, db, args) -> None:
    cmd = [str(Path(args.build) / "tests/bench/proxyd-loadgen"), "--socket",
           str(server.socket), "--keys", str(keys), "--clients", str(clients),
           "--duration", str(args.duration), "--warmup", str(WARMUP), "--seed", str(clients)]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    time.sleep(WARMUP + 0.2)
    span = args.duration - 0.5
    res: dict[str, dict[str, float]] = {}

    def watch(key: str, pids: list[int]) -> None:
        res[key] = perf(pids, span)

    threads = [threading.Thread(target=watch, args=("srv", server.pids())),
               threading.Thread(target=watch, args=("db", B.db_pids(db))),
               threading.Thread(target=watch, args=("lg", [p.pid]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out = json.loads(p.communicate()[0].strip().splitlines()[-1])
    n = max(out["lookups_per_s"] * span, 1)

    def us(k: str) -> float:
        return 1000 * res[k].get("task-clock", 0) / n

    def cs(k: str) -> float:
        return res[k].get("context-switches", 0) / n

    print(f"{name:9s} c={clients:4d} {out['lookups_per_s']:7.0f}/s p50 {out['p50_us']:5d}us "
          f"p99 {out['p99_us']:6d}us | server {us('srv'):6.1f} us/lookup "
          f"{cs('srv'):5.2f} cs/lookup | db {us('db'):6.1f} us {cs('db'):5.2f} cs "
          f"| loadgen {us('lg'):5.1f} us | load {os.getloadavg()[0]:.1f}", flush=True)
    RESULTS.setdefault((name, clients), []).append(
        {"lps": out["lookups_per_s"], "p50": out["p50_us"], "p99": out["p99_us"],
         "srv_us": us("srv"), "srv_cs": cs("srv"), "db_cs": cs("db"),
         "load": os.getloadavg()[0]})


def summary() -> None:
    """Medians per (system, clients), and each proxyd's ratio to proxymap."""
    print("\nmedians:", flush=True)
    for (name, clients), rs in RESULTS.items():
        med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
        pm = RESULTS.get((name.split("/")[0] + "/pm", clients))
        ratio = ""
        if pm and not name.endswith("/pm"):
            pm_lps = statistics.median(r["lps"] for r in pm)
            pm_p50 = statistics.median(r["p50"] for r in pm)
            ratio = f" | {med['lps'] / pm_lps:.2f}x proxymap, p50 {med['p50'] / pm_p50:.2f}x"
        print(f"{name:9s} c={clients:4d} n={len(rs)} {med['lps']:7.0f}/s p50 {med['p50']:5.0f}us "
              f"p99 {med['p99']:6.0f}us | server {med['srv_us']:6.1f} us "
              f"{med['srv_cs']:5.2f} cs/lookup | db {med['db_cs']:5.2f} cs{ratio} "
              f"| load {med['load']:.1f}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=str(B.REPO / "build"))
    ap.add_argument("--db", default="mysql,pgsql")
    ap.add_argument("--clients", default="1,16")
    ap.add_argument("--duration", type=float, default=4)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--proxyd-cf", action="append",
                    help="proxyd.cf text of one proxyd (repeatable; default: max_sessions = 4)")
    args = ap.parse_args()
    B.dbservers.terminate_on_signals()
    build = Path(args.build).resolve()
    for kind in args.db.split(","):
        root = Path(tempfile.mkdtemp(prefix="pxw", dir="/tmp"))
        root.chmod(0o755)
        with contextlib.ExitStack() as st:
            st.callback(shutil.rmtree, root, True)
            server = B.BenchMariaDB if kind == "mysql" else B.BenchPostgreSQL
            db = st.enter_context(server())
            B.load_data(db, kind)
            hosts = B.db_hosts(db, kind)
            cf = {n: B.write_cf_files(root / f"cf-{n}", kind, hosts, B.USERS[n])
                  for n in ("proxymap", "proxyd")}
            keys = {"proxymap": root / "keys-proxymap"}
            B.write_key_file(keys["proxymap"], cf["proxymap"])
            keys["proxyd"] = root / "keys-proxyd"
            keys["proxyd"].write_text(keys["proxymap"].read_text().replace(
                str(root / "cf-proxymap"), str(root / "cf-proxyd")))
            pm = B.PostfixProxymap(root / "postfix", list(cf["proxymap"].values())).start()
            st.callback(pm.stop)
            pxds = []
            for i, text in enumerate(args.proxyd_cf or ["max_sessions = 4\n"]):
                print(f"pxd{i}: {text!r}", flush=True)
                pxd = B.Proxyd(build / "proxyd/proxyd", root / f"proxyd{i}",
                               list(cf["proxyd"].values()), text.replace("\\n", "\n"),
                               name=f"proxyd{i}").start()
                st.callback(pxd.stop)
                pxds.append(pxd)
            for c in (int(x) for x in args.clients.split(",")):
                for _ in range(args.reps):
                    run(f"{kind}/pm", pm, keys["proxymap"], c, db, args)
                    for i, pxd in enumerate(pxds):
                        run(f"{kind}/pxd{i}", pxd, keys["proxyd"], c, db, args)
    summary()
    return 0


if __name__ == "__main__":
    sys.exit(main())
