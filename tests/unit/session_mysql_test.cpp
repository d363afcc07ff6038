// mysql driver against a private MariaDB server: socket, TCP and option-file
// connections, escaping round trips on the live connection, NULL versus
// empty values, result-set rules of Postfix's dict_mysql (first set kept,
// no set reported, a second set with data fails the host), charset handling,
// and failures (bad password, dead port, server killed mid-session), each on
// both session types: a worker's Connector/C++ session and the loop session
// on Connector/C (session_mysql_native.cpp). The loop session: asynchronous
// statements answer as query() does, the same server-side session settings,
// and the pool's loop session (loop_queries) answering lone lookups on the
// test thread, never holding up others, going to a worker under load,
// handing a lookup whose connection broke to a worker, and none with TLS.
// Needs mariadb-server (scripts/deps.sh --all); fails, never skips, without it.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "dictcore/pool/drivers/driver_factory.h"
#include "dictcore/pool/drivers/session_mysql_native.h"
#include "dictcore/pool/session.h"
#include "tests/fakes/db_servers.h"
#include "tests/fakes/db_session_fixture.h"
#include "tests/fakes/loop_pool.h"

namespace proxyd::dict {
namespace {

using proxyd::testing::kDbName;
using proxyd::testing::kDbPassword;
using proxyd::testing::kDbUser;
using proxyd::testing::MariaDbServer;
using testing::async_query;
using testing::LoopPool;

class MysqlSessionTest : public testing::DbSessionFixture<MariaDbServer> {
 protected:
  static ConnectParams params() {
    ConnectParams p;
    p.kind = SqlKind::Mysql;
    p.user = kDbUser;
    p.password = kDbPassword;
    p.dbname = kDbName;
    p.charset = "utf8mb4";
    return p;
  }
  static HostSpec socket_host() {
    return HostSpec{"unix:" + server_->socket(), HostKind::Unix, server_->socket(), ""};
  }
  // A worker's Connector/C++ session, or (native_) a loop session on
  // Connector/C, which must behave exactly alike.
  static ConnectResult open(const ConnectParams& p, const HostSpec& h) {
    if (native_) return connect_mysql_native(p, h);
    auto driver = make_mysql_driver(p);
    if (!driver) return ConnectResult{nullptr, "no mysql driver"};
    return driver->connect(h);
  }
  static std::unique_ptr<SqlSession> connect(const ConnectParams& p, const HostSpec& h) {
    ConnectResult r = open(p, h);
    EXPECT_TRUE(r.session) << r.error;
    return std::move(r.session);
  }
  static std::unique_ptr<SqlSession> connect_socket() {
    return connect(params(), socket_host());
  }
  static inline bool native_ = false;
};

// Every session test runs on both session types: "connector" (workers) and
// "native" (the loop session, session_mysql_native.cpp).
class MysqlSessionTypesTest : public MysqlSessionTest,
                              public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    MysqlSessionTest::SetUp();
    native_ = GetParam() == "native";
  }
  void TearDown() override { native_ = false; }
};
INSTANTIATE_TEST_SUITE_P(Sessions, MysqlSessionTypesTest,
                         ::testing::Values("connector", "native"),
                         [](const auto& info) { return info.param; });

TEST_F(MysqlSessionTest, DriverTakesEveryColumn) {
  auto driver = make_mysql_driver(params());
  ASSERT_TRUE(driver);
  EXPECT_TRUE(driver->all_columns());
}

TEST_P(MysqlSessionTypesTest, ConnectsOverUnixSocket) {
  auto s = connect_socket();
  ASSERT_TRUE(s);
  // The server sees a socket client as "localhost".
  EXPECT_EQ(scalar(*s, "SELECT SUBSTRING_INDEX(USER(), '@', -1)"), "localhost");
  EXPECT_EQ(scalar(*s, "SELECT DATABASE()"), kDbName);
}

TEST_P(MysqlSessionTypesTest, ConnectsOverTcp) {
  auto s = connect(params(), tcp_host(server_->port()));
  ASSERT_TRUE(s);
  EXPECT_EQ(scalar(*s, "SELECT SUBSTRING_INDEX(USER(), '@', -1)"), "127.0.0.1");
}

