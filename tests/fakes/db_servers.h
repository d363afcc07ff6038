// Private MariaDB and PostgreSQL servers for the driver unit tests: each
// lives in a fresh /tmp directory, listens on a short UNIX socket path and on
// a free 127.0.0.1 port, and is killed when its object goes away (and, via
// PR_SET_PDEATHSIG, when the test process dies). MariaDB runs as root,
// PostgreSQL (which refuses root) as the "postgres" user. Test thread only.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

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
  virtual bool spawn(std::string& error) = 0;
  virtual int kill_signal() const = 0;
  // Wait for the listening socket and a successful admin query.
  bool wait_ready(const std::string& socket_path, std::string& error);

  std::string dir_;  // private temporary directory (removed at the end)
  int port_ = 0;
  pid_t pid_ = -1;   // server process, -1 when not running
  std::string log_;  // server log file
};

// mariadbd with a database kDbName and user kDbUser for 'localhost' and '%'.
class MariaDbServer final : public DbServer {
 public:
  // What could not start and how to install it, for test failure messages.
  static constexpr const char* kStartHint =
      "MariaDB server (install mariadb-server, e.g. scripts/deps.sh --all)";
  static std::unique_ptr<MariaDbServer> start(std::string& error);
  bool admin_sql(const std::string& sql, std::string& error) override;
  // UNIX socket path.
  std::string socket() const { return dir_ + "/my.sock"; }

 private:
  bool spawn(std::string& error) override;
  int kill_signal() const override;
};

// postgres with a database kDbName owned by kDbUser (scram password over TCP,
// trust over the socket).
class PgServer final : public DbServer {
 public:
  // What could not start and how to install it, for test failure messages.
  static constexpr const char* kStartHint =
      "PostgreSQL server (install postgresql, e.g. scripts/deps.sh --all)";
  static std::unique_ptr<PgServer> start(std::string& error);
  bool admin_sql(const std::string& sql, std::string& error) override;
  // Directory holding the UNIX socket (.s.PGSQL.<port>).
  const std::string& socket_dir() const { return dir_; }

 private:
  bool spawn(std::string& error) override;
  int kill_signal() const override;
};

}  // namespace proxyd::testing
