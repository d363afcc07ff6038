"""The Prometheus endpoint (metrics_listen), `proxyd stats --json` and
`--prometheus`, and the Grafana dashboard and alert rules in packaging/.

Checked with Debian's prometheus package: `promtool check metrics` on what
the endpoint serves, `promtool check rules` on the example rules, and a real
Prometheus server (loopback, free port, temporary storage) that scrapes
proxyd under load and answers a rate() query per table. Tables are texthash
and sqlite (a pool without a database server).
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import unittest
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
import proxyproto  # noqa: E402
from test_daemon import FakeMasterChild  # noqa: E402

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PACKAGING = Path(__file__).resolve().parents[2] / "packaging"
DASHBOARD = PACKAGING / "grafana-dashboard.json"
RULES = PACKAGING / "prometheus-rules.yml"
OK, NOKEY = 0, 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lookup(path: Path, table: str, key: str) -> int:
    c = proxyproto.Conn(path)
    try:
        reply = dict(c.request([("request", "lookup"), ("table", f"proxy:{table}"),
                                ("flags", 0x40), ("key", key)]))
        return int(reply[b"status"])
    finally:
        c.sock.close()


class Instance:
    """A scratch layout with a texthash and an sqlite table, and its proxyd."""

    def __init__(self, proxyd_cf: str):
        self.scratch = harness.Scratch(prefix="pxm")
        s = self.scratch
        aliases = s.write("aliases", "alice a@x\nbob b@x\n")
        self.hash_table = f"texthash:{aliases}"
        db = s.path("users.sqlite")
        with sqlite3.connect(db) as conn:
            conn.execute("CREATE TABLE users (email TEXT PRIMARY KEY, maildir TEXT)")
            conn.executemany("INSERT INTO users VALUES (?, ?)",
                             [(f"user{i}@example.com", f"m{i}/") for i in range(50)])
        db.chmod(0o644)
        cf = s.write("users.cf", f"dbpath = {db}\n"
                                 "query = SELECT maildir FROM users WHERE email='%s'\n")
        self.sql_table = f"sqlite:{cf}"
        s.write_main_cf(f"proxy_read_maps = proxy:{self.hash_table} proxy:{self.sql_table}\n")
        s.write("etc/proxyd.cf", proxyd_cf)
        self.proxyd = harness.Proxyd(s)

    def __enter__(self) -> "Instance":
        try:
            self.proxyd.start()
        except Exception:
            self.proxyd.stop()
            self.scratch.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        rc = self.proxyd.stop()
        self.scratch.__exit__(*exc)
        if exc[0] is None and rc != 0:
            raise AssertionError(f"proxyd exited with {rc}:\n{self.proxyd.log()}")

    def traffic(self, n: int = 10) -> None:
        sock = self.proxyd.proxymap_socket
        for i in range(n):
            lookup(sock, self.hash_table, "alice" if i % 2 else "nobody")
            lookup(sock, self.sql_table, f"user{i % 60}@example.com")

    def cli(self, *args: str) -> str:
        r = subprocess.run([harness.proxyd_exe(), "-c", str(self.scratch.config_dir), *args],
                           capture_output=True, text=True, timeout=20)
        if r.returncode != 0:
            raise AssertionError(f"proxyd {args} failed ({r.returncode}): {r.stdout}{r.stderr}")
        return r.stdout


def http_get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, "", ""


def parse_samples(text: str) -> dict[str, float]:
    """Prometheus text -> {'name{labels}': value} (comments dropped)."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, value = line.rsplit(" ", 1)
        out[key] = float(value)
    return out


def metric_names(text: str) -> set[str]:
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            names.add(line.split()[2])
        elif line and not line.startswith("#"):
            names.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0))
    return names


