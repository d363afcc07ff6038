// pgsql driver against a private PostgreSQL server: socket, TCP (scram
// password) and URI connections, escaping round trips with
// PQescapeStringConn, NULL read as "" like Postfix's PQgetvalue, statements
// without tuples as empty answers, client encoding, and failures (bad
// password, dead port, bad encoding, query errors, server killed).
// Pipelined batches: same answers as one query each, an error fails only its
// own statement, a connection lost mid-pipeline ends the batch.
// Asynchronous statements (send_query/read_query) answer as query() does,
// and the pool's loop session (loop_queries) answers lone lookups on the
// test thread without a worker, never holds up others, and hands a lookup
// whose connection broke to a worker.
// Needs postgresql (scripts/deps.sh --all); fails, never skips, without it.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "dictcore/pool/drivers/driver_factory.h"
#include "dictcore/pool/session.h"
#include "dictcore/pool/session_pool.h"
#include "tests/fakes/capture_logger.h"
#include "tests/fakes/db_servers.h"
#include "tests/fakes/db_session_fixture.h"
#include "tests/fakes/fake_session.h"
#include "tests/fakes/loop_pool.h"

namespace proxyd::dict {
namespace {

using proxyd::testing::kDbName;
using proxyd::testing::kDbPassword;
using proxyd::testing::kDbUser;
using proxyd::testing::PgServer;
using testing::async_query;
using testing::LoopPool;
using testing::ValueJob;

class PgsqlSessionTest : public testing::DbSessionFixture<PgServer> {
 protected:
  static ConnectParams params() {
    ConnectParams p;
    p.kind = SqlKind::Pgsql;
    p.user = kDbUser;
    p.password = kDbPassword;
    p.dbname = kDbName;
    p.encoding = "UTF8";
    return p;
  }
  static std::string port() { return std::to_string(server_->port()); }
  static HostSpec socket_host() {
    return HostSpec{"unix:" + server_->socket_dir(), HostKind::Unix,
                    server_->socket_dir(), port()};
  }
  static HostSpec uri_host(const std::string& uri) {
    return HostSpec{uri, HostKind::Uri, uri, ""};
  }
  static std::unique_ptr<SqlSession> connect(const ConnectParams& p, const HostSpec& h) {
    ConnectResult r = make_pgsql_driver(p)->connect(h);
    EXPECT_TRUE(r.session) << r.error;
    return std::move(r.session);
  }
  static std::unique_ptr<SqlSession> connect_socket() {
    return connect(params(), socket_host());
  }
};

TEST_F(PgsqlSessionTest, DriverTakesEveryColumn) {
  EXPECT_TRUE(make_pgsql_driver(params())->all_columns());
}

TEST_F(PgsqlSessionTest, ConnectsOverUnixSocket) {
  auto s = connect_socket();
  ASSERT_TRUE(s);
  // inet_server_addr() is NULL (read as "") on a UNIX-socket connection.
  EXPECT_EQ(scalar(*s, "SELECT inet_server_addr()"), "");
  EXPECT_EQ(scalar(*s, "SELECT current_user || '@' || current_database()"),
            std::string(kDbUser) + "@" + kDbName);
}

TEST_F(PgsqlSessionTest, ConnectsOverTcpWithPassword) {
  auto s = connect(params(), tcp_host(server_->port()));
  ASSERT_TRUE(s);
  EXPECT_EQ(scalar(*s, "SELECT host(inet_server_addr())"), "127.0.0.1");
}

TEST_F(PgsqlSessionTest, UriIsUsedVerbatimIgnoringUserPasswordDbname) {
  ConnectParams p = params();
  p.user = "nobody";
  p.password = "wrong";
  p.dbname = "no_such_db";
  std::string uri = "postgresql://" + std::string(kDbUser) + ":" + kDbPassword +
                    "@127.0.0.1:" + port() + "/" + kDbName;
  auto s = connect(p, uri_host(uri));
  ASSERT_TRUE(s);
  EXPECT_EQ(scalar(*s, "SELECT current_user || '@' || current_database()"),
            std::string(kDbUser) + "@" + kDbName);
  // A URI setting still wins over our defaults (connect_timeout et al.).
  auto t = connect(p, uri_host(uri + "?application_name=proxyd_t&connect_timeout=3"));
  ASSERT_TRUE(t);
  EXPECT_EQ(scalar(*t, "SELECT current_setting('application_name')"), "proxyd_t");
}

TEST_F(PgsqlSessionTest, BadPasswordFailsWithoutLeakingIt) {
  ConnectParams p = params();
  p.password = "wrong-Secret-42";
  ConnectResult r = make_pgsql_driver(p)->connect(tcp_host(server_->port()));
  EXPECT_FALSE(r.session);
  EXPECT_NE(r.error.find("127.0.0.1"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find(kDbName), std::string::npos) << r.error;
  EXPECT_EQ(r.error.find("wrong-Secret-42"), std::string::npos) << r.error;
  // Same through a URI: the password in the URI is not repeated either.
  std::string uri = "postgresql://px:wrong-Secret-42@127.0.0.1:" + port() + "/" + kDbName;
  r = make_pgsql_driver(params())->connect(uri_host(uri));
  EXPECT_FALSE(r.session);
  EXPECT_FALSE(r.error.empty());
  EXPECT_EQ(r.error.find("wrong-Secret-42"), std::string::npos) << r.error;
}

TEST_F(PgsqlSessionTest, DeadPortFailsQuickly) {
  auto start = std::chrono::steady_clock::now();
  ConnectResult r =
      make_pgsql_driver(params())->connect(tcp_host(proxyd::testing::dead_port()));
  EXPECT_FALSE(r.session);
  EXPECT_FALSE(r.error.empty());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(PgsqlSessionTest, NonLibpqUriSchemeFailsLikePostfix) {
  // Postfix 3.10+ hands any scheme://... to PQconnectdb, which rejects it.
  ConnectResult r = make_pgsql_driver(params())->connect(uri_host("foo://127.0.0.1/x"));
  EXPECT_FALSE(r.session);
  EXPECT_FALSE(r.error.empty());
}

TEST_F(PgsqlSessionTest, EncodingIsSetAfterConnect) {
  ConnectParams p = params();
  p.encoding = "LATIN1";  // what Postfix 3.7 hard-wires
  auto s = connect(p, socket_host());
  ASSERT_TRUE(s);
  EXPECT_EQ(scalar(*s, "SELECT U&'\\00E9'"), "\xE9");
  auto u = connect_socket();
  ASSERT_TRUE(u);
  EXPECT_EQ(scalar(*u, "SELECT U&'\\00E9'"), "\xC3\xA9");
  p.encoding = "NO_SUCH_ENCODING";
  ConnectResult r = make_pgsql_driver(p)->connect(socket_host());
  EXPECT_FALSE(r.session);
  EXPECT_NE(r.error.find("NO_SUCH_ENCODING"), std::string::npos) << r.error;
}

TEST_F(PgsqlSessionTest, EscapeRoundTripsThroughTheServer) {
  auto s = connect_socket();
  ASSERT_TRUE(s);
  const std::string cases[] = {
      "plain",
      "o'ne\\il\"x",
      "'; DROP TABLE x; --",
      "100% _under_",
      "tab\there\nnewline\rcr",
      "\\'\\\\''",
      "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80",
      "",
  };
  for (const std::string& text : cases) {
    std::string escaped = "prefix:";
    ASSERT_TRUE(s->escape(text, escaped)) << text;
    ASSERT_EQ(escaped.rfind("prefix:", 0), 0u);
    EXPECT_EQ(scalar(*s, "SELECT '" + escaped.substr(7) + "'"), text) << escaped;
  }
}

TEST_F(PgsqlSessionTest, EscapeRejectsInvalidMultibyteInput) {
  // PQescapeStringConn reports an error; Postfix then fails the host.
  auto s = connect_socket();
  ASSERT_TRUE(s);
  std::string out;
  EXPECT_FALSE(s->escape("bad\xFF\xFE utf8", out));
  EXPECT_TRUE(s->usable());  // the key's fault: the lookup fails, the host stays up
  // In dict_pgsql's words (issue 13), with libpq's reason.
  EXPECT_EQ(s->escape_failure(),
            "dict pgsql: (host unix:" + server_->socket_dir() +
                ") cannot escape input string: invalid multibyte character");
  EXPECT_TRUE(s->escape("fine", out));
  EXPECT_EQ(s->escape_failure(), "");
}

TEST_F(PgsqlSessionTest, NullReadsAsEmptyString) {
  auto s = connect_socket();
  ASSERT_TRUE(s);
  QueryResult r = s->query("SELECT 'a',NULL,'','b' UNION ALL SELECT 'c',NULL,NULL,NULL");
  ASSERT_EQ(r.status, QueryStatus::Rows) << r.message;
  std::vector<SqlRow> want = {{"a", "", "", "b"}, {"c", "", "", ""}};
  EXPECT_EQ(r.rows, want);
}

TEST_F(PgsqlSessionTest, MultiRowMultiColumnTable) {
  auto s = connect_socket();
  ASSERT_TRUE(s);
  for (const char* sql :
       {"DROP TABLE IF EXISTS mm", "CREATE TABLE mm (k text, a text, b int)",
        "INSERT INTO mm VALUES ('k','x',1),('k','y',NULL),('other','q',3)"}) {
    QueryResult r = s->query(sql);
    ASSERT_EQ(r.status, QueryStatus::Rows) << sql << ": " << r.message;
    EXPECT_TRUE(r.rows.empty());
  }
  QueryResult r = s->query("SELECT a, b FROM mm WHERE k = 'k' ORDER BY a");
  ASSERT_EQ(r.status, QueryStatus::Rows) << r.message;
  EXPECT_EQ(r.rows, (std::vector<SqlRow>{{"x", "1"}, {"y", ""}}));
  r = s->query("SELECT a FROM mm WHERE k = 'missing'");
  EXPECT_EQ(r.status, QueryStatus::Rows);
  EXPECT_TRUE(r.rows.empty());
}

TEST_F(PgsqlSessionTest, CommandWithoutTuplesIsAnEmptyAnswer) {
  // Postfix accepts PGRES_COMMAND_OK like PGRES_TUPLES_OK; no rows → NOKEY.
  auto s = connect_socket();
  ASSERT_TRUE(s);
  QueryResult r = s->query("SET application_name = 'x'");
  EXPECT_EQ(r.status, QueryStatus::Rows) << r.message;
  EXPECT_TRUE(r.rows.empty());
}

TEST_F(PgsqlSessionTest, SqlErrorsFailOnlyTheLookup) {
  // Postfix marks the host down on any failed PQexec. proxyd shares sessions
  // between tables, so a statement error on a healthy connection fails only
  // that lookup (TempError), and the session stays usable.
  auto s = connect_socket();
  ASSERT_TRUE(s);
  for (const char* sql :
       {"SELEC 1", "SELECT nosuchcolumn FROM nosuchtable", "SELECT 1/0"}) {
    QueryResult r = s->query(sql);
    EXPECT_EQ(r.status, QueryStatus::TempError) << sql;
    EXPECT_NE(r.message.find(server_->socket_dir()), std::string::npos) << r.message;
    EXPECT_NE(r.message.find(kDbName), std::string::npos) << r.message;
    // What Postfix logs after "pgsql query failed: " (issue 13).
    const std::string from =
        "fatal error from host unix:" + server_->socket_dir() + ": ERROR:  ";
    EXPECT_EQ(r.reason.rfind(from, 0), 0u) << r.reason;
    EXPECT_EQ(r.reason.find(kDbName), std::string::npos) << r.reason;
    EXPECT_EQ(scalar(*s, "SELECT 'still usable'"), "still usable");
  }
}

TEST_F(PgsqlSessionTest, UnexpectedResultFailsTheHost) {
  auto s = connect_socket();
  ASSERT_TRUE(s);
  for (const char* sql : {""}) {
    QueryResult r = s->query(sql);
    EXPECT_EQ(r.status, QueryStatus::HostError) << sql;
    EXPECT_NE(r.message.find(server_->socket_dir()), std::string::npos) << r.message;
    EXPECT_NE(r.message.find(kDbName), std::string::npos) << r.message;
  }
}

// Batching sessions (one text per batch; on failure libpq pipeline mode, a
// sync point per statement).
class PgsqlBatchTest : public PgsqlSessionTest {
 protected:
  static std::unique_ptr<SqlSession> connect_batching() {
    auto driver = make_pgsql_driver(params());
    EXPECT_TRUE(driver->supports_batching());
    ConnectResult r = driver->connect_batching(socket_host());
    EXPECT_TRUE(r.session) << r.error;
    return std::move(r.session);
  }
  static void setup_table(SqlSession& s) {
    for (const char* sql :
         {"DROP TABLE IF EXISTS bt", "CREATE TABLE bt (k text, v text)",
          "INSERT INTO bt VALUES ('a','1'),('a','2'),('b',NULL),('c','')"}) {
      ASSERT_EQ(s.query(sql).status, QueryStatus::Rows) << sql;
    }
  }
};

TEST_F(PgsqlBatchTest, BatchAnswersEqualSingleAnswers) {
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
                                   "select U&'\\00E9', NULL, 'x'",
                                   "SELECT 'x;y'"};
  std::vector<bool> batchable = {true, true, true, true, true, false};
  for (std::size_t i = 0; i < sqls.size(); ++i) {
    EXPECT_EQ(batch->can_batch(sqls[i]), batchable[i]) << sqls[i];
    EXPECT_FALSE(single->can_batch(sqls[i])) << sqls[i];
  }
  sqls.pop_back();
  for (int round = 0; round < 2; ++round) {  // the session stays in step
    BatchResult br = batch->query_batch(sqls);
    EXPECT_TRUE(br.usable) << br.message;
    ASSERT_EQ(br.results.size(), sqls.size()) << br.message;
    for (std::size_t i = 0; i < sqls.size(); ++i) {
      QueryResult alone = single->query(sqls[i]);
      ASSERT_EQ(alone.status, QueryStatus::Rows) << sqls[i];
      EXPECT_EQ(br.results[i].status, QueryStatus::Rows) << sqls[i];
      EXPECT_EQ(br.results[i].rows, alone.rows) << sqls[i];
    }
    EXPECT_EQ(scalar(*batch, "SELECT 'after'"), "after");
  }
}

TEST_F(PgsqlBatchTest, OneBadStatementFailsOnlyItself) {
  auto single = connect_socket();
  auto batch = connect_batching();
  ASSERT_TRUE(single);
  ASSERT_TRUE(batch);
  std::vector<std::string> sqls = {"SELECT 'one'", "SELECT nosuchcolumn FROM nosuchtable",
                                   "SELECT 'three'", "SELECT 1/0", "SELECT 'five'"};
  BatchResult br = batch->query_batch(sqls);
  EXPECT_TRUE(br.usable) << br.message;
  ASSERT_EQ(br.results.size(), sqls.size()) << br.message;
  for (std::size_t i = 0; i < sqls.size(); ++i) {
    QueryResult alone = single->query(sqls[i]);
    EXPECT_EQ(br.results[i].status, alone.status) << sqls[i];
    EXPECT_EQ(br.results[i].rows, alone.rows) << sqls[i];
  }
  EXPECT_EQ(br.results[1].status, QueryStatus::TempError);
  EXPECT_NE(br.results[1].message.find("nosuchtable"), std::string::npos)
      << br.results[1].message;
  EXPECT_EQ(br.results[4].rows, (std::vector<SqlRow>{{"five"}}));
  EXPECT_EQ(scalar(*batch, "SELECT 'still in step'"), "still in step");
}

// A batch of good statements is one text, run by the server in one
// implicit transaction: they share its id. A trailing line comment does
// not keep a statement out of the text.
TEST_F(PgsqlBatchTest, GoodStatementsGoAsOneText) {
  auto batch = connect_batching();
  ASSERT_TRUE(batch);
  const std::string xid = "SELECT pg_current_xact_id()::text";
  BatchResult br = batch->query_batch({xid + " -- a comment", "SELECT 'two'", xid});
  EXPECT_TRUE(br.usable) << br.message;
  ASSERT_EQ(br.results.size(), 3u) << br.message;
  ASSERT_EQ(br.results[0].rows.size(), 1u);
  EXPECT_EQ(br.results[0].rows, br.results[2].rows);
  EXPECT_EQ(br.results[1].rows, (std::vector<SqlRow>{{"two"}}));
}

// The server undoes a text's transaction at its first error; every
// statement then runs again on its own, so each one's effects happen once,
// as with one PQexec per lookup.
TEST_F(PgsqlBatchTest, AFailedTextRunsEachStatementOnceOnItsOwn) {
  auto single = connect_socket();
  auto batch = connect_batching();
  ASSERT_TRUE(single);
  ASSERT_TRUE(batch);
  for (const char* sql :
       {"DROP TABLE IF EXISTS bump_log", "CREATE TABLE bump_log (k text)",
        "CREATE OR REPLACE FUNCTION bump(x text) RETURNS text LANGUAGE sql AS "
        "$$ INSERT INTO bump_log VALUES (x) RETURNING x $$"}) {
    ASSERT_EQ(single->query(sql).status, QueryStatus::Rows) << sql;
  }
  const std::string xid = "SELECT pg_current_xact_id()::text";
  BatchResult br = batch->query_batch(
      {"SELECT bump('one')", xid, "SELECT 1/0", xid, "SELECT bump('five')"});
  EXPECT_TRUE(br.usable) << br.message;
  ASSERT_EQ(br.results.size(), 5u) << br.message;
  EXPECT_EQ(br.results[0].rows, (std::vector<SqlRow>{{"one"}}));
  EXPECT_EQ(br.results[2].status, QueryStatus::TempError);
  EXPECT_NE(br.results[1].rows, br.results[3].rows);  // transactions of their own
  EXPECT_EQ(br.results[4].rows, (std::vector<SqlRow>{{"five"}}));
  EXPECT_EQ(scalar(*single, "SELECT string_agg(k, ',' ORDER BY k) FROM bump_log"),
            "five,one");
}

// A statement left open (a quote, a block comment) or ending in a line
// comment cannot swallow the statements after it in a batch text.
TEST_F(PgsqlBatchTest, AStatementLeftOpenCannotSwallowTheNextOne) {
  auto single = connect_socket();
  auto batch = connect_batching();
  ASSERT_TRUE(single);
  ASSERT_TRUE(batch);
  std::vector<std::vector<std::string>> batches = {
      {"SELECT 'a' -- the rest of the line", "SELECT 'b'"},
      {"SELECT 'a' /* open", "SELECT 'b' */ , 'c'", "SELECT 'd'"},
      {"SELECT 'a", "SELECT ' b'", "SELECT 'c'"},
      {"SELECT $x$a", "SELECT $x$ , 'b'"},
  };
  for (const auto& sqls : batches) {
    BatchResult br = batch->query_batch(sqls);
    EXPECT_TRUE(br.usable) << br.message;
    ASSERT_EQ(br.results.size(), sqls.size()) << sqls.front();
    for (std::size_t i = 0; i < sqls.size(); ++i) {
      QueryResult alone = single->query(sqls[i]);
      EXPECT_EQ(br.results[i].status, alone.status) << sqls[i];
      EXPECT_EQ(br.results[i].rows, alone.rows) << sqls[i];
    }
  }
}

TEST_F(PgsqlBatchTest, TextThatCouldBeSeveralStatementsIsNeverSent) {
  auto batch = connect_batching();
  ASSERT_TRUE(batch);
  const std::string two = "SELECT 'x'; SELECT 'y'";
  EXPECT_FALSE(batch->can_batch(two));
  EXPECT_FALSE(batch->can_batch("SET application_name = 'x'"));
  BatchResult br = batch->query_batch({"SELECT 1", two});
  EXPECT_TRUE(br.results.empty());
  EXPECT_TRUE(br.usable);
  // On its own it runs as PQexec runs it (Postfix): the last result set.
  EXPECT_EQ(scalar(*batch, two), "y");
}

TEST_F(PgsqlBatchTest, ConnectionLostMidPipelineEndsTheBatch) {
  auto batch = connect_batching();
  auto killer = connect_socket();
  ASSERT_TRUE(batch);
  ASSERT_TRUE(killer);
  std::optional<std::string> pid = scalar(*batch, "SELECT pg_backend_pid()");
  ASSERT_TRUE(pid);
  std::thread kill([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    killer->query("SELECT pg_terminate_backend(" + *pid + ")");
  });
  BatchResult br = batch->query_batch(
      {"SELECT 'one'", "SELECT 'two', pg_sleep(10)", "SELECT 'three'"});
  kill.join();
  EXPECT_FALSE(br.usable);
  ASSERT_EQ(br.results.size(), 1u) << br.message;
  EXPECT_EQ(br.results[0].rows, (std::vector<SqlRow>{{"one"}}));
  EXPECT_NE(br.message.find(server_->socket_dir()), std::string::npos) << br.message;
  EXPECT_FALSE(batch->usable());
}

TEST_F(PgsqlBatchTest, AsyncStatementsAnswerAsQueryDoes) {
  auto s = connect_socket();
  auto async = connect_batching();  // the loop gets a worker's (batching) session
  ASSERT_TRUE(s);
  ASSERT_TRUE(async);
  setup_table(*s);
  for (const char* sql :
       {"SELECT v FROM bt WHERE k = 'a' ORDER BY v", "SELECT k, v FROM bt WHERE k = 'b'",
        "SELECT v FROM bt WHERE k = 'c'", "SELECT v FROM bt WHERE k = 'none'",
        "SELECT 1/0", "SELECT nosuchcolumn FROM bt", "SELECT 'after errors'"}) {
    QueryResult want = s->query(sql);
    QueryResult got = async_query(*async, sql);
    EXPECT_EQ(got.status, want.status) << sql << ": " << got.message;
    EXPECT_EQ(got.rows, want.rows) << sql;
  }
  // Never a text that could be several statements; nothing was sent.
  EXPECT_FALSE(async->send_query("SELECT 1; SELECT 2"));
  EXPECT_FALSE(async->send_query("DELETE FROM bt"));
  EXPECT_FALSE(async->read_query());  // idle, connection fine
  EXPECT_EQ(scalar(*async, "SELECT 'still in step'"), "still in step");
}

TEST_F(PgsqlBatchTest, LoopSessionAnswersLoneLookupsWithoutWorkers) {
  for (bool on : {true, false}) {
    LoopPool lp(make_pgsql_driver(params()), socket_host(), on);
    for (int i = 0; i < 20; ++i) {
      std::string name = fmt::format("k{}", i);
      lp.submit(name, fmt::format("SELECT '{}'", name));
      ASSERT_TRUE(lp.wait_for(name)) << name;
      EXPECT_EQ(lp.got[name], (LookupResult{ProxyStatus::Ok, name}));
    }
    lp.submit("none", "SELECT 1 WHERE false");
    ASSERT_TRUE(lp.wait_for("none"));
    EXPECT_EQ(lp.got["none"].status, ProxyStatus::NoKey);
    lp.submit("bad", "SELECT 1/0");  // an SQL error fails only its lookup
    ASSERT_TRUE(lp.wait_for("bad"));
    EXPECT_EQ(lp.got["bad"].status, ProxyStatus::Retry);
    if (on) {
      // The first lookup went to a worker, which then gave its session to
      // the loop and exited: every later one ran on the test thread.
      EXPECT_EQ(lp.pool.loop_answered(), 21u) << "loop_queries = yes";
      EXPECT_EQ(lp.pool.stats().loop_answered, 21u);  // proxyd stats
      EXPECT_EQ(lp.pool.worker_count(), 0);
      EXPECT_EQ(lp.poster.watches_made, 1);
    } else {
      EXPECT_EQ(lp.pool.loop_answered(), 0u) << "loop_queries = no";
      EXPECT_EQ(lp.pool.worker_count(), 1);
    }
    EXPECT_EQ(lp.pool.open_sessions(), 1);
    EXPECT_EQ(lp.pool.stats().jobs, 22u);
    lp.pool.shutdown();
    EXPECT_EQ(lp.pool.open_sessions(), 0);
  }
}

TEST_F(PgsqlBatchTest, LoopSessionNeverHoldsUpOtherLookups) {
  LoopPool lp(make_pgsql_driver(params()), socket_host(), true);
  lp.submit("warm", "SELECT 'warm'");  // a worker connects and hands over
  ASSERT_TRUE(lp.wait_for("warm"));
  lp.submit("slow", "SELECT 'slow', pg_sleep(3)");  // on the loop session
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

TEST_F(PgsqlBatchTest, LoopSessionGoesToAWorkerUnderLoad) {
  LoopPool lp(make_pgsql_driver(params()), socket_host(), true);
  lp.submit("warm", "SELECT 'warm'");
  ASSERT_TRUE(lp.wait_for("warm"));
  lp.submit("w1", "SELECT 'w1', pg_sleep(1)");  // the pool is idle: the loop
  lp.submit("w2", "SELECT 'w2', pg_sleep(2)");  // the loop is busy: a worker
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
  EXPECT_EQ(lp.pool.stats().connects, 2u);
  EXPECT_EQ(lp.pool.open_sessions(), 2);
  ASSERT_TRUE(lp.wait_for("w2"));
  EXPECT_EQ(lp.got["w2"], (LookupResult{ProxyStatus::Ok, "w2"}));
}

TEST_F(PgsqlBatchTest, LoopSessionLostMidLookupHandsItToAWorker) {
  LoopPool lp(make_pgsql_driver(params()), socket_host(), true);
  lp.submit("warm", "SELECT 'warm'");
  ASSERT_TRUE(lp.wait_for("warm"));
  auto killer = connect_socket();
  ASSERT_TRUE(killer);
  lp.submit("victim", "SELECT 'victim', pg_sleep(1)");  // on the loop session
  std::thread kill([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    killer->query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE query LIKE '%''victim'', pg_sleep%' AND pid <> pg_backend_pid()");
  });
  bool answered = lp.wait_for("victim", std::chrono::seconds(15));
  kill.join();
  ASSERT_TRUE(answered);
  // Run again by a worker on a fresh session: the same answer.
  EXPECT_EQ(lp.got["victim"], (LookupResult{ProxyStatus::Ok, "victim"}));
  EXPECT_EQ(lp.pool.loop_answered(), 0u);
  EXPECT_GE(lp.pool.stats().connects, 2u);
  lp.submit("after", "SELECT 'after'");
  ASSERT_TRUE(lp.wait_for("after"));
  EXPECT_EQ(lp.got["after"], (LookupResult{ProxyStatus::Ok, "after"}));
}

// Last of its suite: kills the shared server mid-pipeline and starts it again.
TEST_F(PgsqlBatchTest, PoolAnswersRetryAndMarksTheHostDownWhenAPipelineDies) {
  testing::QueuedPoster poster;
  testing::CaptureLogger log;
  SessionPool pool("pgsql:test", make_pgsql_driver(params()), {socket_host()}, true,
                   std::chrono::seconds(60), std::chrono::seconds(60),
                   PoolSettings{1, 4096, 16, 0}, poster, log);
  std::map<std::string, ProxyStatus> got;
  const int group = 0;  // every job may share a pipeline
  auto submit = [&](const std::string& name, const std::string& sql) {
    pool.submit(PoolJob{std::make_unique<ValueJob>(sql, &group),
                        [&got, name](LookupResult r) { got[name] = r.status; }});
  };
  // The one session is busy with "a" while b1..b4 queue: they go out
  // together in one pipeline, in which b2 is still running when the
  // server dies.
  submit("a", "SELECT 'a', pg_sleep(1)");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  submit("b1", "SELECT 'b1'");
  submit("b2", "SELECT 'b2', pg_sleep(10)");
  submit("b3", "SELECT 'b3'");
  submit("b4", "SELECT 'b4'");
  ASSERT_TRUE(poster.run_while_not([&] { return got.count("a") > 0; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  server_->kill_now();
  ASSERT_TRUE(
      poster.run_while_not([&] { return got.size() == 5; }, std::chrono::seconds(20)));
  EXPECT_EQ(got["a"], ProxyStatus::Ok);
  EXPECT_EQ(got["b1"], ProxyStatus::Ok);  // answered before the connection died
  EXPECT_EQ(got["b2"], ProxyStatus::Retry);
  EXPECT_EQ(got["b3"], ProxyStatus::Retry);
  EXPECT_EQ(got["b4"], ProxyStatus::Retry);
  PoolStats st = pool.stats();
  EXPECT_EQ(st.batches, 1u);
  EXPECT_EQ(st.batched, 1u);  // b1; the rest ran again alone
  EXPECT_GE(st.connect_failures, 1u);
  // The host is down for retry_interval: the next lookup gets RETRY at
  // once, without another connection attempt.
  uint64_t failures = st.connect_failures;
  submit("c", "SELECT 'c'");
  ASSERT_TRUE(poster.run_while_not([&] { return got.count("c") > 0; }));
  EXPECT_EQ(got["c"], ProxyStatus::Retry);
  EXPECT_EQ(pool.stats().connect_failures, failures);
  pool.shutdown();
  std::string error;
  ASSERT_TRUE(server_->restart(error)) << error;
}

// Last: kills the shared server and starts it again.
TEST_F(PgsqlSessionTest, ServerKilledMidSessionIsHostError) {
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
  ConnectResult r = make_pgsql_driver(params())->connect(socket_host());
  EXPECT_FALSE(r.session);
  std::string error;
  ASSERT_TRUE(server_->restart(error)) << error;
  auto again = connect_socket();
  ASSERT_TRUE(again);
  EXPECT_EQ(scalar(*again, "SELECT 'back'"), "back");
}

}  // namespace
}  // namespace proxyd::dict
