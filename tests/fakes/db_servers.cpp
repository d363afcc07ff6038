// Private MariaDB and PostgreSQL servers for the driver unit tests (see
// db_servers.h): data directory initialisation, server start on a socket and
// a free loopback port, readiness polling, admin SQL through the stock
// command-line clients, hard kill and restart. Test thread only.
#include "tests/fakes/db_servers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

namespace proxyd::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Budget for one server to come up (data directory already initialised).
constexpr auto kStartBudget = std::chrono::seconds(15);
// Budget for initialisation tools and admin clients.
constexpr auto kToolBudget = std::chrono::seconds(60);

// The postgres account (uid, gid), if it exists.
std::optional<std::pair<uid_t, gid_t>> postgres_account() {
  const passwd* pw = getpwnam("postgres");
  if (pw == nullptr) return std::nullopt;
  return std::make_pair(pw->pw_uid, pw->pw_gid);
}

// A port on 127.0.0.1 that was free a moment ago.
int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0) {
    port = ntohs(sa.sin_port);
  }
  close(fd);
  return port;
}

// Start argv (optionally as another user) with output appended to log.
pid_t spawn_process(const std::vector<std::string>& argv, const std::string& log,
                    std::optional<std::pair<uid_t, gid_t>> as_user) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid != 0) return pid;
  // Child: die with the test process, never read the terminal.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  int in = open("/dev/null", O_RDONLY);
  int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (in >= 0) dup2(in, 0);
  if (out >= 0) {
    dup2(out, 1);
    dup2(out, 2);
  }
  if (as_user) {
    if (setgid(as_user->second) != 0 || setuid(as_user->first) != 0) _exit(126);
  }
  execvp(args[0], args.data());
  _exit(127);
}

// Wait for pid until deadline; exit status, or -1 on timeout (pid killed).
int wait_for(pid_t pid, Clock::duration budget) {
  auto deadline = Clock::now() + budget;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (r < 0) return -1;
    if (Clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Run a tool to completion; false with its output in error.
bool run_tool(const std::vector<std::string>& argv, const std::string& log,
              std::optional<std::pair<uid_t, gid_t>> as_user, std::string& error) {
  std::filesystem::remove(log);
  int rc = wait_for(spawn_process(argv, log, as_user), kToolBudget);
  if (rc == 0) return true;
  error = fmt::format("{} failed (status {}):\n{}", argv[0], rc, read_file(log));
  return false;
}

bool unix_connectable(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) {
    close(fd);
    return false;
  }
  path.copy(sa.sun_path, path.size());
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  close(fd);
  return ok;
}

std::string make_temp_dir(const char* pattern) {
  std::string templ = pattern;
  if (mkdtemp(templ.data()) == nullptr) return {};
  return templ;
}

}  // namespace

int dead_port() { return free_port(); }

DbServer::~DbServer() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (!dir_.empty() && std::getenv("PROXYD_KEEP_DB") == nullptr) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

void DbServer::kill_now() {
  if (pid_ <= 0) return;
  kill(pid_, kill_signal());
  if (wait_for(pid_, std::chrono::seconds(10)) < 0) kill(pid_, SIGKILL);
  pid_ = -1;
}

bool DbServer::restart(std::string& error) {
  kill_now();
  return spawn(error);
}

