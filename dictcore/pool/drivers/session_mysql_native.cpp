// The mysql loop session on MariaDB Connector/C (the library Connector/C++
// is built on), so that the event loop can run a lookup without a thread
// hand-off: MYSQL_OPT_NONBLOCK and the *_start/*_cont calls drive one
// statement from socket readiness. The same connection also runs blocking
// statements (query(), on a worker). Results follow Postfix's plmysql_query
// exactly as the Connector/C++ session does: the first result set, every
// column of every row as C strings (NULL kept apart), every further result
// drained, a second result set with data or a client error failing the
// host, a server error (below 2000) failing only the lookup.
#include "dictcore/pool/drivers/session_mysql_native.h"

#include <errno.h>
#include <fmt/format.h>
#include <mysql.h>
#include <string.h>
#include <sys/socket.h>

#include <charconv>
#include <memory>
#include <optional>

#include "dictcore/pool/drivers/mysql_limits.h"

namespace proxyd::dict {
namespace {

// The same bounds as the Connector/C++ sessions.
using mysql_limits::kConnectTimeoutSec;
using mysql_limits::kMaxResultSets;
using mysql_limits::kReadTimeoutSec;
using mysql_limits::kWriteTimeoutSec;

struct MysqlClose {
  void operator()(MYSQL* db) const { mysql_close(db); }
};
struct ResultFree {
  void operator()(MYSQL_RES* res) const { mysql_free_result(res); }
};
using MysqlPtr = std::unique_ptr<MYSQL, MysqlClose>;
using ResultPtr = std::unique_ptr<MYSQL_RES, ResultFree>;

// One statement's results as they come in (Postfix's plmysql_query rules).
struct Collected {
  bool have_first = false;
  bool multiple = false;  // a later result set (with or without rows)
  int sets = 0;
  std::vector<SqlRow> rows;

  void take(MYSQL_RES* res) {
    ++sets;
    if (res == nullptr) return;  // a result without a set (OK packet)
    if (have_first) {
      multiple = true;
      return;
    }
    have_first = true;
    unsigned columns = mysql_num_fields(res);
    while (MYSQL_ROW row = mysql_fetch_row(res)) {
      unsigned long* lengths = mysql_fetch_lengths(res);
      SqlRow out;
      out.reserve(columns);
      for (unsigned c = 0; c < columns; ++c) {
        if (row[c] == nullptr) {
          out.emplace_back(std::nullopt);
        } else {  // a C string to Postfix: an embedded NUL ends it
          out.emplace_back(std::string(row[c], strnlen(row[c], lengths[c])));
        }
      }
      rows.push_back(std::move(out));
    }
  }
};

class NativeMysqlSession final : public SqlSession {
 public:
  NativeMysqlSession(MysqlPtr db, std::string where)
      : db_(std::move(db)), where_(std::move(where)) {}

  ~NativeMysqlSession() override {
    // A broken or mid-statement connection: make mysql_close's goodbye fail
    // at once instead of waiting for a write timeout (it may run on the loop).
    if (db_ && (broken_ || step_ != Step::Idle)) {
      ::shutdown(mysql_get_socket(db_.get()), SHUT_RDWR);
    }
  }

  bool escape(std::string_view text, std::string& out) override {
    if (!db_ || text.size() > (out.max_size() - out.size() - 1) / 2) return false;
    std::string buf(text.size() * 2 + 1, '\0');
    unsigned long n =
        mysql_real_escape_string(db_.get(), buf.data(), text.data(), text.size());
    if (n == static_cast<unsigned long>(-1)) return false;
    out.append(buf.data(), n);
    return true;
  }

  bool usable() const override { return db_ && !broken_; }

  QueryResult query(const std::string& sql) override {
    if (!usable() || step_ != Step::Idle) return fail("connection out of step");
    MYSQL* db = db_.get();
    Collected got;
    if (mysql_real_query(db, sql.data(), sql.size()) != 0) return server_error();
    for (;;) {
      ResultPtr res(mysql_store_result(db));
      if (!res && mysql_errno(db) != 0) return server_error();
      got.take(res.get());
      if (!mysql_more_results(db)) break;
      if (got.sets >= kMaxResultSets) return broken("too many result sets");
      int next = mysql_next_result(db);
      if (next > 0) return server_error();
      if (next < 0) break;
    }
    return complete(got);
  }

  int async_socket() const override {
    return usable() ? static_cast<int>(mysql_get_socket(db_.get())) : -1;
  }

