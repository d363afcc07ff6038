"""Deployment safety: socket directory, environment, secrets, TLS files in a jail.

- `private/` that proxyd creates is owned by mail_owner, mode 0700 (Postfix's
  postfix-files), so real `postmap` running as mail_owner reaches proxymap;
  a socket directory others can write to is refused with the fix named.
- The environment of whoever starts proxyd (HOME=/root, PGSSLMODE=disable,
  PGAPPNAME, MYSQL_*) does not reach proxyd: on a private PostgreSQL with
  ssl on and a self-signed certificate, proxyd's session is encrypted under
  the default sslmode (prefer) and carries no PGAPPNAME.
- A distinctive password (in a URI, a `password =` value and a conninfo
  dbname) never appears in the daemon log, `proxyd stats` or `proxyd check`.
- pgsql TLS files (sslrootcert, sslcert, ...) that a chrooted proxyd cannot
  see are named at start-up and by `proxyd check`, with the fix for the
  mode (proxyd.cf `chroot` standalone, the master.cf column under master).
Needs root (privilege drop, chroot, a PostgreSQL run as user postgres).
"""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
import sys
import unittest
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dbservers  # noqa: E402
import harness  # noqa: E402

PASSWORD = "Zq8-pxd-SeCrEt-7731"

# Variables a root shell might carry that libpq or libmariadb would read.
HOSTILE_ENV = {
    "HOME": "/root",
    "PGSSLMODE": "disable",
    "PGAPPNAME": "leaked-from-shell",
    "PGSSLCERT": "/root/.postgresql/postgresql.crt",
    "PGCONNECT_TIMEOUT": "1",
    "PGSERVICEFILE": "/root/.pg_service.conf",
    "MYSQL_UNIX_PORT": "/nonexistent/mysqld.sock",
    "MYSQL_TCP_PORT": "1",
    "MYSQL_HOST": "192.0.2.1",
}


def require_root(test: unittest.TestCase) -> None:
    if os.geteuid() != 0:
        test.skipTest("needs root (privilege drop, chroot, PostgreSQL as postgres)")


class TlsPostgreSQL(dbservers.PostgreSQL):
    """The private PostgreSQL with ssl on and a throw-away self-signed cert."""

    def _init_datadir(self) -> None:
        super()._init_datadir()
        cert, key = self.datadir / "server.crt", self.datadir / "server.key"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=localhost",
                        "-days", "2", "-keyout", str(key), "-out", str(cert)],
                       check=True, capture_output=True, timeout=60)
        key.chmod(0o600)
        if self.run_as is not None:
            pw = pwd.getpwnam(self.run_as)
            for f in (cert, key):
                os.chown(f, pw.pw_uid, pw.pw_gid)

    def _server_cmd(self) -> list[str]:
        return super()._server_cmd() + [
            "-c", "ssl=on", "-c", f"ssl_cert_file={self.datadir / 'server.crt'}",
            "-c", f"ssl_key_file={self.datadir / 'server.key'}"]


class SocketDirTest(unittest.TestCase):
    def test_private_made_for_mail_owner_reaches_postmap_as_mail_owner(self):
        require_root(self)
        with harness.Scratch(prefix="pxdd") as s:
            (s.queue_dir / "private").rmdir()
            s.write_main_cf("proxy_read_maps = proxy:static:yes\n")
            with harness.Proxyd(s) as p:
                private = s.queue_dir / "private"
                st = private.stat()
                self.assertEqual(st.st_uid, pwd.getpwnam("postfix").pw_uid)
                self.assertEqual(stat.S_IMODE(st.st_mode), 0o700)
                self.assertEqual(stat.S_IMODE(p.proxymap_socket.stat().st_mode), 0o666)
                self.assertEqual(stat.S_IMODE((private / "proxyd-control").stat().st_mode),
                                 0o600)
                # A Postfix program running as mail_owner, as smtpd does.
                r = subprocess.run(
                    [harness.POSTMAP, "-c", str(s.config_dir), "-q", "k",
                     "proxy:static:yes"], capture_output=True, text=True, timeout=30,
                    user="postfix", group="postfix", extra_groups=[])
                self.assertEqual((r.returncode, r.stdout), (0, "yes\n"), r.stderr)
            self.assertNotIn("cannot reach the sockets", p.log())

    def test_refuses_a_socket_directory_others_can_write(self):
        with harness.Scratch(prefix="pxdd") as s:
            private = s.queue_dir / "private"
            private.chmod(0o777)
            r = subprocess.run([harness.proxyd_exe(), "-c", str(s.config_dir), "-f"],
                               capture_output=True, text=True, timeout=30)
            self.assertNotEqual(r.returncode, 0, r.stderr)
            self.assertIn(f"socket directory {private} is writable by group or others "
                          "(mode 0777)", r.stderr)
            self.assertIn(f"chmod go-w {private}", r.stderr)
            self.assertFalse((private / "proxymap").exists())

    def test_warns_when_mail_owner_cannot_reach_the_sockets(self):
        require_root(self)
        with harness.Scratch(prefix="pxdd") as s:
            (s.queue_dir / "private").chmod(0o700)  # root's: what proxyd once made
            s.write_main_cf("proxy_read_maps = proxy:static:yes\n")
            with harness.Proxyd(s) as p:
                pass
            self.assertIn("mail_owner postfix cannot reach the sockets in "
                          f"{s.queue_dir / 'private'}", p.log())


