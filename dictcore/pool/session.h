// The SQL session seam: what the pool and the SQL table need from a database
// driver, without any driver header. A driver (sqlite, mysql, pgsql) is built
// once per database identity from ConnectParams and creates sessions, each
// connected to one host of the host list (Postfix dict_mysql/dict_pgsql
// HOST, dict_sqlite's single database). Sessions are used by one worker
// thread at a time; drivers must be safe to call from any worker thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace proxyd::dict {

// Which Postfix table type a driver implements.
enum class SqlKind { Sqlite, Mysql, Pgsql };

// "sqlite", "mysql", "pgsql".
std::string_view sql_kind_name(SqlKind kind);

// One result row; nullopt is SQL NULL (a pgsql driver reports NULL as "",
// as Postfix's PQgetvalue does).
using SqlRow = std::vector<std::optional<std::string>>;

// Outcome class of one query.
enum class QueryStatus {
  Rows,         // a result set (possibly empty) is in rows
  NoResultSet,  // the statement produced no result set (mysql: DO 1, UPDATE)
  HostError,    // query or connection failed: mark the host down, try another
  TempError,    // failed, connection still usable: RETRY (sqlite step error)
  ConfigError,  // the statement cannot work as configured: CONFIG
  NeedsSingle   // not sent: on this batching session the text could be read
                // as several statements; run it on a single-statement session
};

// Result of SqlSession::query.
struct QueryResult {
  QueryStatus status = QueryStatus::HostError;
  std::vector<SqlRow> rows;  // status == Rows
  std::string message;       // error text for logs (never contains passwords)
  // The failure as Postfix's driver words it after "query failed: " (mysql:
  // the server's message alone; pgsql: "fatal error from host H: MSG");
  // empty: message is all there is.
  std::string reason;
};

// Result of SqlSession::query_batch.
struct BatchResult {
  // Results of the leading statements, in order; every later statement must
  // be run again on its own (it failed, was not run, or its outcome is
  // unknown). Each element has status Rows, or TempError for a statement
  // the server refused on its own while the batch went on (pgsql pipelines:
  // exactly what query() would have returned for it).
  std::vector<QueryResult> results;
  bool usable = true;   // false: close this session (connection lost or out of step)
  std::string message;  // why the batch stopped early, for logs
};

// Where a host entry points. Postfix prefers UNIX sockets, then TCP, then
// (pgsql) connection URIs.
enum class HostKind { Unix, Inet, Uri };

// One parsed entry of the "hosts" list (or the sqlite dbpath).
struct HostSpec {
  std::string text;  // as written, password redacted, for logs ("unix:/run/mysqld.sock")
  HostKind kind = HostKind::Inet;
  std::string name;  // socket path/dir, host name, URI, or dbpath; "" = library default
  std::string port;  // pgsql: as written; mysql: resolved decimal number; may be ""
};

// Everything needed to connect, for every driver. Together these settings
// make up the database identity that pools are keyed on.
struct ConnectParams {
  SqlKind kind = SqlKind::Sqlite;
  std::vector<HostSpec> hosts;  // parsed; sqlite: one Unix "host" = dbpath
  std::string user;
  std::string password;  // never logged
  std::string dbname;
  std::string charset;                     // mysql (3.9+, default utf8mb4)
  std::string encoding;                    // pgsql (3.8+, default UTF8)
  std::optional<std::string> option_file;  // mysql
  std::string option_group = "client";     // mysql ("" = unset)
  std::optional<std::string> tls_key_file, tls_cert_file, tls_CAfile, tls_CApath,
      tls_ciphers;                          // mysql
  std::optional<bool> tls_verify_cert;      // mysql, unset = library default
  std::chrono::seconds retry_interval{60};  // host stays down this long
  std::chrono::seconds idle_interval{60};   // idle sessions closed after this
  // mysql/pgsql: a lone host is listed twice, so one failure is retried at
  // once (Postfix 3.6.17, 3.7.13, 3.8.8, 3.9.2, 3.10.0 on).
  bool duplicate_single_host = true;

  // Key identifying the database: equal keys share one pool. Includes the
  // password, so it must never be logged; use label() for messages.
  std::string identity_key() const;

  // Loggable description ("mysql:db@host1,host2 user=u").
  std::string label() const;
};

// A connection to one host. Used by one thread at a time.
class SqlSession {
 public:
  virtual ~SqlSession() = default;