  bool send_query(const std::string& sql) override {
    if (!usable() || step_ != Step::Idle) return false;
    got_ = Collected{};
    step_ = Step::Query;
    int status = mysql_real_query_start(&ret_, db_.get(), sql.data(), sql.size());
    ready_ = pump(status);
    if (ready_ && ready_->status == QueryStatus::HostError && broken_) {
      ready_.reset();  // not sent: the workers run it with failover
      return false;
    }
    return true;
  }

  bool result_ready() const override { return ready_.has_value(); }

  std::optional<QueryResult> read_query() override {
    if (ready_) {
      std::optional<QueryResult> r = std::move(ready_);
      ready_.reset();
      return r;
    }
    if (!usable()) return fail("connection lost");
    MYSQL* db = db_.get();
    switch (step_) {
      case Step::Idle:
        return idle_check();
      case Step::Query:
        return pump(mysql_real_query_cont(&ret_, db, MYSQL_WAIT_READ));
      case Step::Store:
        return pump(mysql_store_result_cont(&res_, db, MYSQL_WAIT_READ));
      case Step::Next:
        return pump(mysql_next_result_cont(&ret_, db, MYSQL_WAIT_READ));
    }
    return std::nullopt;
  }

 private:
  // Where an asynchronous statement is: which call waits for the server.
  enum class Step { Idle, Query, Store, Next };

  // Carry the statement on while calls complete (status 0); nullopt while
  // the library waits for input.
  std::optional<QueryResult> pump(int status) {
    MYSQL* db = db_.get();
    for (;;) {
      if (status != 0) {
        if ((status & MYSQL_WAIT_READ) != 0) return std::nullopt;
        // The loop watches for input only: a statement that cannot be
        // written at once is given up (the caller reruns it on a worker).
        return broken("the client library waits to write");
      }
      switch (step_) {
        case Step::Idle:
          return std::nullopt;
        case Step::Query:
          if (ret_ != 0) return server_error();
          step_ = Step::Store;
          status = mysql_store_result_start(&res_, db);
          break;
        case Step::Store: {
          ResultPtr res(res_);
          res_ = nullptr;
          if (!res && mysql_errno(db) != 0) return server_error();
          got_.take(res.get());
          if (!mysql_more_results(db)) return complete(got_);
          if (got_.sets >= kMaxResultSets) return broken("too many result sets");
          step_ = Step::Next;
          status = mysql_next_result_start(&ret_, db);
          break;
        }
        case Step::Next:
          if (ret_ > 0) return server_error();
          if (ret_ < 0) return complete(got_);
          step_ = Step::Store;
          status = mysql_store_result_start(&res_, db);
          break;
      }
    }
  }

  // Nothing was asked and the socket is readable: the server closed the
  // connection (or said why first). Spurious wake-ups change nothing.
  std::optional<QueryResult> idle_check() {
    char c = 0;
    ssize_t n = ::recv(mysql_get_socket(db_.get()), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      return std::nullopt;
    }
    return broken("the server closed the idle connection");
  }

  QueryResult complete(Collected& got) {
    step_ = Step::Idle;
    // Every result was drained: the host fails, the connection is in step.
    if (got.multiple)
      return fail("multiple result sets returning data are not supported");
    QueryResult r;
    r.status = got.have_first ? QueryStatus::Rows : QueryStatus::NoResultSet;
    r.rows = std::move(got.rows);
    return r;
  }

  // The statement failed: server errors (below 2000: bad SQL, permissions)
  // fail only the lookup, as with the Connector/C++ session; client errors
  // (server gone, lost connection) fail the host.
  QueryResult server_error() {
    step_ = Step::Idle;
    MYSQL* db = db_.get();
    unsigned code = mysql_errno(db);
    QueryResult r = fail(fmt::format("{} (errno {}, SQLSTATE {})", mysql_error(db), code,
                                     mysql_sqlstate(db)));
    r.reason = mysql_error(db);  // Postfix logs mysql_error() alone
    if (code > 0 && code < 2000) {
      r.status = QueryStatus::TempError;
    } else {
      broken_ = true;
    }
    return r;
  }

  // Out of step with the server: the session must be closed.
  QueryResult broken(std::string_view why) {
    broken_ = true;
    step_ = Step::Idle;
    return fail(why);
  }

