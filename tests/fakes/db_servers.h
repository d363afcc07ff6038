// Private MariaDB and PostgreSQL servers for the driver unit tests. They are
// started by the project's one database starter, tests/integration/
// dbservers.py (`serve` command), which the Python tests use directly: a
// fresh /tmp directory, a short UNIX socket path and a free 127.0.0.1 port,
// MariaDB as root, PostgreSQL (which refuses root) as "postgres". The
// starter runs as a child of the test; the server stops and its directory
// goes when the object does, or when the test process dies. Admin SQL runs
// through the stock command-line clients. Test thread only.
#pragma once

#include <sys/types.h>

#include <cstdio>
#include <memory>
#include <string>

#include "dictcore/util/files.h"

namespace proxyd::testing {

// Credentials every server creates for the tests (not the admin account).
inline constexpr const char* kDbUser = "px";
inline constexpr const char* kDbPassword = "px-secret";
inline constexpr const char* kDbName = "proxyd";

// A TCP port on 127.0.0.1 that nobody listens on (connect is refused).
int dead_port();

// A running private server; start() builds one or reports why it could not.
class DbServer {
 public:
  virtual ~DbServer();
  DbServer(const DbServer&) = delete;
  DbServer& operator=(const DbServer&) = delete;

  // Run SQL as the administrator (through the command-line client); false
  // with the client's output in error on failure.
  virtual bool admin_sql(const std::string& sql, std::string& error) = 0;

  // Kill the server at once (SIGKILL for MariaDB, immediate shutdown for
  // PostgreSQL) and wait until it is gone.
  void kill_now();

  // Start the server again on the same data, socket and port.
  bool restart(std::string& error);

  int port() const { return port_; }
  const std::string& dir() const { return dir_; }

 protected:
  DbServer() = default;
  // Run the starter for kind ("mariadb", "postgresql") and read its facts.
  bool launch(const char* kind, std::string& error);

  std::string dir_;     // the server's temporary directory
  std::string socket_;  // MariaDB: the socket file; PostgreSQL: its directory
  int port_ = 0;

 private:
  // One command to the starter; false with its message in error.
  bool command(const char* what, std::string& error);
  // One line from the starter within budget_s seconds ("" on EOF/timeout).
  std::string read_line(int budget_s);

  pid_t starter_ = -1;
  dict::UniqueFd to_starter_;
  dict::UniqueFd from_starter_;
  std::string pending_;  // bytes read past the last line
};

// mariadbd with a database kDbName and user kDbUser for 'localhost' and
// '127.0.0.1'.
class MariaDbServer final : public DbServer {
 public:
  // What could not start and how to install it, for test failure messages.
  static constexpr const char* kStartHint =
      "MariaDB server (install mariadb-server, e.g. scripts/deps.sh --all)";
  static std::unique_ptr<MariaDbServer> start(std::string& error);
  bool admin_sql(const std::string& sql, std::string& error) override;
  // UNIX socket path.
  const std::string& socket() const { return socket_; }

 private:
  MariaDbServer() = default;
};

// postgres with a database kDbName owned by kDbUser (scram password over the
// socket and TCP; the admin "postgres" is trusted on the socket).
class PgServer final : public DbServer {
 public:
  // What could not start and how to install it, for test failure messages.
  static constexpr const char* kStartHint =
      "PostgreSQL server (install postgresql, e.g. scripts/deps.sh --all)";
  static std::unique_ptr<PgServer> start(std::string& error);
  bool admin_sql(const std::string& sql, std::string& error) override;
  // Directory holding the UNIX socket (.s.PGSQL.<port>).
  const std::string& socket_dir() const { return socket_; }

 private:
  PgServer() = default;
};

}  // namespace proxyd::testing