class PgsqlDeploymentTest(unittest.TestCase):
    """One private PostgreSQL (ssl on) for the environment and secrets tests."""

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root (PostgreSQL as postgres, privilege drop)")
        cls.pg = TlsPostgreSQL().start()
        cls.pg.create_database("mail")
        cls.pg.sql("CREATE TABLE t (k TEXT, v TEXT); INSERT INTO t VALUES ('k', 'v-ok');",
                   "mail")
        for user in ("pxenv", "pxsec"):
            cls.pg.create_user(user, PASSWORD, ("mail",))

    @classmethod
    def tearDownClass(cls):
        cls.pg.stop()

    def sessions(self, user: str) -> list[list[str]]:
        """(ssl, application_name) of every session of user."""
        out = self.pg.sql(
            "SELECT s.ssl, a.application_name FROM pg_stat_ssl s JOIN pg_stat_activity a "
            f"USING (pid) WHERE a.usename = '{user}';")
        return [line.split("\t") for line in out.splitlines() if line]

    def test_invoking_environment_does_not_reach_libpq(self):
        with harness.Scratch(prefix="pxde") as s:
            cf = s.write("env.cf", f"hosts = inet:127.0.0.1:{self.pg.port}\nuser = pxenv\n"
                         f"password = {PASSWORD}\ndbname = mail\n"
                         "query = SELECT v FROM t WHERE k = '%s'\n")
            cf.chmod(0o644)
            # HOME=/root made libpq fail sslmode=require: /root/.postgresql is EACCES.
            req = s.write("require.cf", f"hosts = postgresql://pxenv:{PASSWORD}@127.0.0.1:"
                          f"{self.pg.port}/mail?sslmode=require\n"
                          # Postfix before 3.10 wants dbname with a URI too (and ignores it).
                          "dbname = mail\n"
                          "query = SELECT v FROM t WHERE k = '%s'\n")
            req.chmod(0o644)
            s.write_main_cf(f"proxy_read_maps = proxy:pgsql:{cf} proxy:pgsql:{req}\n")
            direct = harness.postmap_one(s, f"pgsql:{cf}", "k")
            self.assertEqual(direct.stdout, b"v-ok\n", direct.stderr)
            with mock.patch.dict(os.environ, HOSTILE_ENV):
                p = harness.Proxyd(s).start()
            try:
                for table in (cf, req):
                    r = harness.postmap_one(s, f"proxy:pgsql:{table}", "k")
                    self.assertEqual(r.stdout, b"v-ok\n", (table, r.stderr))
                sessions = self.sessions("pxenv")
                self.assertTrue(sessions, "proxyd's session is not open")
                for ssl, app in sessions:
                    self.assertEqual(ssl, "t", "plaintext session: the invoking environment "
                                     f"reached libpq ({sessions})")
                    self.assertNotEqual(app, "leaked-from-shell")
            finally:
                rc = p.stop()
            self.assertEqual(rc, 0, p.log())

    def test_password_in_no_output(self):
        dead = dbservers.dead_port()
        port = self.pg.port
        with harness.Scratch(prefix="pxds") as s:
            q = "query = SELECT v FROM t WHERE k = '%s'\n"
            # Postfix before 3.10 wants dbname with a URI host too (and ignores it).
            uq = "dbname = mail\n" + q
            tables = {
                "uri": f"hosts = postgresql://pxsec:{PASSWORD}@127.0.0.1:{port}/mail\n{uq}",
                "uri-query": f"hosts = postgresql://pxsec@127.0.0.1:{port}/mail"
                             f"?password={PASSWORD}&sslmode=prefer\n{uq}",
                "value": f"hosts = inet:127.0.0.1:{port}\nuser = pxsec\n"
                         f"password = {PASSWORD}\ndbname = mail\n{q}",
                "conninfo": f"hosts = inet:127.0.0.1:{port}\nuser = pxsec\n"
                            f"dbname = dbname=mail password={PASSWORD}\n{q}",
                "dead-uri": f"hosts = postgresql://pxsec:{PASSWORD}@127.0.0.1:{dead}/mail"
                            f"\n{uq}",
                "dead-value": f"hosts = inet:127.0.0.1:{dead}\nuser = pxsec\n"
                              f"password = {PASSWORD}\ndbname = mail\n{q}",
                "dead-conninfo": f"hosts = inet:127.0.0.1:{dead}\nuser = pxsec\n"
                                 f"dbname = dbname=mail password='{PASSWORD}'\n{q}",
            }
            cfs = {}
            for name, text in tables.items():
                cfs[name] = s.write(f"{name}.cf", text)
                cfs[name].chmod(0o644)
            s.write_main_cf("proxy_read_maps = "
                            + " ".join(f"proxy:pgsql:{cf}" for cf in cfs.values()) + "\n")
            p = harness.Proxyd(s, args=["-v"]).start()
            try:
                for name, cf in cfs.items():
                    r = harness.postmap_one(s, f"proxy:pgsql:{cf}", "k")
                    if name.startswith("dead"):
                        self.assertIn(b"fatal", r.stderr, name)
                    else:
                        self.assertEqual(r.stdout, b"v-ok\n", (name, r.stderr))
                stats = subprocess.run([harness.proxyd_exe(), "-c", str(s.config_dir), "stats"],
                                       capture_output=True, text=True, timeout=30)
                self.assertEqual(stats.returncode, 0, stats.stderr)
            finally:
                rc = p.stop()
            self.assertEqual(rc, 0, p.log())
            check = subprocess.run([harness.proxyd_exe(), "-c", str(s.config_dir), "-v",
                                    "check"], capture_output=True, text=True, timeout=120)
            self.assertEqual(check.returncode, 1, check.stdout)  # the dead hosts
            outputs = {"log": p.log(), "stats": stats.stdout + stats.stderr,
                       "check": check.stdout + check.stderr}
            for what, text in outputs.items():
                self.assertNotIn(PASSWORD, text, f"password in {what}:\n{text}")
            # The redacted forms were printed, so the paths above were taken.
            self.assertIn("postgresql://pxsec:*****@127.0.0.1", outputs["stats"])
            self.assertIn("password=*****", outputs["stats"])
            self.assertIn("no usable database host", outputs["log"])
            self.assertIn("postgresql://pxsec:*****@127.0.0.1", outputs["log"])
            self.assertIn(f"cannot connect to database host postgresql://pxsec:*****@"
                          f"127.0.0.1:{dead}/mail", outputs["check"])


