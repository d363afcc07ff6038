// mysql driver (the only file that includes Connector/C++ headers),
// reproducing how Postfix's dict_mysql talks to a server: UNIX socket, TCP or
// the library's default socket ("localhost"), CLIENT_MULTI_RESULTS, the
// option_file/option_group, tls_* and charset settings (a charset the server
// refuses fails the connection, as in 3.9+), keys quoted with the live
// connection's mysql_real_escape_string, only the first result set kept and
// the rest drained, a second result set with data or any error failing the
// host. Unlike Postfix, connect/read/write timeouts bound a dead server.
// Batching sessions (proxyd's own addition) also set CLIENT_MULTI_STATEMENTS
// and send several single-SELECT lookups as one text; they refuse every
// text that could hold more than one statement (see session_batch.h).
#include <cppconn/exception.h>
#include <cppconn/resultset.h>
#include <cppconn/resultset_metadata.h>
#include <cppconn/statement.h>
#include <fmt/format.h>
#include <mysql_connection.h>
#include <mysql_driver.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <exception>
#include <memory>

#include "dictcore/pool/drivers/driver_factory.h"
#include "dictcore/pool/drivers/mysql_limits.h"
#include "dictcore/pool/drivers/session_mysql_native.h"
#include "dictcore/pool/session.h"
#include "dictcore/pool/session_batch.h"

namespace proxyd::dict {
namespace {

using mysql_limits::kMaxResultSets;

// The value as Postfix sees it: a C string, so an embedded NUL ends it.
std::string c_string(const std::string& bytes) {
  std::size_t nul = bytes.find('\0');
  return nul == std::string::npos ? bytes : bytes.substr(0, nul);
}

// Connector/C++ 1.1 hands out owning raw pointers; hold each in a unique_ptr.
using StatementPtr = std::unique_ptr<sql::Statement>;
using ResultSetPtr = std::unique_ptr<sql::ResultSet>;

class MysqlSession final : public SqlSession {
 public:
  MysqlSession(std::unique_ptr<sql::Connection> conn, std::string where, bool batching)
      : conn_(std::move(conn)), where_(std::move(where)), batching_(batching) {}

  ~MysqlSession() override {
    try {
      conn_.reset();  // mysql_close; never let a library exception escape
    } catch (...) {
    }
  }

  bool escape(std::string_view text, std::string& out) override {
    if (text.size() > (out.max_size() - out.size() - 1) / 2) return false;
    try {
      auto* native = dynamic_cast<sql::mysql::MySQL_Connection*>(conn_.get());
      if (native == nullptr) return false;
      // The connector returns the escaped length as reported by
      // mysql_real_escape_string; its error value (-1) makes the string
      // constructor throw, which lands below.
      sql::SQLString escaped = native->escapeString(sql::SQLString(std::string(text)));
      out.append(escaped.asStdString());
      return true;
    } catch (...) {
      return false;  // no log: the caller fails the lookup and reports it
    }
  }

  bool usable() const override {
    try {
      return conn_ && !conn_->isClosed();  // the connector's own flag, no round trip
    } catch (...) {
      return false;  // no log: the pool closes the session and logs the reconnect
    }
  }

  QueryResult query(const std::string& sql_text) override {
    QueryResult result;
    // With CLIENT_MULTI_STATEMENTS the server would split this text at each
    // ';' outside a literal; without it (Postfix) the text is one statement
    // or an error. Only texts that cannot be several statements run here.
    if (batching_ && !single_statement_text(sql_text)) {
      result.status = QueryStatus::NeedsSingle;
      return result;
    }
    try {
      run(sql_text, result);
    } catch (const sql::SQLException& e) {
      fail(result, fmt::format("{} (errno {}, SQLSTATE {})", e.what(), e.getErrorCode(),
                               e.getSQLState()));
      result.reason = e.what();  // Postfix logs mysql_error() alone
      // Server errors (codes below 2000: bad SQL, conversion, permissions)
      // leave the connection usable. Postfix marks the host down for them
      // too, but with sessions shared by every table on the database that
      // would let one bad key take the database away from all tables:
      // only this lookup fails (RETRY). Client errors (2000+: server gone,
      // lost connection) still mark the host down.
      if (e.getErrorCode() > 0 && e.getErrorCode() < 2000)
        result.status = QueryStatus::TempError;
    } catch (const std::exception& e) {
      fail(result, e.what());
    } catch (...) {
      fail(result, "unknown error from the MySQL client library");
    }
    return result;
  }