class MetricsEndpoint(unittest.TestCase):
    def setUp(self):
        self.port = free_port()

    def test_endpoint_passes_promtool_and_serves_only_metrics(self):
        with Instance(f"metrics_listen = 127.0.0.1:{self.port}\n") as inst:
            inst.traffic()
            status, ctype, body = http_get(f"http://127.0.0.1:{self.port}/metrics")
            self.assertEqual(status, 200)
            self.assertIn(f"serving metrics on 127.0.0.1:{self.port}", inst.proxyd.log())
            self.assertTrue(ctype.startswith("text/plain; version=0.0.4"), ctype)
            r = subprocess.run([PROMTOOL, "check", "metrics"], input=body,
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, f"promtool:\n{r.stdout}{r.stderr}\n{body}")
            print(f"promtool check metrics: ok, {len(body)} bytes, "
                  f"{len(parse_samples(body))} samples")
            for needed in ("proxyd_build_info", "proxyd_table_lookups_total",
                           "proxyd_table_lookup_duration_seconds_bucket",
                           "proxyd_pool_sessions_busy", "proxyd_pool_sessions_max",
                           "proxyd_pool_queue_depth", "proxyd_pool_queue_peak",
                           "proxyd_table_cache_hits_total", "proxyd_client_connections",
                           "proxyd_client_memory_bytes", "proxyd_config_generation",
                           "proxyd_reloads_total",
                           "proxyd_config_last_reload_success_timestamp_seconds"):
                self.assertIn(needed, metric_names(body))
            self.assertIn('service="standalone"', body)
            hist = [k for k in parse_samples(body)
                    if k.startswith("proxyd_table_lookup_duration_seconds_count")]
            self.assertEqual(len(hist), 2, hist)  # one histogram per table
            self.assertEqual(http_get(f"http://127.0.0.1:{self.port}/")[0], 404)
            req = urllib.request.Request(f"http://127.0.0.1:{self.port}/metrics",
                                         method="DELETE")
            try:
                code = urllib.request.urlopen(req, timeout=10).status
            except urllib.error.HTTPError as e:
                code = e.code
            self.assertEqual(code, 405)

    def test_counters_agree_in_metrics_stats_and_json(self):
        with Instance(f"metrics_listen = [::1]:{self.port}\n") as inst:
            inst.traffic(20)
            text = inst.cli("stats")
            js = json.loads(inst.cli("stats", "--json"))
            prom_cli = inst.cli("stats", "--prometheus")
            _, _, prom = http_get(f"http://[::1]:{self.port}/metrics")
            self.assertEqual(len(js), 1)
            daemon = js[0]
            lines = {(w[0], w[1] if w[0] in ("table", "pool") else ""): dict(
                x.split("=", 1) for x in w[1:] if "=" in x)
                for w in (l.split() for l in text.splitlines())}
            samples = parse_samples(prom)
            checked = 0
            for table, fields in daemon["tables"].items():
                t = lines[("table", table)]
                for k in ("requests", "ok", "notfound", "retry", "failed", "cache_hits",
                          "coalesced", "timeouts", "queries"):
                    self.assertEqual(int(t[k]), fields[k], (table, k))
                    checked += 1
                lab = f'service="standalone",table="{table}"'
                self.assertEqual(samples[f"proxyd_table_requests_total{{{lab}}}"],
                                 fields["requests"])
                for result in ("ok", "notfound", "retry", "failed"):
                    self.assertEqual(
                        samples[f'proxyd_table_lookups_total{{{lab},result="{result}"}}'],
                        fields[result])
                self.assertEqual(samples[f"proxyd_table_lookup_duration_seconds_count{{{lab}}}"],
                                 fields["requests"])
                self.assertGreater(fields["requests"], 0)
            self.assertEqual(len(daemon["pools"]), 1)
            for label, fields in daemon["pools"].items():
                pool_line = next(v for (kind, _), v in lines.items() if kind == "pool")
                for k in ("jobs", "connects", "sessions_open", "max_sessions", "queue_peak"):
                    self.assertEqual(int(pool_line[k]), fields[k], k)
                lab = f'service="standalone",pool="{label}"'
                self.assertEqual(samples[f"proxyd_pool_jobs_total{{{lab}}}"], fields["jobs"])
                self.assertEqual(samples[f"proxyd_pool_sessions_max{{{lab}}}"],
                                 fields["max_sessions"])
                self.assertGreater(fields["jobs"], 0)
            self.assertEqual(samples['proxyd_client_memory_pauses_total{service="standalone"}'],
                             daemon["server"]["memory_pauses"])
            self.assertEqual(samples['proxyd_config_generation{service="standalone"}'],
                             daemon["generation"])
            # The endpoint and --prometheus are the same text (uptime aside).
            strip = lambda t: re.sub(r"(?m)^proxyd_uptime_seconds.*\n", "", t)  # noqa: E731
            self.assertEqual(strip(prom), strip(prom_cli))
            print(f"counters equal in stats, --json and /metrics: {checked} table fields, "
                  f"{len(samples)} samples")

    def test_unix_socket_serves_metrics(self):
        inst = Instance("")
        sock_path = inst.scratch.path("m.sock")
        inst.scratch.write("etc/proxyd.cf", f"metrics_listen = unix:{sock_path}\n")
        with inst:
            inst.traffic(2)
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(10)
                s.connect(str(sock_path))
                s.sendall(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
            self.assertTrue(data.startswith(b"HTTP/1.0 200") or data.startswith(b"HTTP/1.1 200"),
                            data[:200])
            self.assertIn(b"proxyd_build_info{", data)
        self.assertFalse(sock_path.exists(), "socket file left behind")

    def test_remote_address_needs_allow_remote(self):
        inst = Instance(f"metrics_listen = 0.0.0.0:{self.port}\n")
        with self.assertRaises(RuntimeError) as ctx:
            with inst:
                pass
        self.assertIn("metrics_allow_remote", str(ctx.exception))
        inst.scratch.__exit__(None, None, None)
        for bad in ("localhost:9", "127.0.0.1:0", "127.0.0.1", "unix:relative"):
            inst = Instance(f"metrics_listen = {bad}\n")
            with self.assertRaises(RuntimeError, msg=bad) as ctx:
                with inst:
                    pass
            self.assertIn("metrics_listen", str(ctx.exception))
            inst.scratch.__exit__(None, None, None)
        # `proxyd check` reports it too, with the way out.
        with harness.Scratch(prefix="pxm") as sc:
            sc.write("etc/proxyd.cf", "metrics_listen = 192.0.2.1:9471\n")
            r = subprocess.run([harness.proxyd_exe(), "-c", str(sc.config_dir), "check"],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn("set metrics_allow_remote = yes", r.stdout)
        with Instance(f"metrics_listen = 0.0.0.0:{self.port}\nmetrics_allow_remote = yes\n"):
            self.assertEqual(http_get(f"http://127.0.0.1:{self.port}/metrics")[0], 200)

    def test_off_by_default(self):
        with Instance("") as inst:
            self.assertNotIn("metrics", inst.proxyd.log())
            # stats --prometheus works without the endpoint.
            self.assertIn("proxyd_build_info", inst.cli("stats", "--prometheus"))


class UnderMaster(unittest.TestCase):
    def test_each_service_has_its_endpoint_and_label(self):
        """master(8) runs one process per service: each binds its own
        SERVICE=ADDRESS (or the plain one), labels its samples with its
        service, and hands the address to the next generation when master
        lets it go (postfix reload)."""
        p_map, p_write = free_port(), free_port()
        with harness.Scratch(prefix="pxm") as s:
            s.write_main_cf("proxy_read_maps = proxy:static:r\nproxy_write_maps = proxy:static:w\n")
            s.write("etc/proxyd.cf",
                    f"metrics_listen = 127.0.0.1:{p_map}, proxywrite=127.0.0.1:{p_write}\n")
            if os.geteuid() == 0:
                os.chown(s.queue_dir / "private", pwd.getpwnam("postfix").pw_uid, -1)
            first = FakeMasterChild(s, "proxymap", 3)
            write = FakeMasterChild(s, "proxywrite", 3)
            second = None
            try:
                first.lookup("static:r", "k")
                write.lookup("static:w", "k")
                _, _, m = http_get(f"http://127.0.0.1:{p_map}/metrics")
                _, _, w = http_get(f"http://127.0.0.1:{p_write}/metrics")
                self.assertIn('proxyd_table_requests_total{service="proxymap",table="static:r"} 1',
                              m)
                self.assertIn('proxyd_table_requests_total{service="proxywrite",table="static:w"} 1',
                              w)
                cli = [harness.proxyd_exe(), "-c", str(s.config_dir), "stats"]
                merged = subprocess.run(cli + ["--prometheus"], capture_output=True, text=True,
                                        timeout=30).stdout
                r = subprocess.run([PROMTOOL, "check", "metrics"], input=merged,
                                   capture_output=True, text=True, timeout=30)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertIn('service="proxymap"', merged)
                self.assertIn('service="proxywrite"', merged)
                js = json.loads(subprocess.run(cli + ["--json"], capture_output=True, text=True,
                                               timeout=30).stdout)
                self.assertEqual([d["service"] for d in js], ["proxymap", "proxywrite"])
                # postfix reload: master lets the old proxymap go; the next
                # generation binds the same address.
                first.master_end.close()
                second = FakeMasterChild(s, "proxymap", 4)
                second.lookup("static:r", "k2")
                _, _, m = http_get(f"http://127.0.0.1:{p_map}/metrics")
                self.assertIn('proxyd_table_requests_total{service="proxymap",table="static:r"} 1',
                              m)  # the new process's own count
                self.assertNotIn("no metrics endpoint", s.path("proxymap-4.log").read_text())
                self.assertEqual(first.proc.wait(timeout=15), 0)
                self.assertEqual(second.stop(), 0)
                self.assertEqual(write.stop(), 0)
            finally:
                for child in (first, write, second):
                    if child:
                        child.kill()


class PrometheusServer(unittest.TestCase):
    """A real Prometheus scrapes proxyd under load."""

    def test_rate_of_lookups_per_table(self):
        mport, pport = free_port(), free_port()
        with Instance(f"metrics_listen = 127.0.0.1:{mport}\n") as inst:
            root = inst.scratch.path("prom")
            root.mkdir()
            (root / "prometheus.yml").write_text(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                "scrape_configs:\n  - job_name: proxyd\n"
                f"    static_configs:\n      - targets: ['127.0.0.1:{mport}']\n")
            log = open(root / "prometheus.log", "wb")
            prom = subprocess.Popen(
                [PROMETHEUS, f"--config.file={root / 'prometheus.yml'}",
                 f"--storage.tsdb.path={root / 'data'}",
                 f"--web.listen-address=127.0.0.1:{pport}"],
                stdout=log, stderr=log, stdin=subprocess.DEVNULL)
            stop = threading.Event()

            def load():
                while not stop.is_set():
                    inst.traffic(5)

            workers = [threading.Thread(target=load) for _ in range(4)]
            for w in workers:
                w.start()
            try:
                query = "sum by (table) (rate(proxyd_table_lookups_total[10s]))"
                url = (f"http://127.0.0.1:{pport}/api/v1/query?"
                       + urllib.parse.urlencode({"query": query}))
                rates: dict[str, float] = {}
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    time.sleep(1)
                    try:
                        with urllib.request.urlopen(url, timeout=5) as r:
                            answer = json.load(r)
                    except OSError:
                        continue
                    rates = {res["metric"].get("table", ""): float(res["value"][1])
                             for res in answer.get("data", {}).get("result", [])}
                    if len(rates) == 2 and all(v > 0 for v in rates.values()):
                        break
                print(f"PromQL {query}: {rates}")
                self.assertEqual(set(rates), {inst.hash_table, inst.sql_table})
                for table, rate in rates.items():
                    self.assertGreater(rate, 0, table)
            finally:
                stop.set()
                for w in workers:
                    w.join()
                prom.terminate()
                try:
                    prom.wait(20)
                except subprocess.TimeoutExpired:
                    prom.kill()
                    prom.wait()
                log.close()


class Packaging(unittest.TestCase):
    def scrape(self) -> str:
        port = free_port()
        with Instance(f"metrics_listen = 127.0.0.1:{port}\n") as inst:
            inst.traffic(4)
            return http_get(f"http://127.0.0.1:{port}/metrics")[2]

    def test_rules_pass_promtool_and_use_exported_metrics(self):
        r = subprocess.run([PROMTOOL, "check", "rules", str(RULES)], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        print(r.stdout.strip())
        names = metric_names(self.scrape())
        used = set(re.findall(r"\bproxyd_[a-z_]+", RULES.read_text()))
        self.assertTrue(used)
        self.assertEqual(used - names, set())

    def test_man_page_lists_every_metric(self):
        man = (Path(__file__).resolve().parents[2] / "man" / "proxyd.8").read_text()
        families = [l.split()[2] for l in self.scrape().splitlines() if l.startswith("# TYPE ")]
        self.assertGreater(len(families), 30)
        missing = [f for f in families if f"\\fB{f}\\fR" not in man]
        self.assertEqual(missing, [], "metrics missing in man/proxyd.8 METRICS")

    def test_dashboard_loads_and_uses_exported_metrics(self):
        board = json.loads(DASHBOARD.read_text())
        self.assertEqual([i["name"] for i in board["__inputs"]], ["DS_PROMETHEUS"])
        self.assertEqual(board["__inputs"][0]["pluginId"], "prometheus")
        self.assertIn("schemaVersion", board)
        self.assertIsNone(board.get("id"))
        exprs = []
        for panel in board["panels"]:
            self.assertEqual(panel["datasource"]["uid"], "${DS_PROMETHEUS}", panel["title"])
            for target in panel.get("targets", []):
                exprs.append(target["expr"])
        self.assertGreaterEqual(len(exprs), 6)
        used = set()
        for e in exprs:
            used |= set(re.findall(r"\bproxyd_[a-z_]+", e))
        names = metric_names(self.scrape())
        self.assertEqual(used - names, set(), "dashboard uses metrics proxyd does not export")
        titles = " ".join(p["title"].lower() for p in board["panels"])
        for word in ("lookups", "latency", "sessions", "queue", "cache", "errors"):
            self.assertIn(word, titles)
        print(f"dashboard: {len(board['panels'])} panels, {len(used)} metric names, all exported")


if __name__ == "__main__":
    unittest.main(verbosity=2)