class TlsFilesInJailTest(unittest.TestCase):
    def setUp(self):
        self.s = harness.Scratch(prefix="pxdt")
        self.addCleanup(self.s.__exit__, None, None, None)
        self.ca = self.s.write("tls/ca.pem", "not read before a connect\n")
        self.cf = self.s.write(
            "tls.cf", f"hosts = postgresql://u@127.0.0.1:{dbservers.dead_port()}/mail"
            f"?sslmode=verify-full&sslrootcert={self.ca}\nuser = u\n"
            f"dbname = sslcert={self.s.path('tls/client.pem')}\n"
            "query = SELECT v FROM t WHERE k = '%s'\n")
        self.s.write_main_cf(f"local_recipient_maps =\nproxy_read_maps = proxy:pgsql:{self.cf}\n")

    def check(self) -> subprocess.CompletedProcess:
        return subprocess.run([harness.proxyd_exe(), "-c", str(self.s.config_dir), "check"],
                              capture_output=True, text=True, timeout=60)

    def test_check_names_pgsql_tls_files_with_the_standalone_fix(self):
        self.s.write("etc/proxyd.cf", "chroot = yes\n")
        r = self.check()
        self.assertEqual(r.returncode, 1, r.stdout)
        q = self.s.queue_dir
        self.assertIn(f"sslrootcert {self.ca} is outside the chroot jail {q}", r.stdout)
        self.assertIn(f"sslcert {self.s.path('tls/client.pem')} is outside the chroot jail",
                      r.stdout)
        self.assertIn("set chroot = no in proxyd.cf", r.stdout)
        self.assertNotIn("master.cf to n", r.stdout)

    def test_check_names_pgsql_tls_files_with_the_master_fix(self):
        (self.s.config_dir / "master.cf").write_text(
            "proxymap  unix  -       -       y       -       -       proxyd\n")
        r = self.check()
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn(f"sslrootcert {self.ca} is outside the chroot jail", r.stdout)
        self.assertIn("chroot column of the proxymap/proxywrite service in master.cf",
                      r.stdout)
        self.assertNotIn("proxyd.cf", r.stdout)
        # Copied into the jail: the CA file is no longer named.
        inside = Path(str(self.s.queue_dir) + str(self.ca))
        inside.parent.mkdir(parents=True)
        inside.write_text("x\n")
        r = self.check()
        self.assertNotIn(f"sslrootcert {self.ca} is outside", r.stdout)
        self.assertIn("sslcert", r.stdout)

    def test_startup_warning_names_the_proxyd_cf_fix(self):
        require_root(self)
        self.s.write("etc/proxyd.cf", "chroot = yes\n")
        with harness.Proxyd(self.s) as p:
            pass
        log = p.log()
        self.assertRegex(log, rf"warning: .*sslrootcert {self.ca} is outside the chroot jail")
        self.assertRegex(log, r"warning: .*sslcert .* is outside the chroot jail")
        self.assertIn("set chroot = no in proxyd.cf", log)
        self.assertNotIn("master.cf", log)


if __name__ == "__main__":
    dbservers.terminate_on_signals()
    unittest.main(verbosity=2)