  bool batching() const override { return batching_; }

  bool can_batch(const std::string& sql_text) const override {
    return batching_ && single_select_statement(sql_text);
  }

  BatchResult query_batch(const std::vector<std::string>& sqls) override {
    BatchResult out;
    std::string text;
    for (const std::string& sql_text : sqls) {
      if (!can_batch(sql_text)) {  // the caller broke the contract: send nothing
        out.message = "statement not allowed in a batch";
        return out;
      }
      if (!text.empty()) text.push_back(';');
      text += sql_text;
    }
    try {
      StatementPtr stmt(conn_->createStatement());
      bool is_result_set = stmt->execute(sql::SQLString(text));
      for (std::size_t i = 0; i < sqls.size(); ++i) {
        if (i > 0) is_result_set = stmt->getMoreResults();
        if (!is_result_set) {
          // A SELECT ... INTO answered OK, not rows: the connector cannot
          // tell that from the end of the results, so the rest of the
          // replies may still be unread. Drop the connection.
          out.usable = false;
          out.message = "a batched statement returned no result set";
          return out;
        }
        ResultSetPtr rs(stmt->getResultSet());
        if (!rs) {
          out.usable = false;
          out.message = "a batched statement returned no result set";
          return out;
        }
        QueryResult r;
        r.status = QueryStatus::Rows;
        collect(*rs, r.rows);
        out.results.push_back(std::move(r));
      }
      if (stmt->getMoreResults()) {  // more results than statements: out of step
        out.usable = false;
        out.message = "more results than batched statements";
      }
    } catch (const sql::SQLException& e) {
      // A server error stops the batch at that statement and leaves the
      // connection usable; client errors (2000+) mean it is gone.
      out.usable = e.getErrorCode() > 0 && e.getErrorCode() < 2000;
      out.message = fmt::format("{}: {} (errno {}, SQLSTATE {})", where_, e.what(),
                                e.getErrorCode(), e.getSQLState());
    } catch (const std::exception& e) {
      out.usable = false;
      out.message = fmt::format("{}: {}", where_, e.what());
    } catch (...) {
      out.usable = false;
      out.message =
          fmt::format("{}: unknown error from the MySQL client library", where_);
    }
    return out;
  }

 private:
  void fail(QueryResult& result, std::string_view why) const {
    result.status = QueryStatus::HostError;
    result.rows.clear();
    result.message = fmt::format("{}: {}", where_, why);
    result.reason = why;
  }

  static void collect(sql::ResultSet& rs, std::vector<SqlRow>& rows) {
    sql::ResultSetMetaData* meta = rs.getMetaData();
    const unsigned columns = meta->getColumnCount();
    // Byte width of each BIT column (0 for other types): the connector turns
    // BIT values into decimal text, Postfix sees the raw big-endian bytes.
    std::vector<unsigned> bit_bytes(columns + 1, 0);
    for (unsigned c = 1; c <= columns; ++c) {
      if (meta->getColumnTypeName(c).asStdString() == "BIT") {
        bit_bytes[c] = std::min(8u, (meta->getColumnDisplaySize(c) + 7) / 8);
      }
    }
    while (rs.next()) {
      SqlRow row;
      row.reserve(columns);
      for (unsigned c = 1; c <= columns; ++c) {
        if (bit_bytes[c] != 0) {
          uint64_t bits = rs.getUInt64(c);
          if (rs.wasNull()) {
            row.emplace_back(std::nullopt);
            continue;
          }
          std::string raw;
          for (unsigned i = bit_bytes[c]; i-- > 0;) {
            raw.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
          }
          row.emplace_back(c_string(raw));
          continue;
        }
        sql::SQLString value = rs.getString(c);
        if (rs.wasNull()) {
          row.emplace_back(std::nullopt);
        } else {
          row.emplace_back(c_string(value.asStdString()));
        }
      }
      rows.push_back(std::move(row));
    }
  }

