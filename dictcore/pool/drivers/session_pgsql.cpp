// pgsql driver (the only file that includes libpq-fe.h), reproducing how
// Postfix's dict_pgsql talks to a server: UNIX socket directory or host:port
// with user/password/dbname (PQsetdbLogin semantics), connection URIs passed
// verbatim with user/password/dbname ignored, the client encoding set after
// connect (failure fails the host), keys quoted with PQescapeStringConn,
// PQexec with TUPLES_OK/COMMAND_OK as the only successes (COMMAND_OK is an
// empty answer), every other outcome failing the host, SQL NULL read as ""
// (PQgetvalue). Unlike Postfix, connect_timeout and TCP keepalives are set.
//
// Batching (sessions from connect_batching): several single SELECTs go out
// as one simple-protocol text, each statement on its own after a "\n;"
// separator, and come back as one result each, in order. The server runs
// such a text as one implicit transaction and stops at the first error, so
// unless every statement answers, every answer of the text is dropped and
// each statement runs again with its own sync point in libpq pipeline mode
// (its own implicit transaction, exactly as PQexec would run it, an error
// ending only itself). One text costs the server a third of what a
// pipeline with a sync per statement does.
//
// Asynchronous single statements (send_query/read_query) let the event loop
// run a lookup itself: PQsendQuery with the same simple protocol as PQexec,
// only for texts that are one statement, so exactly one result comes back.
#include <fmt/format.h>
#include <libpq-fe.h>

#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "dictcore/pool/drivers/driver_factory.h"
#include "dictcore/pool/session.h"
#include "dictcore/pool/session_batch.h"
#include "dictcore/util/redact.h"