TEST_P(MysqlSessionTypesTest, LocalhostUsesDefaultSocketFromOptionFileGroup) {
  // "localhost" = the library's default socket; the option file's group
  // names it, as Postfix's option_file/option_group would.
  std::string file = server_->dir() + "/client.cnf";
  std::ofstream(file) << "[proxyd_test]\nsocket=" << server_->socket() << "\n";
  ConnectParams p = params();
  p.option_file = file;
  p.option_group = "proxyd_test";
  auto s = connect(p, HostSpec{"localhost", HostKind::Unix, "", ""});
  ASSERT_TRUE(s);
  EXPECT_EQ(scalar(*s, "SELECT SUBSTRING_INDEX(USER(), '@', -1)"), "localhost");
}

TEST_P(MysqlSessionTypesTest, BadPasswordFailsWithoutLeakingIt) {
  ConnectParams p = params();
  p.password = "wrong-Secret-42";
  for (const HostSpec& h : {socket_host(), tcp_host(server_->port())}) {
    ConnectResult r = open(p, h);
    EXPECT_FALSE(r.session) << h.text;
    EXPECT_NE(r.error.find(h.text), std::string::npos) << r.error;
    EXPECT_NE(r.error.find(kDbName), std::string::npos) << r.error;
    EXPECT_EQ(r.error.find("wrong-Secret-42"), std::string::npos) << r.error;
  }
}