  // Postfix's plmysql_query: keep the first result set, drain every further
  // result, and fail when a second result set carries data.
  void run(const std::string& sql_text, QueryResult& result) {
    StatementPtr stmt(conn_->createStatement());
    bool have_first = false;
    bool multiple = false;
    bool drained = false;
    bool is_result_set = stmt->execute(sql::SQLString(sql_text));
    for (int n = 0; n < kMaxResultSets; ++n) {
      if (is_result_set) {
        ResultSetPtr rs(stmt->getResultSet());
        if (rs) {
          if (!have_first) {
            collect(*rs, result.rows);
            have_first = true;
          } else {
            multiple = true;
          }
        }
      }
      // Without CLIENT_MULTI_STATEMENTS only CALL yields more than one
      // result, and its trailing status result is the last one: false here
      // means nothing is left to drain.
      is_result_set = stmt->getMoreResults();
      if (!is_result_set) {
        drained = true;
        break;
      }
    }
    if (!drained) {
      fail(result, "too many result sets");  // the connection is out of sync
      return;
    }
    if (multiple) {
      fail(result, "multiple result sets returning data are not supported");
      return;
    }
    result.status = have_first ? QueryStatus::Rows : QueryStatus::NoResultSet;
  }

  std::unique_ptr<sql::Connection> conn_;
  std::string where_;  // "host X database Y", for messages
  bool batching_;      // opened with CLIENT_MULTI_STATEMENTS
};

class MysqlDriver final : public SqlDriver {
 public:
  MysqlDriver(sql::mysql::MySQL_Driver& driver, const ConnectParams& params)
      : driver_(driver), params_(params) {}

  ConnectResult connect(const HostSpec& host) override { return open(host, false); }

  bool supports_batching() const override { return true; }

  ConnectResult connect_batching(const HostSpec& host) override {
    return open(host, true);
  }

  // The loop session runs on MariaDB Connector/C's non-blocking API
  // (Connector/C++ has none); worker sessions stay on Connector/C++. Not
  // with TLS: data the TLS layer reads ahead on an idle connection could
  // not be told from a server closing it.
  ConnectResult connect_loop(const HostSpec& host) override {
    if (params_.tls_key_file || params_.tls_cert_file || params_.tls_CAfile ||
        params_.tls_CApath || params_.tls_ciphers ||
        params_.tls_verify_cert.value_or(false)) {
      return {};
    }
    return connect_mysql_native(params_, host);
  }

  bool all_columns() const override { return true; }

  void thread_init() override { driver_.threadInit(); }
  void thread_end() override { driver_.threadEnd(); }