  // Append the escaped form of text (string-literal contents, no quotes) to
  // out, using the live connection's character set. False = it cannot be
  // escaped here: the key's fault while usable() (a byte the connection's
  // character set cannot carry), otherwise the connection's.
  virtual bool escape(std::string_view text, std::string& out) = 0;

  // Why the last escape failed, worded as Postfix's driver logs it (pgsql:
  // "dict pgsql: (host H) cannot escape input string: MSG"); empty when the
  // driver has no wording of its own.
  virtual std::string escape_failure() const { return {}; }

  // True while the connection is up as far as the client library knows,
  // without a round trip. Tells a key that cannot be escaped (fails that
  // lookup only) from a broken connection (marks the host down).
  virtual bool usable() const { return true; }

  // Run one statement and collect its first result set.
  virtual QueryResult query(const std::string& sql) = 0;

  // True when this session was opened for batches (SqlDriver::connect_batching).
  virtual bool batching() const { return false; }

  // True when sql may go into query_batch on this session: one statement
  // that yields exactly one result set.
  virtual bool can_batch(const std::string& /*sql*/) const { return false; }

  // Run several statements in one round trip, each exactly as query() would
  // run it on its own. Every text must satisfy can_batch.
  virtual BatchResult query_batch(const std::vector<std::string>& sqls);

  // Asynchronous queries (pgsql), so that an event loop can run a lookup
  // without a thread: the descriptor to watch for input, -1 when the
  // session cannot (then the other two are never called).
  virtual int async_socket() const { return -1; }

  // Send one statement without waiting. False: not sent (the text could be
  // several statements, or the send failed: see usable()).
  virtual bool send_query(const std::string& /*sql*/) { return false; }

  // Read what has arrived, never blocking. With a statement sent: its
  // result once complete, exactly as query() would have returned it, else
  // nullopt. With none: nullopt while the connection is fine, a HostError
  // result when it broke (the server closed an idle session).
  virtual std::optional<QueryResult> read_query() { return std::nullopt; }

  // True when send_query already has the complete result (the server
  // answered before the send returned: mysql): read_query returns it, and
  // no readable event is to be waited for.
  virtual bool result_ready() const { return false; }
};

// Result of SqlDriver::connect.
struct ConnectResult {
  std::unique_ptr<SqlSession> session;  // null on failure
  std::string error;                    // why, for the log
};

// Creates sessions for the hosts of one database identity.
class SqlDriver {
 public:
  virtual ~SqlDriver() = default;

  // Connect to host. Blocking; called on a worker thread.
  virtual ConnectResult connect(const HostSpec& host) = 0;

  // True when connect_batching opens sessions that can run several
  // lookups per round trip (mysql: CLIENT_MULTI_STATEMENTS; pgsql: libpq
  // pipeline mode).
  virtual bool supports_batching() const { return false; }

  // Connect to host for batches. Such a session refuses (NeedsSingle) any
  // text that could be more than one statement. Default: connect(host).
  virtual ConnectResult connect_batching(const HostSpec& host) { return connect(host); }

  // A session for the event loop (async_socket() >= 0), for drivers whose
  // connect/connect_batching sessions have no asynchronous queries (mysql:
  // Connector/C++). Blocking; called on a worker thread. Null session: the
  // driver has none (the default), or it failed (error says why).
  virtual ConnectResult connect_loop(const HostSpec& /*host*/) { return {}; }

  // True when results take every column of every row (mysql, pgsql); false
  // for only the first column (sqlite).
  virtual bool all_columns() const = 0;

  // Per-worker-thread library setup/teardown (Connector/C++ threadInit/End).
  virtual void thread_init() {}
  virtual void thread_end() {}
};

// The driver factories are declared in dictcore/pool/drivers/driver_factory.h.

// Parse a mysql "hosts" value (unix:/path, inet:host[:port], host[:port];
// "localhost" = the library's default UNIX socket). Empty = "localhost".
// Throws ConfigError for an unknown port service.
std::vector<HostSpec> parse_mysql_hosts(std::string_view hosts, std::string_view origin);

// Parse a pgsql "hosts" value (scheme://... URIs, unix:/dir, inet:host[:port],
// /dir, host[:port]). Empty = "localhost".
// any_scheme: every "scheme://" host is a URI (Postfix 3.10+); otherwise only
// hosts that start with "postgresql:" are connection strings, and the rest
// is read with the historical unix:/inet:/host:port syntax.
std::vector<HostSpec> parse_pgsql_hosts(std::string_view hosts, bool any_scheme = true);

}  // namespace proxyd::dict
