// Tests for `proxyd check` and the per-table pre-flight inspection: master.cf
// chroot columns (default for "-" checked against Postfix 3.7.11
// master_ent.c), main.cf proxy: tables missing from the allowlists (the
// write parameters are Postfix's DEF_PROXY_WRITE_MAPS), the postconf line
// that approves them, files and jail paths each table type needs, mode-bit
// access for mail_owner, and a probe of a dead database host.
#include "proxyd/check.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "dictcore/config/allowlist.h"
#include "dictcore/config/main_cf.h"
#include "dictcore/pool/drivers/driver_paths.h"
#include "proxyd/preflight.h"
#include "tests/fakes/capture_logger.h"

namespace proxyd::daemon {
namespace {

namespace fs = std::filesystem;
using dict::testing::CaptureLogger;

// A scratch directory removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/pxdckXXXXXX";
    char* made = mkdtemp(tmpl.data());
    if (made == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = made;
    fs::permissions(path_, fs::perms(0755));
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string write(const std::string& name, const std::string& text,
                    int mode = 0644) const {
    fs::path p = path_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    fs::permissions(p, fs::perms(mode));
    return p.string();
  }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

std::vector<FindingKind> kinds(const std::vector<Finding>& findings) {
  std::vector<FindingKind> out;
  for (const auto& f : findings) out.push_back(f.kind);
  return out;
}

TEST(Check, ChrootDefaultFollowsCompatibilityLevel) {
  // master_ent.c: "-" means y below compatibility level 1, n from 1 on.
  struct Case {
    const char* level;
    bool chroot;
  } cases[] = {{"0", true},  {"", true},     {"1", false},
               {"2", false}, {"3.6", false}, {"10", false}};
  for (const auto& c : cases) EXPECT_EQ(chroot_default(c.level), c.chroot) << c.level;
}

TEST(Check, ParsesMasterCfColumnsAndContinuations) {
  const char* text =
      "# service type  private unpriv  chroot  wakeup  maxproc command + args\n"
      "smtp      inet  n       -       y       -       -       smtpd\n"
      "proxymap  unix  -       -       -       -       -       proxyd\n"
      "  # a comment inside an entry\n"
      "proxywrite unix -       -       y       -       1\n"
      "   proxyd -o foo=bar\n"
      "\n"
      "short unix - -\n";
  auto services = parse_master_cf(text, false);
  ASSERT_EQ(services.size(), 3u);
  EXPECT_EQ(services[0].name, "smtp");
  EXPECT_TRUE(services[0].chroot);
  EXPECT_EQ(services[1].name, "proxymap");
  EXPECT_FALSE(services[1].chroot);  // "-" with the level-1+ default
  EXPECT_EQ(services[1].line_no, 3);
  EXPECT_EQ(services[2].name, "proxywrite");
  EXPECT_TRUE(services[2].chroot);  // the command is on a continuation line
  EXPECT_TRUE(parse_master_cf(text, true)[1].chroot);
}

// master.cf goes through the one logical-line reader: a first line that
// starts with white space is skipped, as master(8)'s readllines() skips it.
TEST(Check, MasterCfLineStartingWithWhiteSpaceIsSkipped) {
  auto services = parse_master_cf(
      "  smtp inet n - y - - smtpd\nproxymap unix - - - - - proxyd\n", false);
  ASSERT_EQ(services.size(), 1u);
  EXPECT_EQ(services[0].name, "proxymap");
  EXPECT_EQ(services[0].line_no, 2);
}

TEST(Check, FindsProxyTablesMissingFromTheAllowlists) {
  CaptureLogger log;
  dict::MainCf cf = dict::MainCf::from_string(
      "compatibility_level = 3.6\n"
      "virtual_alias_maps = proxy:mysql:/etc/postfix/va.cf, "
      "proxy:sqlite:/etc/postfix/ok.cf\n"
      "transport_maps = unionmap:{proxy:pgsql:/etc/postfix/t.cf, hash:/etc/postfix/t}\n"
      "smtpd_recipient_restrictions = check_recipient_access "
      "proxy:mysql:/etc/postfix/va.cf\n"
      "address_verify_map = proxy:btree:/var/lib/postfix/verify\n"
      "mydestination = inline:{proxy:x=y}\n"
      "local_recipient_maps =\n"
      "proxy_read_maps = proxy:sqlite:/etc/postfix/ok.cf\n"
      "proxy_write_maps = $smtp_sasl_auth_cache_name\n",
      log);
  auto read = dict::Allowlist::build(cf, true, log);
  auto write = dict::Allowlist::build(cf, false, log);
  auto missing = unlisted_proxy_tables(cf, read, write);
  ASSERT_EQ(missing.size(), 3u);
  EXPECT_EQ(missing[0].list_parameter, "proxy_read_maps");
  EXPECT_EQ(missing[0].table, "mysql:/etc/postfix/va.cf");
  EXPECT_EQ(missing[0].used_by, (std::vector<std::string>{"smtpd_recipient_restrictions",
                                                          "virtual_alias_maps"}));
  EXPECT_EQ(missing[1].table, "pgsql:/etc/postfix/t.cf");
  EXPECT_EQ(missing[1].used_by, std::vector<std::string>{"transport_maps"});
  EXPECT_EQ(missing[2].list_parameter, "proxy_write_maps");
  EXPECT_EQ(missing[2].table, "btree:/var/lib/postfix/verify");
}

TEST(Check, NothingMissingWithPostfixDefaults) {
  CaptureLogger log;
  // The default proxy_read_maps lists $virtual_alias_maps, $local_recipient_maps, ...
  dict::MainCf cf = dict::MainCf::from_string(
      "compatibility_level = 3.6\n"
      "virtual_alias_maps = proxy:mysql:/etc/postfix/va.cf\n"
      "address_verify_map = proxy:btree:/var/lib/postfix/verify\n",
      log);
  auto read = dict::Allowlist::build(cf, true, log);
  auto write = dict::Allowlist::build(cf, false, log);
  EXPECT_TRUE(unlisted_proxy_tables(cf, read, write).empty());
}

TEST(Check, ApproveCommandKeepsTheCurrentValue) {
  EXPECT_EQ(
      approve_command("proxy_read_maps", {"mysql:/etc/postfix/a.cf"}, "/etc/postfix"),
      "postconf -e \"proxy_read_maps = $(postconf -h proxy_read_maps) "
      "proxy:mysql:/etc/postfix/a.cf\"");
  EXPECT_EQ(
      approve_command("proxy_write_maps", {"btree:/v", "lmdb:/w"}, "/tmp/it's"),
      "postconf -c '/tmp/it'\\''s' -e \"proxy_write_maps = $(postconf -c '/tmp/it'\\''s' "
      "-h proxy_write_maps) proxy:btree:/v proxy:lmdb:/w\"");
}

TEST(Preflight, PathInJail) {
  EXPECT_EQ(path_in_jail("", "/a/b"), "/a/b");
  EXPECT_EQ(path_in_jail("/var/spool/postfix", "/run/x.sock"),
            "/var/spool/postfix/run/x.sock");
  EXPECT_EQ(path_in_jail("/var/spool/postfix/", "db.sqlite"),
            "/var/spool/postfix/db.sqlite");
}

TEST(Preflight, CanAccessFollowsModeBits) {
  TempDir dir;
  std::string open_file = dir.write("pub/readable", "x", 0644);
  std::string closed_file = dir.write("pub/secret", "x", 0600);
  std::string hidden = dir.write("priv/file", "x", 0644);
  fs::permissions(dir.str() + "/priv", fs::perms(0700));
  std::string group_file = dir.write("pub/group", "x", 0640);
  ASSERT_EQ(chown(group_file.c_str(), 0, 4242), 0);
  Credentials stranger{"stranger", 54321, 54321, {54321}};
  Credentials member{"member", 54322, 54322, {54322, 4242}};
  Credentials root{"root", 0, 0, {0}};
  EXPECT_TRUE(can_access(open_file, stranger, R_OK));
  EXPECT_FALSE(can_access(closed_file, stranger, R_OK));
  EXPECT_FALSE(can_access(hidden, stranger, R_OK));  // directory not searchable
  EXPECT_FALSE(can_access(group_file, stranger, R_OK));
  EXPECT_TRUE(can_access(group_file, member, R_OK));
  EXPECT_FALSE(can_access(group_file, member, W_OK));
  EXPECT_TRUE(can_access(closed_file, root, R_OK));
  EXPECT_FALSE(can_access(dir.str() + "/none", stranger, R_OK));
}

class PreflightTables : public ::testing::Test {
 protected:
  PreflightTables()
      : cf_(dict::MainCf::from_string("compatibility_level = 3.6\n", log_)) {
    env_.main_cf = &cf_;
    env_.log = &log_;
  }
  CaptureLogger log_;
  dict::MainCf cf_;
  dict::TableEnv env_;
  TempDir dir_;
};

TEST_F(PreflightTables, AllWellNeedsNothing) {
  std::string db = dir_.write("db.sqlite", "");
  std::string cf = dir_.write("ok.cf", "dbpath = " + db + "\nquery = SELECT 1\n");
  std::string th = dir_.write("map.txt", "a b\n");
  for (std::string table :
       {"sqlite:" + cf, "texthash:" + th, std::string("static:x"),
        std::string("inline:{a=b}"), std::string("unix:passwd.byname")}) {
    auto in = inspect_table(table, env_, "");
    EXPECT_TRUE(in.findings.empty()) << table << ": " << in.findings[0].message;
  }
  auto in = inspect_table("sqlite:" + cf, env_, "");
  ASSERT_TRUE(in.sql.has_value());
  EXPECT_EQ(in.sql->connect.hosts.at(0).name, db);
}

TEST_F(PreflightTables, ReportsEachKindOfProblem) {
  std::string db = dir_.write("db.sqlite", "");
  std::string sqlite_cf = dir_.write("s.cf", "dbpath = " + db + "\nquery = SELECT 1\n");
  std::string bad_cf = dir_.write("bad.cf", "dbpath = " + db + "\n");  // no query
  std::string mysql_cf = dir_.write(
      "m.cf",
      "hosts = unix:/nonexistent/mysqld.sock inet:127.0.0.1\ndbname = d\n"
      "query = SELECT 1\ntls_CAfile = /nonexistent/ca.pem\npassword = hunter2\n");
  std::string secret_cf =
      dir_.write("secret.cf", "dbpath = " + db + "\nquery = SELECT 1\n", 0600);
  Credentials mail_owner{"postfix", 54321, 54321, {54321}};
  struct Case {
    std::string table;
    std::string jail;
    const Credentials* reader;
    std::vector<FindingKind> expect;
    std::string needle;
  } cases[] = {
      {"sqlite:" + dir_.str() + "/missing.cf",
       "",
       nullptr,
       {FindingKind::MissingFile},
       "configuration file " + dir_.str() + "/missing.cf does not exist"},
      {"sqlite:" + bad_cf, "", nullptr, {FindingKind::BadConfig}, "bad.cf"},
      {"hash:/etc/aliases",
       "",
       nullptr,
       {FindingKind::Unsupported},
       "\"hash\" is not supported"},
      {"texthash:" + dir_.str() + "/none.txt",
       "",
       nullptr,
       {FindingKind::MissingFile},
       "none.txt"},
      {"sqlite:" + secret_cf,
       "",
       &mail_owner,
       {FindingKind::UnreadableByOwner},
       "mail_owner postfix cannot read configuration file"},
      // Without a jail a missing socket is left to the host probe; the CA file is not.
      {"mysql:" + mysql_cf, "", nullptr, {FindingKind::MissingFile}, "tls_CAfile"},
      {"mysql:" + mysql_cf,
       dir_.str(),
       nullptr,
       {FindingKind::OutsideJail, FindingKind::OutsideJail},
       "/nonexistent/mysqld.sock"},
  };
  for (const auto& c : cases) {
    auto findings = preflight_table(c.table, env_, c.jail, c.reader);
    EXPECT_EQ(kinds(findings), c.expect) << c.table;
    bool seen = false;
    for (const auto& f : findings) {
      seen = seen || f.message.find(c.needle) != std::string::npos;
      EXPECT_EQ(f.message.find("hunter2"), std::string::npos) << f.message;
      EXPECT_EQ(f.table, c.table);
    }
    EXPECT_TRUE(seen) << c.table << " lacks " << c.needle;
  }
}

TEST_F(PreflightTables, FileInsideTheJailIsFine) {
  // Postfix admins copy or bind-mount what a chrooted daemon needs.
  std::string cf = dir_.write("m.cf",
                              "hosts = inet:127.0.0.1\ndbname = d\nquery = SELECT 1\n"
                              "tls_CAfile = /data/ca.pem\n");
  std::string jail = dir_.str() + "/jail";
  dir_.write("jail/data/ca.pem", "");
  EXPECT_TRUE(preflight_table("mysql:" + cf, env_, jail).empty());
  EXPECT_EQ(preflight_table("mysql:" + cf, env_, "").size(),
            1u);  // /data/ca.pem missing
}

TEST_F(PreflightTables, SqliteOutsideTheJailIsFine) {
  // The database file is opened before chroot and kept (issue 13 item 6).
  std::string db = dir_.write("db.sqlite", "");
  std::string cf = dir_.write("s.cf", "dbpath = " + db + "\nquery = SELECT 1\n");
  EXPECT_TRUE(preflight_table("sqlite:" + cf, env_, "/var/empty-jail").empty());
  // A missing database is still named, jail or not.
  std::string gone =
      dir_.write("g.cf", "dbpath = /nonexistent/db.sqlite\nquery = SELECT 1\n");
  EXPECT_EQ(kinds(preflight_table("sqlite:" + gone, env_, "/var/empty-jail")),
            std::vector<FindingKind>{FindingKind::MissingFile});
}

TEST(Preflight, NssSourcesBeyondFiles) {
  const char* conf =
      "# comment\n"
      "passwd:  files systemd\n"
      "group:   files [NOTFOUND=return] ldap  # trailing comment\n"
      "shadow:  files sss\n"
      "hosts:   files dns\n";
  EXPECT_TRUE(nss_sources_beyond_files(conf, "passwd").empty());
  EXPECT_EQ(nss_sources_beyond_files(conf, "group"), std::vector<std::string>{"ldap"});
  EXPECT_TRUE(nss_sources_beyond_files(conf, "netgroup").empty());
  EXPECT_EQ(
      nss_sources_beyond_files("passwd: compat\npasswd: files sss winbind\n", "passwd"),
      (std::vector<std::string>{"sss", "winbind"}));
}

TEST(Preflight, PgsqlTlsFilesFromUriAndConninfo) {
  using Files = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(dict::pgsql_tls_files(
                "postgresql://u:pw@h/db?sslmode=verify-full&sslrootcert=/etc/"
                "ca%20dir/ca.pem&sslcert=/c.pem&sslkey=/k.pem&sslcrl=/crl.pem"),
            (Files{{"sslrootcert", "/etc/ca dir/ca.pem"},
                   {"sslcert", "/c.pem"},
                   {"sslkey", "/k.pem"},
                   {"sslcrl", "/crl.pem"}}));
  EXPECT_EQ(
      dict::pgsql_tls_files("dbname=mail sslrootcert = '/etc/my ca.pem' sslcrldir=/crl "
                            "sslkey=/k\\x.pem"),
      (Files{{"sslrootcert", "/etc/my ca.pem"},
             {"sslcrldir", "/crl"},
             {"sslkey", "/kx.pem"}}));  // \\ escapes, as libpq reads it
  // libpq's system store is no file; no TLS parameter, no file.
  EXPECT_EQ(dict::pgsql_tls_files("postgresql://h/db?sslrootcert=system"), Files{});
  EXPECT_EQ(dict::pgsql_tls_files("postgresql://h/db"), Files{});
  EXPECT_EQ(dict::pgsql_tls_files("mail"), Files{});
}

TEST_F(PreflightTables, PgsqlTlsFilesOutsideTheJailAreNamedWithTheFixForTheMode) {
  std::string ca = dir_.write("tls/ca.pem", "x");
  std::string cf = dir_.write(
      "p.cf",
      "hosts = postgresql://u:hunter2@127.0.0.1/mail?sslmode=verify-full&sslrootcert=" +
          ca +
          "&sslcert=/nonexistent/c.pem\n"
          "dbname = sslkey=/nonexistent/k.pem\nquery = SELECT 1\npassword = hunter2\n");
  std::string jail = dir_.str() + "/jail";
  dir_.write("jail/.keep", "");
  std::vector<Finding> master = preflight_table("pgsql:" + cf, env_, jail);
  ASSERT_EQ(kinds(master),
            (std::vector<FindingKind>{FindingKind::OutsideJail, FindingKind::OutsideJail,
                                      FindingKind::OutsideJail}));
  EXPECT_NE(master[0].message.find("sslrootcert " + ca + " is outside the chroot jail"),
            std::string::npos)
      << master[0].message;
  EXPECT_NE(master[1].message.find("sslcert /nonexistent/c.pem"), std::string::npos);
  EXPECT_NE(master[2].message.find("sslkey /nonexistent/k.pem"), std::string::npos);
  for (const Finding& f : master) {
    EXPECT_NE(f.message.find("chroot column"), std::string::npos) << f.message;
    EXPECT_EQ(f.message.find("proxyd.cf"), std::string::npos) << f.message;
    EXPECT_EQ(f.message.find("hunter2"), std::string::npos) << f.message;
  }
  std::vector<Finding> standalone =
      preflight_table("pgsql:" + cf, env_, jail, nullptr, JailOwner::Standalone);
  ASSERT_EQ(standalone.size(), 3u);
  for (const Finding& f : standalone) {
    EXPECT_NE(f.message.find("set chroot = no in proxyd.cf"), std::string::npos)
        << f.message;
    EXPECT_EQ(f.message.find("master.cf"), std::string::npos) << f.message;
  }
  // The CA file copied into the jail: only the two missing files remain.
  dir_.write("jail" + ca, "x");
  EXPECT_EQ(preflight_table("pgsql:" + cf, env_, jail).size(), 2u);
  // Without a jail, a TLS file that does not exist is named too.
  std::vector<Finding> plain = preflight_table("pgsql:" + cf, env_, "");
  EXPECT_EQ(kinds(plain), (std::vector<FindingKind>{FindingKind::MissingFile,
                                                    FindingKind::MissingFile}));
}

TEST(Check, ProbeOfADeadHostReportsTheDriverError) {
  dict::ConnectParams params;
  params.kind = dict::SqlKind::Mysql;
  params.user = "nobody";
  params.password = "hunter2";
  params.dbname = "d";
  // Port 1 on loopback: nothing listens, so the connection is refused at once.
  params.hosts = dict::parse_mysql_hosts("inet:127.0.0.1:1", "test");
  std::string error = probe_host(params, params.hosts[0], std::chrono::seconds(5));
  EXPECT_NE(error, "");
  EXPECT_NE(error.find("127.0.0.1"), std::string::npos) << error;
  EXPECT_EQ(error.find("hunter2"), std::string::npos) << error;
}

}  // namespace
}  // namespace proxyd::daemon