namespace proxyd::dict {
namespace {

// Seconds a connection attempt may take (libpq connect_timeout); Postfix
// leaves libpq's default, which waits for the kernel (minutes).
constexpr const char* kConnectTimeout = "10";
// TCP keepalive probing, so a vanished server breaks a blocked read within
// about idle + interval * count seconds instead of hours.
constexpr const char* kKeepalivesIdle = "30";
constexpr const char* kKeepalivesInterval = "10";
constexpr const char* kKeepalivesCount = "3";

struct ConnCloser {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnCloser>;

struct ResultClearer {
  void operator()(PGresult* res) const { PQclear(res); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultClearer>;

// libpq messages end with a newline; logs want one line.
std::string one_line(const char* text) {
  std::string s = text != nullptr ? text : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

// libpq's own URI prefixes: only these can be given to PQconnectdbParams
// as an expandable dbname.
bool libpq_uri(const std::string& text) {
  return text.rfind("postgresql://", 0) == 0 || text.rfind("postgres://", 0) == 0;
}

class PgsqlSession final : public SqlSession {
 public:
  PgsqlSession(ConnPtr conn, std::string where, std::string host, bool batching)
      : conn_(std::move(conn)),
        where_(std::move(where)),
        host_(std::move(host)),
        batching_(batching) {}

  bool escape(std::string_view text, std::string& out) override {
    escape_failure_.clear();
    if (text.size() > (out.max_size() - out.size() - 1) / 2) return false;
    try {
      std::string buf(2 * text.size() + 1, '\0');
      int error = 1;
      std::size_t n =
          PQescapeStringConn(conn_.get(), buf.data(), text.data(), text.size(), &error);
      // An invalid multibyte sequence for the client encoding; usable()
      // tells that from a dead connection.
      if (error != 0) {
        escape_failure_ =
            fmt::format("dict pgsql: (host {}) cannot escape input string: {}", host_,
                        one_line(PQerrorMessage(conn_.get())));
        return false;
      }
      out.append(buf.data(), n);
      return true;
    } catch (const std::exception&) {
      return false;  // no log: the caller fails the lookup and reports it
    }
  }

  std::string escape_failure() const override { return escape_failure_; }

  bool usable() const override { return PQstatus(conn_.get()) == CONNECTION_OK; }

  QueryResult query(const std::string& sql) override {
    QueryResult result;
    try {
      run(sql, result);
    } catch (const std::exception& e) {
      fail(result, e.what());
    }
    return result;
  }

  bool batching() const override { return batching_; }

  // Only single SELECTs: a text that could hold several statements would
  // answer more than once in a batch text, and the extended protocol of the
  // re-run refuses it, where PQexec would run them all.
  bool can_batch(const std::string& sql) const override {
    return batching_ && single_select_statement(sql);
  }

  int async_socket() const override { return PQsocket(conn_.get()); }

  bool send_query(const std::string& sql) override {
    if (sending_ || !single_select_statement(sql)) return false;
    if (PQsendQuery(conn_.get(), sql.c_str()) != 1) return false;
    sending_ = true;
    last_.reset();
    return true;
  }

  std::optional<QueryResult> read_query() override {
    QueryResult result;
    if (PQconsumeInput(conn_.get()) != 1) {
      sending_ = false;
      last_.reset();
      fatal(result, one_line(PQerrorMessage(conn_.get())));
      return result;
    }
    if (!sending_) {
      // Nothing asked: only a notice or the end of the connection can come.
      while (!PQisBusy(conn_.get())) {
        ResultPtr stray(PQgetResult(conn_.get()));
        if (!stray) break;
      }
      if (PQstatus(conn_.get()) == CONNECTION_OK) return std::nullopt;
      fail(result, "connection closed");
      return result;
    }
    // Like PQexec: the last result, once libpq has seen the end of them.
    while (!PQisBusy(conn_.get())) {
      ResultPtr res(PQgetResult(conn_.get()));
      if (!res) {
        sending_ = false;
        if (!last_) {
          fatal(result, one_line(PQerrorMessage(conn_.get())));
        } else {
          interpret(last_.get(), result);
        }
        last_.reset();
        return result;
      }
      last_ = std::move(res);
    }
    return std::nullopt;
  }

  BatchResult query_batch(const std::vector<std::string>& sqls) override {
    BatchResult out;
    for (const std::string& sql : sqls) {
      if (!can_batch(sql)) {  // the caller broke the contract: send nothing
        out.message = "statement not allowed in a batch";
        return out;
      }
    }
    try {
      if (!run_text(sqls, out)) run_pipeline(sqls, out);
    } catch (const std::exception& e) {
      out.usable = false;
      out.message = fmt::format("{}: {}", where_, e.what());
    }
    // Whatever happened, the session leaves pipeline mode or is dropped.
    if (out.usable && PQexitPipelineMode(conn_.get()) != 1) {
      out.usable = false;
      out.message = fmt::format("{}: cannot leave pipeline mode: {}", where_,
                                one_line(PQerrorMessage(conn_.get())));
    }
    return out;
  }

 private:
  // True for an error the server reported about the statement itself:
  // it carries a SQLSTATE outside connection exceptions (08) and operator
  // intervention (57, e.g. shutdown). libpq's own errors carry none.
  static bool is_sql_error(const PGresult* res) {
    const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (state == nullptr || std::strlen(state) != 5) return false;
    return std::strncmp(state, "08", 2) != 0 && std::strncmp(state, "57", 2) != 0;
  }

  void fail(QueryResult& result, std::string_view why) const {
    result.status = QueryStatus::HostError;
    result.rows.clear();
    result.message = fmt::format("{}: {}", where_, why);
    result.reason = fmt::format("fatal error from host {}: {}", host_, why);
  }

  // A failure libpq or the server explained (Postfix: "fatal error from
  // host H: MSG").
  void fatal(QueryResult& result, std::string_view why) const {
    fail(result, why);
    result.message = fmt::format("{}: fatal error: {}", where_, why);
  }

  void run(const std::string& sql, QueryResult& result) {
    ResultPtr res(PQexec(conn_.get(), sql.c_str()));
    if (!res) {
      fatal(result, one_line(PQerrorMessage(conn_.get())));
      return;
    }
    interpret(res.get(), result);
  }

  // Every statement in one text. False when the statements must run again
  // on their own: the text failed or answered other than once per
  // statement; out.results is then empty. True when out is final: every
  // statement answered, or the connection broke (out.results then holds the
  // statements answered before it).
  bool run_text(const std::vector<std::string>& sqls, BatchResult& out) {
    PGconn* conn = conn_.get();
    std::size_t size = 0;
    for (const std::string& sql : sqls) size += sql.size() + 3;
    std::string text;
    text.reserve(size);
    for (const std::string& sql : sqls) {
      // The newline ends a trailing "--" comment; a text left open in a
      // quote or a block comment swallows the separator, and the answer
      // count below shows it.
      if (!text.empty()) text += "\n;\n";
      text += sql;
    }
    if (PQsendQuery(conn, text.c_str()) != 1) {
      lost(out, "cannot send a batch");
      return true;
    }
    bool clean = true;
    std::size_t answers = 0;
    while (ResultPtr res{PQgetResult(conn)}) {  // null once the server is ready
      ++answers;
      if (!clean) continue;
      QueryResult r;
      interpret(res.get(), r);
      if (r.status != QueryStatus::Rows || answers > sqls.size()) {
        clean = false;
        if (PQstatus(conn) != CONNECTION_OK) lost(out, r.message);
        continue;
      }
      out.results.push_back(std::move(r));
    }
    if (!out.usable || PQstatus(conn) != CONNECTION_OK) {
      if (out.usable) lost(out, "connection lost in a batch");
      return true;
    }
    if (clean && answers == sqls.size()) return true;
    out.results.clear();
    return false;
  }

  // Send every statement with a sync point after each, then read the
  // answers: per statement its result, the end of its results (null) and
  // the sync. Stops at the first answer that leaves the connection in
  // doubt; out.results then holds the statements answered before it.
  void run_pipeline(const std::vector<std::string>& sqls, BatchResult& out) {
    PGconn* conn = conn_.get();
    if (PQenterPipelineMode(conn) != 1) {
      lost(out, "cannot enter pipeline mode");
      return;
    }
    for (const std::string& sql : sqls) {
      if (PQsendQueryParams(conn, sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr,
                            0) != 1 ||
          PQpipelineSync(conn) != 1) {
        lost(out, "cannot send a pipelined statement");
        return;
      }
    }
    for (std::size_t i = 0; i < sqls.size(); ++i) {
      ResultPtr res(PQgetResult(conn));
      if (!res) {
        lost(out, "missing pipelined result");
        return;
      }
      QueryResult r;
      interpret(res.get(), r);
      ResultPtr end(PQgetResult(conn));  // null after each statement's results
      ResultPtr sync(end ? nullptr : PQgetResult(conn));
      bool in_step = !end && sync && PQresultStatus(sync.get()) == PGRES_PIPELINE_SYNC;
      if (r.status == QueryStatus::HostError || !in_step) {
        lost(out,
             r.status == QueryStatus::HostError ? r.message : "pipeline out of step");
        return;
      }
      out.results.push_back(std::move(r));
    }
  }

  // The connection can no longer be trusted: the batch ends here.
  void lost(BatchResult& out, std::string_view why) const {
    out.usable = false;
    out.message = why.rfind(where_, 0) == 0
                      ? std::string(why)
                      : fmt::format("{}: {}: {}", where_, why,
                                    one_line(PQerrorMessage(conn_.get())));
  }

  // One statement's result as PQexec would have given it.
  void interpret(const PGresult* res, QueryResult& result) const {
    ExecStatusType status = PQresultStatus(res);
    switch (status) {
      case PGRES_TUPLES_OK:
        break;
      case PGRES_COMMAND_OK:
        // Postfix accepts a statement without tuples as a successful lookup
        // that found nothing (no require_result_set for pgsql).
        result.status = QueryStatus::Rows;
        return;
      case PGRES_FATAL_ERROR:
        fatal(result, one_line(PQresultErrorMessage(res)));
        // An SQL error on a healthy connection fails this lookup only (RETRY),
        // not the host: with sessions shared by every table on the database,
        // Postfix's "mark the host down" would let one bad key take the
        // database away from all tables. A broken connection still does.
        if (PQstatus(conn_.get()) == CONNECTION_OK && is_sql_error(res)) {
          result.status = QueryStatus::TempError;
        }
        return;
      case PGRES_BAD_RESPONSE:
        fail(result, "protocol error");
        result.reason = fmt::format("protocol error, host {}", host_);
        return;
      default:
        fail(result, fmt::format("unexpected result status {}", PQresStatus(status)));
        result.reason = fmt::format("unknown code 0x{:x} from host {}",
                                    static_cast<unsigned long>(status), host_);
        return;
    }
    const int rows = PQntuples(res);
    const int columns = PQnfields(res);
    result.rows.reserve(static_cast<std::size_t>(rows));
    for (int r = 0; r < rows; ++r) {
      SqlRow row;
      row.reserve(static_cast<std::size_t>(columns));
      for (int c = 0; c < columns; ++c) {
        // PQgetvalue gives "" for NULL, and Postfix reads the value as a C
        // string; text results cannot hold a NUL anyway.
        row.emplace_back(std::string(PQgetvalue(res, r, c)));
      }
      result.rows.push_back(std::move(row));
    }
    result.status = QueryStatus::Rows;
  }

  ConnPtr conn_;
  std::string where_;  // "host X database Y", for messages
  std::string host_;   // the hosts entry as written (redacted), Postfix's host name
  std::string escape_failure_;  // why the last escape failed, Postfix's words
  bool batching_;               // opened by connect_batching: query_batch allowed
  bool sending_ = false;        // send_query sent a statement not read back yet
  ResultPtr last_;              // its latest result, while more may follow
};

class PgsqlDriver final : public SqlDriver {
 public:
  explicit PgsqlDriver(const ConnectParams& params) : params_(params) {}

  ConnectResult connect(const HostSpec& host) override {
    return open_session(host, false);
  }

  // libpq pipelines need no special connection: the flag only allows them.
  bool supports_batching() const override { return true; }
  ConnectResult connect_batching(const HostSpec& host) override {
    return open_session(host, true);
  }

  bool all_columns() const override { return true; }

 private:
  ConnectResult open_session(const HostSpec& host, bool batching) {
    // dbname may be a conninfo string, and a URI may carry a password.
    std::string where = redact_secrets(
        host.kind == HostKind::Uri
            ? fmt::format("host {}", host.name)
            : fmt::format("host {} database {}", host.text, params_.dbname));
    ConnPtr conn;
    try {
      conn = open(host);
    } catch (const std::exception& e) {
      return ConnectResult{
          nullptr, fmt::format("connect to pgsql server {}: {}", where, e.what())};
    }
    if (!conn) {
      return ConnectResult{
          nullptr, fmt::format("connect to pgsql server {}: out of memory", where)};
    }
    if (PQstatus(conn.get()) != CONNECTION_OK) {
      return ConnectResult{nullptr,
                           fmt::format("connect to pgsql server {}: {}", where,
                                       redact_value(one_line(PQerrorMessage(conn.get())),
                                                    params_.password))};
    }
    // Server NOTICEs and WARNINGs would go to stderr by default; a lookup
    // has no use for them.
    PQsetNoticeProcessor(
        conn.get(), [](void*, const char*) {}, nullptr);
    if (!params_.encoding.empty() &&
        PQsetClientEncoding(conn.get(), params_.encoding.c_str()) != 0) {
      return ConnectResult{
          nullptr, fmt::format("pgsql server {}: cannot set the encoding to {}", where,
                               params_.encoding)};
    }
    return ConnectResult{
        std::make_unique<PgsqlSession>(std::move(conn), std::move(where),
                                       redact_secrets(host.text), batching),
        {}};
  }

  ConnPtr open(const HostSpec& host) const {
    std::vector<const char*> keys;
    std::vector<const char*> values;
    auto add = [&](const char* k, const char* v) {
      keys.push_back(k);
      values.push_back(v);
    };
    // Our defaults first: a URI (or a conninfo dbname) processed later
    // overrides them, like libpq's keyword order rules say.
    add("connect_timeout", kConnectTimeout);
    add("keepalives_idle", kKeepalivesIdle);
    add("keepalives_interval", kKeepalivesInterval);
    add("keepalives_count", kKeepalivesCount);
    if (host.kind == HostKind::Uri) {
      // host.name is the URI as written; host.text has its password redacted.
      if (!libpq_uri(host.name)) {
        // Any other scheme: exactly what Postfix does, and libpq rejects it.
        return ConnPtr(PQconnectdb(host.name.c_str()));
      }
      add("dbname", host.name.c_str());
    } else {
      // PQsetdbLogin semantics: a dbname that is itself a conninfo string is
      // expanded, and the non-empty explicit settings override its values.
      add("dbname", params_.dbname.c_str());
      add("host", host.name.c_str());
      add("port", host.port.c_str());
      add("user", params_.user.c_str());
      add("password", params_.password.c_str());
    }
    add(nullptr, nullptr);
    return ConnPtr(PQconnectdbParams(keys.data(), values.data(), 1));
  }

  ConnectParams params_;
};

}  // namespace

std::unique_ptr<SqlDriver> make_pgsql_driver(const ConnectParams& params) {
  return std::make_unique<PgsqlDriver>(params);
}

}  // namespace proxyd::dict