bool DbServer::wait_ready(const std::string& socket_path, std::string& error) {
  auto deadline = Clock::now() + kStartBudget;
  std::string last;
  while (Clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      error = fmt::format("server exited during start-up; log {}:\n{}", log_,
                          read_file(log_));
      return false;
    }
    if (unix_connectable(socket_path) && admin_sql("SELECT 1", last)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  error =
      fmt::format("server not ready within {}s ({}); log {}:\n{}",
                  std::chrono::duration_cast<std::chrono::seconds>(kStartBudget).count(),
                  last, log_, read_file(log_));
  return false;
}

// ---- MariaDB ---------------------------------------------------------------

std::unique_ptr<MariaDbServer> MariaDbServer::start(std::string& error) {
  auto s = std::unique_ptr<MariaDbServer>(new MariaDbServer());
  s->dir_ = make_temp_dir("/tmp/pxmy.XXXXXX");
  if (s->dir_.empty()) {
    error = "mkdtemp failed";
    return nullptr;
  }
  s->log_ = s->dir_ + "/server.log";
  s->port_ = free_port();
  if (!run_tool({"mariadb-install-db", "--no-defaults", "--datadir=" + s->dir_ + "/data",
                 "--user=root", "--auth-root-authentication-method=normal",
                 "--skip-test-db", "--skip-name-resolve"},
                s->dir_ + "/install.log", std::nullopt, error)) {
    return nullptr;
  }
  if (!s->spawn(error)) return nullptr;
  std::string setup = fmt::format(
      "CREATE DATABASE {0} CHARACTER SET utf8mb4;"
      "CREATE USER '{1}'@'localhost' IDENTIFIED BY '{2}';"
      "CREATE USER '{1}'@'127.0.0.1' IDENTIFIED BY '{2}';"
      "GRANT ALL ON {0}.* TO '{1}'@'localhost';"
      "GRANT ALL ON {0}.* TO '{1}'@'127.0.0.1';",
      kDbName, kDbUser, kDbPassword);
  if (!s->admin_sql(setup, error)) return nullptr;
  return s;
}

bool MariaDbServer::spawn(std::string& error) {
  pid_ = spawn_process(
      {"mariadbd", "--no-defaults", "--datadir=" + dir_ + "/data", "--socket=" + socket(),
       fmt::format("--port={}", port_), "--bind-address=127.0.0.1", "--skip-name-resolve",
       "--user=root", "--pid-file=" + dir_ + "/pid", "--skip-log-bin",
       "--innodb-buffer-pool-size=16M", "--innodb-log-file-size=8M",
       "--innodb-flush-log-at-trx-commit=0", "--character-set-server=utf8mb4",
       "--collation-server=utf8mb4_general_ci"},
      log_, std::nullopt);
  if (pid_ < 0) {
    error = "fork failed";
    return false;
  }
  return wait_ready(socket(), error);
}

int MariaDbServer::kill_signal() const { return SIGKILL; }

bool MariaDbServer::admin_sql(const std::string& sql, std::string& error) {
  return run_tool({"mariadb", "--no-defaults", "--socket=" + socket(), "-uroot",
                   "--batch", "-e", sql},
                  dir_ + "/client.log", std::nullopt, error);
}

// ---- PostgreSQL ------------------------------------------------------------

std::unique_ptr<PgServer> PgServer::start(std::string& error) {
  auto account = postgres_account();
  if (!account) {
    error = "no 'postgres' system user (is the postgresql package installed?)";
    return nullptr;
  }
  auto s = std::unique_ptr<PgServer>(new PgServer());
  s->dir_ = make_temp_dir("/tmp/pxpg.XXXXXX");
  if (s->dir_.empty() || chown(s->dir_.c_str(), account->first, account->second) != 0) {
    error = "cannot create a temporary directory for postgres";
    return nullptr;
  }
  s->log_ = s->dir_ + "/server.log";
  s->port_ = free_port();
  std::string bindir = "/usr/lib/postgresql/15/bin";
  if (!std::filesystem::exists(bindir + "/initdb")) bindir.clear();
  auto tool = [&bindir](const char* name) {
    return bindir.empty() ? std::string(name) : bindir + "/" + name;
  };
  if (!run_tool(
          {tool("initdb"), "-D", s->dir_ + "/data", "-U", "postgres", "-E", "UTF8",
           "--locale=C", "--no-sync", "--auth-local=trust", "--auth-host=scram-sha-256"},
          s->dir_ + "/initdb.log", account, error)) {
    return nullptr;
  }
  {
    // Admin over the socket without a password; everything over TCP with one.
    std::ofstream hba(s->dir_ + "/data/pg_hba.conf", std::ios::trunc);
    hba << "local all all trust\n"
           "host all all 127.0.0.1/32 scram-sha-256\n";
  }
  if (!s->spawn(error)) return nullptr;
  std::string setup = fmt::format(
      "CREATE USER {0} PASSWORD '{1}';\n"
      "CREATE DATABASE {2} OWNER {0} ENCODING 'UTF8';\n",
      kDbUser, kDbPassword, kDbName);
  if (!s->admin_sql(setup, error)) return nullptr;
  return s;
}

bool PgServer::spawn(std::string& error) {
  std::string bin = std::filesystem::exists("/usr/lib/postgresql/15/bin/postgres")
                        ? "/usr/lib/postgresql/15/bin/postgres"
                        : "postgres";
  pid_ =
      spawn_process({bin, "-D", dir_ + "/data", "-k", dir_, "-p", std::to_string(port_),
                     "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c",
                     "shared_buffers=16MB", "-c", "password_encryption=scram-sha-256"},
                    log_, postgres_account());
  if (pid_ < 0) {
    error = "fork failed";
    return false;
  }
  return wait_ready(fmt::format("{}/.s.PGSQL.{}", dir_, port_), error);
}

// SIGQUIT: immediate shutdown, every backend is terminated at once.
int PgServer::kill_signal() const { return SIGQUIT; }

bool PgServer::admin_sql(const std::string& sql, std::string& error) {
  std::string script = dir_ + "/admin.sql";
  {
    std::ofstream out(script, std::ios::trunc);
    out << sql << "\n";
  }
  chmod(script.c_str(), 0644);
  return run_tool(
      {"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", dir_, "-p",
       std::to_string(port_), "-U", "postgres", "-d", "postgres", "-f", script},
      dir_ + "/client.log", std::nullopt, error);
}

}  // namespace proxyd::testing
