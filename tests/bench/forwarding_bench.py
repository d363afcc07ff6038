"""Forwarded rows of the benchmark (issue 12 item 4), called by bench.py.

One cidr: table that proxyd does not serve itself, looked up by the same
proxyd-loadgen clients two ways: straight to Postfix's own proxymap (a
scratch master with proxymap only), and through proxyd in front of it
(standalone, forward_read_socket naming that proxymap's socket). At 1 and
128 clients, interleaved, median round by lookups/s. Targets: forwarded
lookups/s at 128 clients >= 80% of direct, and a forwarded lookup adds
<= 0.2 ms to p50 at 1 client. At 128 clients a third way too: through
proxyd-relay-floor, a relay that only copies bytes between each client and
its own upstream connection, the most any relay keeping one request per
stock connection can reach here (printed as a fraction of direct). Needs no
database.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

CIDR_NETS = 256           # 10.N.M.0/24 entries of the table
KEYS = 10_000             # half inside one of them, half outside all
CLIENTS = (1, 128)
TARGET_RATIO = 0.8        # forwarded / direct lookups/s at 128 clients
TARGET_P50_ADD_MS = 0.2   # forwarded p50 minus direct p50 at 1 client
DIRECT = "proxymap direct"
FORWARDED = "proxyd forwarded"
# proxyd-relay-floor: one upstream connection per client, bytes copied as
# they come. The most any relay that keeps proxymap's one request per
# connection can reach here: the yardstick for TARGET_RATIO.
RELAY = "relay floor (1:1 copy)"


def write_table_and_keys(root: Path) -> tuple[str, Path]:
    """A cidr table and TABLE<TAB>KEY lines for it (fixed seed)."""
    cidr = root / "bench.cidr"
    cidr.write_text("".join(f"10.{i // 16}.{i % 16}.0/24 net-{i}\n" for i in range(CIDR_NETS)))
    cidr.chmod(0o644)
    table = f"cidr:{cidr}"
    rnd = random.Random(12)
    keys = []
    for _ in range(KEYS // 2):
        i = rnd.randrange(CIDR_NETS)
        keys.append(f"{table}\t10.{i // 16}.{i % 16}.{rnd.randrange(256)}")
        keys.append(f"{table}\t11.{rnd.randrange(256)}.{rnd.randrange(256)}.1")
    rnd.shuffle(keys)
    path = root / "keys-forwarding.txt"
    path.write_text("\n".join(keys) + "\n")
    return table, path


def loadgen(args, build: Path, socket: Path, keys: Path, clients: int, mode: str) -> dict:
    cmd = [str(build / "tests" / "bench" / "proxyd-loadgen"), "--socket", str(socket),
           "--keys", str(keys), "--clients", str(clients), "--duration", str(args.duration),
           "--warmup", str(args.warmup), "--seed", str(clients)]
    r = subprocess.run(cmd, capture_output=True, text=True,
                       timeout=args.duration + args.warmup + 300)
    if r.returncode not in (0, 1) or not r.stdout.strip():
        raise RuntimeError(f"{mode}: proxyd-loadgen failed ({r.returncode}):\n{r.stderr}")
    res = json.loads(r.stdout.strip().splitlines()[-1])
    res.update(mode=mode, db="forwarding")
    print(f"| {mode} | {clients} | {res['lookups_per_s']:.0f} | {res['p50_us'] / 1000:.3f} "
          f"| {res['p99_us'] / 1000:.3f} | {res['errors_total']} |", flush=True)
    return res


def median(rows: list[dict], mode: str, clients: int) -> dict:
    group = sorted((r for r in rows if r["mode"] == mode and r["clients"] == clients),
                   key=lambda r: r["lookups_per_s"])
    return group[(len(group) - 1) // 2]


def verdicts(rows: list[dict], forward_connections: int) -> list[str]:
    """The two target lines, with the figures and ratios."""
    d128, f128 = median(rows, DIRECT, 128), median(rows, FORWARDED, 128)
    d1, f1 = median(rows, DIRECT, 1), median(rows, FORWARDED, 1)
    ratio = f128["lookups_per_s"] / max(d128["lookups_per_s"], 1e-9)
    add_ms = (f1["p50_us"] - d1["p50_us"]) / 1000
    ok1 = ratio >= TARGET_RATIO
    ok2 = add_ms <= TARGET_P50_ADD_MS
    floor = []
    if any(r["mode"] == RELAY for r in rows):
        r128 = median(rows, RELAY, 128)
        floor = [f"- relay floor at 128 clients: {r128['lookups_per_s']:.0f} / "
                 f"{d128['lookups_per_s']:.0f} = "
                 f"{r128['lookups_per_s'] / max(d128['lookups_per_s'], 1e-9):.2f} of direct "
                 "(the most a relay keeping one request per stock connection reaches on "
                 f"this machine); proxyd forwarded = "
                 f"{f128['lookups_per_s'] / max(r128['lookups_per_s'], 1e-9):.2f} of the "
                 "relay floor"]
    return floor + [
        f"- target forwarded lookups/s at 128 clients >= {TARGET_RATIO:.0%} of direct: "
        f"{'MET' if ok1 else 'MISSED'}: {f128['lookups_per_s']:.0f} / "
        f"{d128['lookups_per_s']:.0f} = {ratio:.2f} (forward_connections = "
        f"{forward_connections})",
        f"- target forwarded p50 at 1 client adds <= {TARGET_P50_ADD_MS} ms: "
        f"{'MET' if ok2 else 'MISSED'}: {f1['p50_us'] / 1000:.3f} - "
        f"{d1['p50_us'] / 1000:.3f} = {add_ms:+.3f} ms",
    ]


def start_relay(build: Path, root: Path, upstream: Path):
    """proxyd-relay-floor in front of upstream: (process, its socket), or
    None when that tool is not built."""
    exe = build / "tests" / "bench" / "proxyd-relay-floor"
    if not exe.exists():
        return None
    sock = root / "relay.sock"
    proc = subprocess.Popen([str(exe), str(sock), str(upstream)], stdin=subprocess.DEVNULL)
    for _ in range(100):
        if sock.exists():
            return proc, sock
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("proxyd-relay-floor did not start")


def run(args, build: Path, all_json: list[dict], postfix_cls, proxyd_cls) -> list[str]:
    """The forwarded section; postfix_cls and proxyd_cls are bench.py's
    PostfixProxymap and Proxyd. Returns its Markdown lines."""
    forward_connections = args.forward_connections
    root = Path(tempfile.mkdtemp(prefix="pxbf", dir="/tmp"))
    root.chmod(0o755)
    rows: list[dict] = []
    with contextlib.ExitStack() as stack:
        if not args.keep:
            stack.callback(shutil.rmtree, root, True)
        table, keys = write_table_and_keys(root)
        pm = postfix_cls(root / "postfix", [table]).start()
        stack.callback(pm.stop)
        pxd = proxyd_cls(build / "proxyd" / "proxyd", root / "proxyd", [table],
                         f"forward_read_socket = {pm.socket}\nforward_write_socket =\n"
                         f"forward_connections = {forward_connections}\n").start()
        stack.callback(pxd.stop)
        relay = start_relay(build, root, pm.socket)
        if relay:
            stack.callback(relay[0].kill)
        head = ("| forwarded cidr: | clients | lookups/s | p50 ms | p99 ms | errors |\n"
                "|---|---|---|---|---|---|")
        print("\n" + head, flush=True)
        for rnd in range(args.rounds):
            for c in CLIENTS:
                rows.append(loadgen(args, build, pm.socket, keys, c, DIRECT))
                rows.append(loadgen(args, build, pxd.socket, keys, c, FORWARDED))
                if relay and c == 128:
                    rows.append(loadgen(args, build, relay[1], keys, c, RELAY))
        pxd.stop()
        pm.stop()
    all_json.extend(rows)
    load = os.getloadavg()
    lines = ["## Forwarded table (cidr:, issue 12)\n",
             f"- {CIDR_NETS}-entry cidr: table, {KEYS} keys (half misses); Postfix's proxymap "
             "(scratch master, default process limit) straight, and proxyd standalone "
             f"forwarding to it with forward_connections = {forward_connections}; "
             f"{args.duration:g} s runs after {args.warmup:g} s warm-up, median of "
             f"{args.rounds} round(s); load average at the end {load[0]:.2f} {load[1]:.2f} "
             f"{load[2]:.2f} on {os.cpu_count()} CPUs (shared machine)\n", head]
    for c in CLIENTS:
        for mode in (DIRECT, FORWARDED, RELAY):
            if not any(r["mode"] == mode and r["clients"] == c for r in rows):
                continue
            r = median(rows, mode, c)
            lines.append(f"| {mode} | {c} | {r['lookups_per_s']:.0f} | "
                         f"{r['p50_us'] / 1000:.3f} | {r['p99_us'] / 1000:.3f} | "
                         f"{r['errors_total']} |")
    lines.append("")
    lines += verdicts(rows, forward_connections)
    lines.append(f"- measured at {time.strftime('%H:%M:%S')}")
    lines.append("")
    return lines