TEST_P(MysqlSessionTypesTest, DeadPortFailsQuickly) {
  auto start = std::chrono::steady_clock::now();
  ConnectResult r = open(params(), tcp_host(proxyd::testing::dead_port()));
  EXPECT_FALSE(r.session);
  EXPECT_FALSE(r.error.empty());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_P(MysqlSessionTypesTest, UnknownCharsetFailsTheConnection) {
  // Postfix 3.9+: mysql_set_character_set failure marks the host down.
  ConnectParams p = params();
  p.charset = "no_such_charset";
  ConnectResult r = open(p, socket_host());
  EXPECT_FALSE(r.session);
  EXPECT_FALSE(r.error.empty());
}

TEST_P(MysqlSessionTypesTest, CharsetUnderBothReleases) {
  // What the server sees, as Postfix's own postmap made it see (measured
  // with Debian's 3.7.11 against this kind of server): 3.9+ sets the
  // charset line (default utf8mb4); 3.7 reads no charset line and talks the
  // library's default, utf8mb4, or an option file's default-character-set.
  const std::string probe =
      "SELECT CONCAT(@@character_set_client, '/', @@character_set_results)";
  ConnectParams newer = params();
  newer.charset = "latin1";
  auto s = connect(newer, socket_host());
  ASSERT_TRUE(s);
  EXPECT_EQ(scalar(*s, probe), "latin1/latin1");
  ConnectParams old = params();
  old.charset.clear();  // Postfix before 3.9: not set
  s = connect(old, socket_host());
  ASSERT_TRUE(s);
  EXPECT_EQ(scalar(*s, probe), "utf8mb4/utf8mb4");
  std::string file = server_->dir() + "/latin1.cnf";
  std::ofstream(file) << "[client]\ndefault-character-set = latin1\n";
  old.option_file = file;
  s = connect(old, socket_host());
  ASSERT_TRUE(s);
  EXPECT_EQ(scalar(*s, probe), "latin1/latin1");
}

TEST_P(MysqlSessionTypesTest, TlsSettingsAgainstServerWithoutTls) {
  // Expectations checked with Postfix 3.7.11's postmap against this kind of
  // server (libmariadb 3.3, server without TLS): tls_CAfile alone still
  // connects in clear, tls_verify_cert = yes makes TLS mandatory and fails,
  // tls_verify_cert = no changes nothing.
  struct Case {
    const char* name;
    std::optional<std::string> ca_file;
    std::optional<bool> verify;
    bool connects;
  };
  const Case cases[] = {
      {"verify=no", std::nullopt, false, true},
      {"CAfile", server_->dir() + "/no-such-ca.pem", std::nullopt, true},
      {"verify=yes", std::nullopt, true, false},
  };
  for (const Case& c : cases) {
    ConnectParams p = params();
    p.tls_CAfile = c.ca_file;
    p.tls_verify_cert = c.verify;
    ConnectResult r = open(p, tcp_host(server_->port()));
    EXPECT_EQ(r.session != nullptr, c.connects) << c.name << ": " << r.error;
    if (!c.connects) {
      EXPECT_NE(r.error.find("SSL"), std::string::npos) << r.error;
    }
  }
}

TEST_P(MysqlSessionTypesTest, ResultsComeBackInTheConnectionCharset) {
  ConnectParams p = params();
  p.charset = "latin1";
  auto s = connect(p, socket_host());
  ASSERT_TRUE(s);
  EXPECT_EQ(scalar(*s, "SELECT CONVERT(X'C3A9' USING utf8mb4)"), "\xE9");
  auto u = connect_socket();
  ASSERT_TRUE(u);
  EXPECT_EQ(scalar(*u, "SELECT CONVERT(X'C3A9' USING utf8mb4)"), "\xC3\xA9");
}

TEST_P(MysqlSessionTypesTest, EscapeRoundTripsThroughTheServer) {
  auto s = connect_socket();
  ASSERT_TRUE(s);
  const std::string cases[] = {
      "plain",
      "o'ne\\il\"x",  // SPEC 6.3: round-trips through Postfix's mysql table
      "'; DROP TABLE x; --",
      "100% _under_",
      "tab\there\nnewline\rcr\x1a"
      "ctrl-z",
      "\\'\\\\''",
      "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80",  // UTF-8 incl. 4-byte
      "",
  };
  for (const std::string& text : cases) {
    std::string escaped = "prefix:";
    ASSERT_TRUE(s->escape(text, escaped)) << text;
    ASSERT_EQ(escaped.rfind("prefix:", 0), 0u);  // appends, keeps what was there
    EXPECT_EQ(scalar(*s, "SELECT '" + escaped.substr(7) + "'"), text) << escaped;
  }
}

TEST_P(MysqlSessionTypesTest, NullIsNulloptAndEmptyStaysEmpty) {
  auto s = connect_socket();
  ASSERT_TRUE(s);
  // SPEC 6.4 example (verified with postmap: answers "a,b,c").
  QueryResult r = s->query("SELECT 'a',NULL,'','b' UNION ALL SELECT 'c',NULL,NULL,NULL");
  ASSERT_EQ(r.status, QueryStatus::Rows) << r.message;
  std::vector<SqlRow> want = {{"a", std::nullopt, "", "b"},
                              {"c", std::nullopt, std::nullopt, std::nullopt}};
  EXPECT_EQ(r.rows, want);
}

TEST_P(MysqlSessionTypesTest, ValuesAreRawBytesCutAtNul) {
  // Checked with Postfix 3.7.11's postmap: X'610062' answers "a",
  // b'1000001' answers "A", a BIT(16) column 0x4142 answers "AB".
  auto s = connect_socket();
  ASSERT_TRUE(s);
  EXPECT_EQ(scalar(*s, "SELECT X'610062'"), "a");
  EXPECT_EQ(scalar(*s, "SELECT b'1000001'"), "A");
  EXPECT_EQ(scalar(*s, "SELECT X'C3FF'"), "\xC3\xFF");
  ASSERT_EQ(s->query("CREATE TABLE IF NOT EXISTS bits (b BIT(16), c BIT(3), z BIT(16), "
                     "n BIT(64) NOT NULL, m BIT(8))")
                .status,
            QueryStatus::NoResultSet);
  ASSERT_EQ(s->query("DELETE FROM bits").status, QueryStatus::NoResultSet);
  ASSERT_EQ(s->query("INSERT INTO bits VALUES (X'4142', b'101', X'0041', "
                     "X'4142434445464748', NULL)")
                .status,
            QueryStatus::NoResultSet);
  // z starts with a NUL byte: Postfix sees "" (checked with postmap).
  QueryResult r = s->query("SELECT b, c, z, n, m FROM bits");
  ASSERT_EQ(r.status, QueryStatus::Rows) << r.message;
  EXPECT_EQ(r.rows, (std::vector<SqlRow>{{"AB", "\x05", "", "ABCDEFGH", std::nullopt}}));
}

TEST_P(MysqlSessionTypesTest, MultiRowMultiColumnTable) {
  auto s = connect_socket();
  ASSERT_TRUE(s);
  ASSERT_EQ(s->query("CREATE TABLE IF NOT EXISTS mm (k VARCHAR(20), a VARCHAR(20), "
                     "b INT, c VARBINARY(20))")
                .status,
            QueryStatus::NoResultSet);
  ASSERT_EQ(s->query("DELETE FROM mm").status, QueryStatus::NoResultSet);
  ASSERT_EQ(s->query("INSERT INTO mm VALUES ('k','x',1,X'FF00'),('k','y',NULL,'z'),"
                     "('other','q',3,'r')")
                .status,
            QueryStatus::NoResultSet);
  QueryResult r = s->query("SELECT a, b, c FROM mm WHERE k = 'k' ORDER BY a");
  ASSERT_EQ(r.status, QueryStatus::Rows) << r.message;
  // Values are raw bytes; an embedded NUL ends the value as it does for
  // Postfix, which reads each field as a C string.
  std::vector<SqlRow> want = {{"x", "1", "\xFF"}, {"y", std::nullopt, "z"}};
  EXPECT_EQ(r.rows, want);
  r = s->query("SELECT a FROM mm WHERE k = 'missing'");
  EXPECT_EQ(r.status, QueryStatus::Rows);
  EXPECT_TRUE(r.rows.empty());
}

TEST_P(MysqlSessionTypesTest, StatementsWithoutResultSet) {
  auto s = connect_socket();
  ASSERT_TRUE(s);
  for (const char* sql : {"DO 1", "SET @x = 1"}) {
    QueryResult r = s->query(sql);
    EXPECT_EQ(r.status, QueryStatus::NoResultSet) << sql << ": " << r.message;
    EXPECT_TRUE(r.rows.empty());
  }
  // The session is still in sync afterwards.
  EXPECT_EQ(scalar(*s, "SELECT 'after'"), "after");
}

TEST_P(MysqlSessionTypesTest, StoredProcedureResultSets) {
  auto s = connect_socket();
  ASSERT_TRUE(s);
  for (const char* sql :
       {"DROP PROCEDURE IF EXISTS one_set", "DROP PROCEDURE IF EXISTS two_sets",
        "DROP PROCEDURE IF EXISTS no_set",
        "CREATE PROCEDURE one_set() BEGIN SELECT 'p', 'q'; END",
        "CREATE PROCEDURE two_sets() BEGIN SELECT 'first'; SELECT 'second'; END",
        "CREATE PROCEDURE no_set() BEGIN DO 1; END"}) {
    ASSERT_EQ(s->query(sql).status, QueryStatus::NoResultSet) << sql;
  }
  // One result set plus CALL's status result: the set is the answer.
  QueryResult r = s->query("CALL one_set()");
  ASSERT_EQ(r.status, QueryStatus::Rows) << r.message;
  EXPECT_EQ(r.rows, (std::vector<SqlRow>{{"p", "q"}}));
  // Postfix 3.x: more than one result set returning data fails the host.
  r = s->query("CALL two_sets()");
  EXPECT_EQ(r.status, QueryStatus::HostError);
  EXPECT_NE(r.message.find("multiple result sets"), std::string::npos) << r.message;
  EXPECT_TRUE(r.rows.empty());
  r = s->query("CALL no_set()");
  EXPECT_EQ(r.status, QueryStatus::NoResultSet) << r.message;
  // Every result was drained: the connection is still in sync.
  EXPECT_EQ(scalar(*s, "SELECT 'in sync'"), "in sync");
}

TEST_P(MysqlSessionTypesTest, SqlErrorsFailOnlyTheLookup) {
  // Postfix marks the host down on any query error. proxyd shares sessions
  // between tables, so a server-side statement error fails only that lookup
  // (TempError) and the session stays usable.
  auto s = connect_socket();
  ASSERT_TRUE(s);
  for (const char* sql :
       {"SELEC 1", "SELECT nosuchcolumn FROM nosuchtable", "SELECT 1; SELECT 2"}) {
    QueryResult r = s->query(sql);
    EXPECT_EQ(r.status, QueryStatus::TempError) << sql;
    EXPECT_NE(r.message.find(server_->socket()), std::string::npos) << r.message;
    EXPECT_NE(r.message.find(kDbName), std::string::npos) << r.message;
    // What Postfix logs after "mysql:NAME: query failed: ": mysql_error()
    // alone, without proxyd's host, database and errno (issue 13).
    EXPECT_FALSE(r.reason.empty());
    EXPECT_NE(r.message.find(r.reason), std::string::npos) << r.message;
    EXPECT_EQ(r.reason.find("errno"), std::string::npos) << r.reason;
    EXPECT_EQ(r.reason.find(server_->socket()), std::string::npos) << r.reason;
    EXPECT_EQ(scalar(*s, "SELECT 'still usable'"), "still usable");
  }
}

// Batching sessions (CLIENT_MULTI_STATEMENTS): several single SELECTs in
// one round trip give exactly what each gives alone.
class MysqlBatchTest : public MysqlSessionTest {
 protected:
  static std::unique_ptr<SqlSession> connect_batching() {
    auto driver = make_mysql_driver(params());
    if (!driver) return nullptr;
    EXPECT_TRUE(driver->supports_batching());
    ConnectResult r = driver->connect_batching(socket_host());
    EXPECT_TRUE(r.session) << r.error;
    return std::move(r.session);
  }
  static void setup_table(SqlSession& s) {
    ASSERT_EQ(
        s.query("CREATE TABLE IF NOT EXISTS bt (k VARCHAR(20), v VARCHAR(20))").status,
        QueryStatus::NoResultSet);
    ASSERT_EQ(s.query("DELETE FROM bt").status, QueryStatus::NoResultSet);
    ASSERT_EQ(
        s.query("INSERT INTO bt VALUES ('a','1'),('a','2'),('b',NULL),('c','')").status,
        QueryStatus::NoResultSet);
  }
};

TEST_F(MysqlBatchTest, BatchAnswersEqualSingleAnswers) {
  auto single = connect_socket();
  auto batch = connect_batching();
  ASSERT_TRUE(single);
  ASSERT_TRUE(batch);
  EXPECT_FALSE(single->batching());
  EXPECT_TRUE(batch->batching());
  setup_table(*single);
  std::vector<std::string> sqls = {"SELECT v FROM bt WHERE k='a' ORDER BY v",
                                   "SELECT v FROM bt WHERE k='missing'",
                                   "SELECT v FROM bt WHERE k='b'",
                                   "SELECT v, k FROM bt WHERE k='c'",
                                   "select X'610062'",
                                   "SELECT 'x;y'"};
  std::vector<bool> batchable = {true, true, true, true, true, false};
  for (std::size_t i = 0; i < sqls.size(); ++i) {
    EXPECT_EQ(batch->can_batch(sqls[i]), batchable[i]) << sqls[i];
    EXPECT_FALSE(single->can_batch(sqls[i])) << sqls[i];
  }
  sqls.pop_back();
  BatchResult br = batch->query_batch(sqls);
  EXPECT_TRUE(br.usable) << br.message;
  ASSERT_EQ(br.results.size(), sqls.size()) << br.message;
  for (std::size_t i = 0; i < sqls.size(); ++i) {
    QueryResult alone = single->query(sqls[i]);
    ASSERT_EQ(alone.status, QueryStatus::Rows) << sqls[i];
    EXPECT_EQ(br.results[i].status, QueryStatus::Rows) << sqls[i];
    EXPECT_EQ(br.results[i].rows, alone.rows) << sqls[i];
  }
  // The session stays in step: the next round trip answers normally.
  EXPECT_EQ(scalar(*batch, "SELECT 'after'"), "after");
}

TEST_F(MysqlBatchTest, ServerErrorStopsTheBatchAndKeepsTheSession) {
  auto batch = connect_batching();
  ASSERT_TRUE(batch);
  BatchResult br = batch->query_batch(
      {"SELECT 'one'", "SELECT nosuchcolumn FROM nosuchtable", "SELECT 'three'"});
  EXPECT_TRUE(br.usable);
  ASSERT_EQ(br.results.size(), 1u);
  EXPECT_EQ(br.results[0].rows, (std::vector<SqlRow>{{"one"}}));
  EXPECT_NE(br.message.find("nosuchtable"), std::string::npos) << br.message;
  EXPECT_EQ(scalar(*batch, "SELECT 'still in step'"), "still in step");
}

TEST_F(MysqlBatchTest, StatementWithoutResultSetEndsTheSession) {
  auto batch = connect_batching();
  ASSERT_TRUE(batch);
  // SELECT ... INTO answers OK, not rows: what follows cannot be trusted.
  BatchResult br =
      batch->query_batch({"SELECT 'one'", "SELECT 2 INTO @two", "SELECT 'three'"});
  EXPECT_FALSE(br.usable);
  ASSERT_EQ(br.results.size(), 1u);
  EXPECT_EQ(br.results[0].rows, (std::vector<SqlRow>{{"one"}}));
}

TEST_F(MysqlBatchTest, TextThatCouldBeSeveralStatementsIsNeverSent) {
  auto single = connect_socket();
  auto batch = connect_batching();
  ASSERT_TRUE(single);
  ASSERT_TRUE(batch);
  setup_table(*single);
  // An unquoted %s with the key "1; DELETE FROM bt": a batching session
  // refuses the text without sending it...
  const std::string injected = "SELECT v FROM bt WHERE k=1; DELETE FROM bt";
  EXPECT_FALSE(batch->can_batch(injected));
  QueryResult r = batch->query(injected);
  EXPECT_EQ(r.status, QueryStatus::NeedsSingle);
  BatchResult br = batch->query_batch({"SELECT 1", injected});
  EXPECT_TRUE(br.results.empty());
  EXPECT_EQ(scalar(*single, "SELECT COUNT(*) FROM bt"), "4");
  // ...and a single-statement session (as Postfix's) gets a syntax error.
  r = single->query(injected);
  EXPECT_EQ(r.status, QueryStatus::TempError) << r.message;
  EXPECT_EQ(scalar(*single, "SELECT COUNT(*) FROM bt"), "4");
  // A ';' inside a literal is one statement; on a single session it works.
  EXPECT_EQ(scalar(*single, "SELECT 'x;y'"), "x;y");
}

TEST_F(MysqlSessionTest, NativeSessionGetsTheSameServerSessionAsConnector) {
  // What the server sees of a session (charset, SQL mode, timeouts,
  // autocommit) is the same for the loop session and a worker's, for the
  // charset settings of every release and an option file's default.
  const std::string probe =
      "SELECT @@character_set_client, @@character_set_connection, "
      "@@character_set_results, @@collation_connection, @@sql_mode, @@autocommit, "
      "@@time_zone, @@wait_timeout, @@net_read_timeout, @@net_write_timeout, "
      "@@sql_select_limit, @@max_statement_time, @@tx_isolation, DATABASE(), "
      "SUBSTRING_INDEX(USER(), '@', 1)";
  std::string file = server_->dir() + "/same-latin1.cnf";
  std::ofstream(file) << "[client]\ndefault-character-set = latin1\n";
  std::vector<ConnectParams> variants(4, params());
  variants[1].charset = "latin1";
  variants[2].charset.clear();
  variants[3].charset.clear();
  variants[3].option_file = file;
  for (const ConnectParams& p : variants) {
    ConnectResult worker = make_mysql_driver(p)->connect(socket_host());
    ConnectResult loop = connect_mysql_native(p, socket_host());
    ASSERT_TRUE(worker.session) << worker.error;
    ASSERT_TRUE(loop.session) << loop.error;
    QueryResult want = worker.session->query(probe);
    QueryResult got = loop.session->query(probe);
    ASSERT_EQ(want.status, QueryStatus::Rows) << want.message;
    EXPECT_EQ(got.status, want.status) << got.message;
    EXPECT_EQ(got.rows, want.rows) << "charset '" << p.charset << "'";
  }
}

// The loop session: asynchronous statements, and the pool running lone
// lookups on the test thread with it (loop_queries).
class MysqlLoopTest : public MysqlSessionTest {
 protected:
  static std::unique_ptr<SqlSession> connect_loop(const ConnectParams& p) {
    auto driver = make_mysql_driver(p);
    if (!driver) return nullptr;
    ConnectResult r = driver->connect_loop(socket_host());
    EXPECT_TRUE(r.session) << r.error;
    return std::move(r.session);
  }
  static LoopPool loop_pool(bool on, ConnectParams p = params()) {
    return LoopPool(make_mysql_driver(p), socket_host(), on);
  }
};

TEST_F(MysqlLoopTest, AsyncStatementsAnswerAsQueryDoes) {
  auto s = connect_socket();  // a worker's Connector/C++ session
  auto async = connect_loop(params());
  ASSERT_TRUE(s);
  ASSERT_TRUE(async);
  EXPECT_EQ(s->async_socket(), -1);
  EXPECT_FALSE(async->batching());
  for (const char* sql :
       {"DROP PROCEDURE IF EXISTS a_one", "DROP PROCEDURE IF EXISTS a_two",
        "CREATE PROCEDURE a_one() BEGIN SELECT 'p', NULL; END",
        "CREATE PROCEDURE a_two() BEGIN SELECT 'first'; SELECT 'second'; END",
        "CREATE TABLE IF NOT EXISTS at (k VARCHAR(20), v VARBINARY(20), b BIT(16))",
        "DELETE FROM at",
        "INSERT INTO at VALUES "
        "('a','1',X'4142'),('a',X'00FF',NULL),('b',NULL,X'0041')"}) {
    ASSERT_EQ(s->query(sql).status, QueryStatus::NoResultSet) << sql;
  }
  for (const char* sql :
       {"SELECT v, b FROM at WHERE k = 'a' ORDER BY v",
        "SELECT k, v, b FROM at WHERE k = 'b'", "SELECT v FROM at WHERE k = 'none'",
        "SELECT X'610062', 'caf\xC3\xA9'", "DO 1", "CALL a_one()", "CALL a_two()",
        "SELECT 'after two sets'", "SELEC 1", "SELECT nosuchcolumn FROM at",
        "SELECT 1; SELECT 2", "SELECT 'after errors'"}) {
    QueryResult want = s->query(sql);
    QueryResult got = async_query(*async, sql);
    EXPECT_EQ(got.status, want.status) << sql << ": " << got.message;
    EXPECT_EQ(got.rows, want.rows) << sql;
    if (got.status == QueryStatus::HostError) {  // two sets: that session is done
      async = connect_loop(params());
      s = connect_socket();
      ASSERT_TRUE(async);
      ASSERT_TRUE(s);
    }
  }
  EXPECT_FALSE(async->read_query());  // idle, connection fine
  EXPECT_EQ(scalar(*async, "SELECT 'blocking on the same session'"),
            "blocking on the same session");
  EXPECT_EQ(async_query(*async, "SELECT 'async again'").rows,
            (std::vector<SqlRow>{{"async again"}}));
}

TEST_F(MysqlLoopTest, NoLoopSessionWithTls) {
  ConnectParams p = params();
  p.tls_CAfile = server_->dir() + "/no-such-ca.pem";  // connects in clear (see above)
  ConnectResult r = make_mysql_driver(p)->connect_loop(socket_host());
  EXPECT_FALSE(r.session);
  EXPECT_TRUE(r.error.empty()) << r.error;
  // The pool asks once, then keeps answering on workers.
  LoopPool lp = loop_pool(true, p);
  for (int i = 0; i < 5; ++i) {
    std::string name = fmt::format("t{}", i);
    lp.submit(name, fmt::format("SELECT '{}'", name));
    ASSERT_TRUE(lp.wait_for(name)) << name;
    EXPECT_EQ(lp.got[name], (LookupResult{ProxyStatus::Ok, name}));
  }
  EXPECT_EQ(lp.pool.loop_answered(), 0u);
  EXPECT_EQ(lp.pool.stats().connects, 1u);
  EXPECT_EQ(lp.pool.open_sessions(), 1);
}

TEST_F(MysqlLoopTest, LoopSessionAnswersLoneLookupsWithoutWorkers) {
  for (bool on : {true, false}) {
    LoopPool lp = loop_pool(on);
    for (int i = 0; i < 20; ++i) {
      std::string name = fmt::format("k{}", i);
      lp.submit(name, fmt::format("SELECT '{}'", name));
      ASSERT_TRUE(lp.wait_for(name)) << name;
      EXPECT_EQ(lp.got[name], (LookupResult{ProxyStatus::Ok, name}));
    }
    lp.submit("none", "SELECT 1 FROM DUAL WHERE 1 = 0");
    ASSERT_TRUE(lp.wait_for("none"));
    EXPECT_EQ(lp.got["none"].status, ProxyStatus::NoKey);
    lp.submit("bad", "SELECT nosuchcolumn");  // an SQL error fails only its lookup
    ASSERT_TRUE(lp.wait_for("bad"));
    EXPECT_EQ(lp.got["bad"].status, ProxyStatus::Retry);
    if (on) {
      // The first lookup ran on a worker's Connector/C++ session; that
      // worker then connected a loop session in its place, gave it to the
      // loop and exited: every later one ran on the test thread.
      EXPECT_EQ(lp.pool.loop_answered(), 21u) << "loop_queries = yes";
      EXPECT_EQ(lp.pool.stats().loop_answered, 21u);  // proxyd stats
      EXPECT_EQ(lp.pool.worker_count(), 0);
      EXPECT_EQ(lp.poster.watches_made, 1);
      EXPECT_EQ(lp.pool.stats().connects, 2u);
    } else {
      EXPECT_EQ(lp.pool.loop_answered(), 0u) << "loop_queries = no";
      EXPECT_EQ(lp.pool.worker_count(), 1);
      EXPECT_EQ(lp.pool.stats().connects, 1u);
    }
    EXPECT_EQ(lp.pool.open_sessions(), 1);
    EXPECT_EQ(lp.pool.stats().jobs, 22u);
    lp.pool.shutdown();
    EXPECT_EQ(lp.pool.open_sessions(), 0);
  }
}

TEST_F(MysqlLoopTest, LoopSessionNeverHoldsUpOtherLookups) {
  LoopPool lp = loop_pool(true);
  lp.submit("warm", "SELECT 'warm'");  // a worker connects and hands over
  ASSERT_TRUE(lp.wait_for("warm"));
  lp.submit("slow", "SELECT 'slow', SLEEP(3)");  // on the loop session
  auto start = std::chrono::steady_clock::now();
  lp.submit("fast", "SELECT 'fast'");  // the loop session is busy: a worker
  ASSERT_TRUE(lp.wait_for("fast"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(lp.got.count("slow"), 0u);
  ASSERT_TRUE(lp.wait_for("slow"));
  EXPECT_EQ(lp.got["slow"], (LookupResult{ProxyStatus::Ok, "slow"}));
  EXPECT_EQ(lp.got["fast"], (LookupResult{ProxyStatus::Ok, "fast"}));
  EXPECT_EQ(lp.pool.loop_answered(), 1u);
  EXPECT_LE(lp.pool.stats().sessions_peak, 4);
}

TEST_F(MysqlLoopTest, LoopSessionGoesToAWorkerUnderLoad) {
  LoopPool lp = loop_pool(true);
  lp.submit("warm", "SELECT 'warm'");
  ASSERT_TRUE(lp.wait_for("warm"));
  lp.submit("w1", "SELECT 'w1', SLEEP(1)");  // the pool is idle: the loop
  lp.submit("w2", "SELECT 'w2', SLEEP(2)");  // the loop is busy: a worker
  ASSERT_TRUE(lp.wait_for("w1"));
  EXPECT_EQ(lp.pool.loop_answered(), 1u);
  EXPECT_EQ(lp.pool.worker_count(), 1);
  // A worker is busy: the idle loop session goes to a new worker, which
  // runs "x" on it without connecting again.
  lp.submit("x", "SELECT 'x'");
  ASSERT_TRUE(lp.wait_for("x"));
  EXPECT_EQ(lp.got.count("w2"), 0u);
  EXPECT_EQ(lp.got["x"], (LookupResult{ProxyStatus::Ok, "x"}));
  EXPECT_EQ(lp.pool.loop_answered(), 1u);
  EXPECT_EQ(lp.pool.worker_count(), 2);
  EXPECT_EQ(lp.pool.stats().connects, 3u);  // warm's worker, the loop's, w2's
  EXPECT_EQ(lp.pool.open_sessions(), 2);
  ASSERT_TRUE(lp.wait_for("w2"));
  EXPECT_EQ(lp.got["w2"], (LookupResult{ProxyStatus::Ok, "w2"}));
}

TEST_F(MysqlLoopTest, LoopSessionLostMidLookupHandsItToAWorker) {
  LoopPool lp = loop_pool(true);
  lp.submit("warm", "SELECT 'warm'");
  ASSERT_TRUE(lp.wait_for("warm"));
  auto killer = connect_socket();
  ASSERT_TRUE(killer);
  lp.submit("victim", "SELECT 'victim', SLEEP(1)");  // on the loop session
  std::thread kill([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    QueryResult ids = killer->query(
        "SELECT id FROM information_schema.processlist "
        "WHERE info LIKE '%''victim'', SLEEP%' AND id <> CONNECTION_ID()");
    for (const SqlRow& row : ids.rows) killer->query("KILL " + row[0].value_or("0"));
  });
  bool answered = lp.wait_for("victim", std::chrono::seconds(15));
  kill.join();
  ASSERT_TRUE(answered);
  // Run again by a worker on a fresh session: the same answer.
  EXPECT_EQ(lp.got["victim"], (LookupResult{ProxyStatus::Ok, "victim"}));
  EXPECT_EQ(lp.pool.loop_answered(), 0u);
  EXPECT_GE(lp.pool.stats().connects, 3u);
  lp.submit("after", "SELECT 'after'");
  ASSERT_TRUE(lp.wait_for("after"));
  EXPECT_EQ(lp.got["after"], (LookupResult{ProxyStatus::Ok, "after"}));
}

// Last: kills the shared server and starts it again.
TEST_P(MysqlSessionTypesTest, ServerKilledMidSessionIsHostError) {
  auto sock = connect_socket();
  auto tcp = connect(params(), tcp_host(server_->port()));
  ASSERT_TRUE(sock);
  ASSERT_TRUE(tcp);
  ASSERT_EQ(scalar(*sock, "SELECT 1"), "1");
  server_->kill_now();
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(sock->query("SELECT 1").status, QueryStatus::HostError);
  EXPECT_EQ(tcp->query("SELECT 1").status, QueryStatus::HostError);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  // Escaping needs no round trip; it must not throw either way.
  std::string out;
  (void)sock->escape("x", out);
  ConnectResult r = open(params(), socket_host());
  EXPECT_FALSE(r.session);
  std::string error;
  ASSERT_TRUE(server_->restart(error)) << error;
  auto again = connect_socket();
  ASSERT_TRUE(again);
  EXPECT_EQ(scalar(*again, "SELECT 'back'"), "back");
}

}  // namespace
}  // namespace proxyd::dict