 private:
  ConnectResult open(const HostSpec& host, bool batching) {
    std::string where = fmt::format("host {} database {}", host.text, params_.dbname);
    sql::ConnectOptionsMap options;
    if (std::string why = host_options(host, options); !why.empty()) {
      return ConnectResult{nullptr,
                           fmt::format("connect to mysql server {}: {}", where, why)};
    }
    options["userName"] = params_.user;
    options["password"] = params_.password;
    options["schema"] = params_.dbname;
    // The connector sets MYSQL_SET_CHARSET_NAME before connecting, so a
    // charset the server does not know fails the connection. Results use the
    // same charset (the connector would otherwise force utf8mb4 on them).
    if (!params_.charset.empty()) {
      options["OPT_CHARSET_NAME"] = params_.charset;
      options["characterSetResults"] = params_.charset;
    }
    if (params_.option_file) options["readDefaultFile"] = *params_.option_file;
    if (!params_.option_group.empty()) options["readDefaultGroup"] = params_.option_group;
    // Any tls_* setting enables SSL (mysql_ssl_set inside the connector).
    if (params_.tls_key_file) options["sslKey"] = *params_.tls_key_file;
    if (params_.tls_cert_file) options["sslCert"] = *params_.tls_cert_file;
    if (params_.tls_CAfile) options["sslCA"] = *params_.tls_CAfile;
    if (params_.tls_CApath) options["sslCAPath"] = *params_.tls_CApath;
    if (params_.tls_ciphers) options["sslCipher"] = *params_.tls_ciphers;
    if (params_.tls_verify_cert) options["sslVerify"] = *params_.tls_verify_cert;
    options["OPT_CONNECT_TIMEOUT"] = static_cast<int>(mysql_limits::kConnectTimeoutSec);
    options["OPT_READ_TIMEOUT"] = static_cast<int>(mysql_limits::kReadTimeoutSec);
    options["OPT_WRITE_TIMEOUT"] = static_cast<int>(mysql_limits::kWriteTimeoutSec);
    options["OPT_RECONNECT"] = false;  // a lost connection is a failed host
    // Connector/C++ 1.1 always connects with CLIENT_MULTI_RESULTS, as
    // Postfix does; only batching sessions add CLIENT_MULTI_STATEMENTS.
    if (batching) options["CLIENT_MULTI_STATEMENTS"] = true;
    try {
      std::unique_ptr<sql::Connection> conn(driver_.connect(options));
      if (!conn) {
        return ConnectResult{
            nullptr, fmt::format("connect to mysql server {}: no connection", where)};
      }
      return ConnectResult{
          std::make_unique<MysqlSession>(std::move(conn), std::move(where), batching),
          {}};
    } catch (const sql::SQLException& e) {
      return ConnectResult{nullptr,
                           fmt::format("connect to mysql server {}: {} (errno {})", where,
                                       e.what(), e.getErrorCode())};
    } catch (const std::exception& e) {
      return ConnectResult{
          nullptr, fmt::format("connect to mysql server {}: {}", where, e.what())};
    } catch (...) {
      return ConnectResult{
          nullptr, fmt::format("connect to mysql server {}: unknown error", where)};
    }
  }

  // Where to connect, as connector options; a non-empty return is an error.
  static std::string host_options(const HostSpec& host, sql::ConnectOptionsMap& options) {
    switch (host.kind) {
      case HostKind::Unix:
        // An empty path means the library's default socket (Postfix's
        // "localhost"); the connector passes "" on as NULL.
        options["socket"] = host.name;
        return {};
      case HostKind::Inet: {
        if (host.name.empty()) {
          // mysql_real_connect with an empty host name uses the default
          // socket, which is what Postfix gets for "inet:" or ":port".
          options["socket"] = std::string();
          return {};
        }
        // The connector parses hostName as a URI; brackets keep the name
        // (an IPv6 address, say) away from its ':' and '/' handling.
        if (host.name.find_first_of("[]") != std::string::npos) {
          return fmt::format("bad host name '{}'", host.name);
        }
        options["hostName"] = "tcp://[" + host.name + "]";
        int port = 0;  // 0: the library default (3306 or the option file's)
        if (!host.port.empty()) {
          auto [end, ec] = std::from_chars(host.port.data(),
                                           host.port.data() + host.port.size(), port);
          if (ec != std::errc() || end != host.port.data() + host.port.size() ||
              port < 0 || port > 65535) {
            return fmt::format("bad port '{}'", host.port);
          }
        }
        options["port"] = port;
        return {};
      }
      case HostKind::Uri:
        return "connection URIs are not supported by mysql";
    }
    return "unknown host kind";
  }

  sql::mysql::MySQL_Driver& driver_;
  ConnectParams params_;
};

// The process-wide Connector/C++ driver. get_driver_instance() is not safe
// to call concurrently; a function-local static is initialised exactly once.
sql::mysql::MySQL_Driver* shared_driver() {
  static sql::mysql::MySQL_Driver* const instance = [] {
    try {
      return sql::mysql::get_mysql_driver_instance();
    } catch (...) {
      // No log here: make_mysql_driver then returns null, reported by its caller.
      return static_cast<sql::mysql::MySQL_Driver*>(nullptr);
    }
  }();
  return instance;
}

}  // namespace

std::unique_ptr<SqlDriver> make_mysql_driver(const ConnectParams& params) {
  sql::mysql::MySQL_Driver* driver = shared_driver();
  if (driver == nullptr) return nullptr;
  return std::make_unique<MysqlDriver>(*driver, params);
}

}  // namespace proxyd::dict