  QueryResult fail(std::string_view why) const {
    QueryResult r;
    r.status = QueryStatus::HostError;
    r.message = fmt::format("{}: {}", where_, why);
    r.reason = why;
    return r;
  }

  MysqlPtr db_;
  std::string where_;  // "host X database Y", for messages
  bool broken_ = false;
  // The asynchronous statement in progress (send_query/read_query).
  Step step_ = Step::Idle;
  int ret_ = 0;               // result of mysql_real_query/next_result
  MYSQL_RES* res_ = nullptr;  // result of mysql_store_result; owned once read
  Collected got_;
  std::optional<QueryResult> ready_;  // complete before send_query returned
};

// Where to connect, as mysql_real_connect arguments (Postfix's dict_mysql:
// a UNIX socket path, a TCP host and port, or neither: the default socket).
struct Target {
  const char* host = nullptr;
  const char* socket = nullptr;
  unsigned port = 0;
};

std::string target_of(const HostSpec& host, Target& t) {
  switch (host.kind) {
    case HostKind::Unix:
      t.socket = host.name.empty() ? nullptr : host.name.c_str();
      return {};
    case HostKind::Inet: {
      if (host.name.empty()) return {};  // the default socket
      t.host = host.name.c_str();
      if (host.port.empty()) return {};
      const char* end = host.port.data() + host.port.size();
      auto [p, ec] = std::from_chars(host.port.data(), end, t.port);
      if (ec != std::errc() || p != end || t.port > 65535) {
        return fmt::format("bad port '{}'", host.port);
      }
      return {};
    }
    case HostKind::Uri:
      return "connection URIs are not supported by mysql";
  }
  return "unknown host kind";
}

const char* opt(const std::optional<std::string>& s) { return s ? s->c_str() : nullptr; }

// Options in Postfix's order: option file and group, TLS, charset, then
// proxyd's timeouts, no automatic reconnect, and the non-blocking API.
void set_options(MYSQL* db, const ConnectParams& p) {
  if (p.option_file) mysql_options(db, MYSQL_READ_DEFAULT_FILE, p.option_file->c_str());
  if (!p.option_group.empty()) {
    mysql_options(db, MYSQL_READ_DEFAULT_GROUP, p.option_group.c_str());
  }
  if (p.tls_key_file || p.tls_cert_file || p.tls_CAfile || p.tls_CApath ||
      p.tls_ciphers) {
    mysql_ssl_set(db, opt(p.tls_key_file), opt(p.tls_cert_file), opt(p.tls_CAfile),
                  opt(p.tls_CApath), opt(p.tls_ciphers));
  }
  if (p.tls_verify_cert) {
    my_bool verify = *p.tls_verify_cert ? 1 : 0;
    mysql_options(db, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
  }
  if (!p.charset.empty()) mysql_options(db, MYSQL_SET_CHARSET_NAME, p.charset.c_str());
  mysql_options(db, MYSQL_OPT_CONNECT_TIMEOUT, &kConnectTimeoutSec);
  mysql_options(db, MYSQL_OPT_READ_TIMEOUT, &kReadTimeoutSec);
  mysql_options(db, MYSQL_OPT_WRITE_TIMEOUT, &kWriteTimeoutSec);
  my_bool reconnect = 0;  // a lost connection is a failed host
  mysql_options(db, MYSQL_OPT_RECONNECT, &reconnect);
  mysql_options(db, MYSQL_OPT_NONBLOCK, nullptr);
}

}  // namespace

ConnectResult connect_mysql_native(const ConnectParams& params, const HostSpec& host) {
  std::string where = fmt::format("host {} database {}", host.text, params.dbname);
  auto failed = [&](std::string_view why) {
    return ConnectResult{nullptr,
                         fmt::format("connect to mysql server {}: {}", where, why)};
  };
  Target t;
  if (std::string why = target_of(host, t); !why.empty()) return failed(why);
  MysqlPtr db(mysql_init(nullptr));
  if (!db) return failed("out of memory");
  set_options(db.get(), params);
  if (mysql_real_connect(db.get(), t.host, params.user.c_str(), params.password.c_str(),
                         params.dbname.c_str(), t.port, t.socket,
                         CLIENT_MULTI_RESULTS) == nullptr) {
    return failed(
        fmt::format("{} (errno {})", mysql_error(db.get()), mysql_errno(db.get())));
  }
  return ConnectResult{
      std::make_unique<NativeMysqlSession>(std::move(db), std::move(where)), {}};
}

}  // namespace proxyd::dict
