// Private MariaDB and PostgreSQL servers for the driver unit tests (see
// db_servers.h): the starter tests/integration/dbservers.py runs as a child
// with a pipe each way; its `ready` line gives the facts, `kill` and
// `restart` drive the server, and end of input stops it. Admin SQL through
// the stock command-line clients. Test thread only.
#include "tests/fakes/db_servers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#ifndef PROXYD_DBSERVERS_PY
#error "PROXYD_DBSERVERS_PY must name tests/integration/dbservers.py"
#endif

namespace proxyd::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Budget for the starter: initialise a data directory and start a server
// (both can take long on a loaded machine), or one kill/restart command.
constexpr int kStartBudgetS = 180;
// Budget for admin clients.
constexpr auto kToolBudget = std::chrono::seconds(60);

// Start argv with output appended to log (stdin /dev/null).
pid_t spawn_process(const std::vector<std::string>& argv, const std::string& log) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid != 0) return pid;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  int in = open("/dev/null", O_RDONLY);
  int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (in >= 0) dup2(in, 0);
  if (out >= 0) {
    dup2(out, 1);
    dup2(out, 2);
  }
  execvp(args[0], args.data());
  _exit(127);
}

// Wait for pid until the budget is spent; exit status, or -1 (pid killed).
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
              std::string& error) {
  std::remove(log.c_str());
  int rc = wait_for(spawn_process(argv, log), kToolBudget);
  if (rc == 0) return true;
  error = fmt::format("{} failed (status {}):\n{}", argv[0], rc, read_file(log));
  return false;
}

// The starter's escaping undone: "\n" is a newline, "\\" a backslash.
std::string unescape(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      out += text[i + 1] == 'n' ? '\n' : text[i + 1];
      ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

// The value of "name=VALUE" in a space-separated line ("" if absent).
std::string fact(const std::string& line, const std::string& name) {
  std::size_t at = line.find(" " + name + "=");
  if (at == std::string::npos) return {};
  at += name.size() + 2;
  return line.substr(at, line.find(' ', at) - at);
}

}  // namespace

int dead_port() {
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

DbServer::~DbServer() {
  if (starter_ <= 0) return;
  to_starter_ = dict::UniqueFd();  // end of input: the starter stops the server
  wait_for(starter_, std::chrono::seconds(60));
}

bool DbServer::launch(const char* kind, std::string& error) {
  int in[2];
  int out[2];
  if (pipe2(in, O_CLOEXEC) != 0) {
    error = "pipe failed";
    return false;
  }
  if (pipe2(out, O_CLOEXEC) != 0) {
    close(in[0]);
    close(in[1]);
    error = "pipe failed";
    return false;
  }
  starter_ = fork();
  if (starter_ == 0) {
    // The starter gets SIGTERM when this test process dies, and then
    // stops the server and removes its directory.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    dup2(in[0], 0);
    dup2(out[1], 1);
    execlp("python3", "python3", PROXYD_DBSERVERS_PY, "serve", kind, kDbUser, kDbPassword,
           kDbName, static_cast<char*>(nullptr));
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  to_starter_ = dict::UniqueFd(in[1]);
  from_starter_ = dict::UniqueFd(out[0]);
  if (starter_ < 0) {
    error = "fork failed";
    return false;
  }
  std::string line = read_line(kStartBudgetS);
  if (!line.starts_with("ready ")) {
    error = line.empty() ? "the starter " PROXYD_DBSERVERS_PY " gave no answer"
                         : unescape(line);
    return false;
  }
  dir_ = fact(line, "dir");
  socket_ = fact(line, "socket");
  port_ = std::atoi(fact(line, "port").c_str());
  return true;
}

std::string DbServer::read_line(int budget_s) {
  auto deadline = Clock::now() + std::chrono::seconds(budget_s);
  for (;;) {
    std::size_t nl = pending_.find('\n');
    if (nl != std::string::npos) {
      std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      return line;
    }
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return {};
    pollfd p{from_starter_.get(), POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    ssize_t n = read(from_starter_.get(), buf, sizeof buf);
    if (n <= 0) return {};
    pending_.append(buf, static_cast<std::size_t>(n));
  }
}

bool DbServer::command(const char* what, std::string& error) {
  std::string line = fmt::format("{}\n", what);
  if (write(to_starter_.get(), line.data(), line.size()) !=
      static_cast<ssize_t>(line.size())) {
    error = "the starter is gone";
    return false;
  }
  std::string answer = read_line(kStartBudgetS);
  if (answer == "ok") return true;
  error = answer.empty() ? "the starter gave no answer" : unescape(answer);
  return false;
}

void DbServer::kill_now() {
  std::string error;
  if (!command("kill", error)) ADD_FAILURE() << "killing the server: " << error;
}

bool DbServer::restart(std::string& error) { return command("restart", error); }

// ---- MariaDB ---------------------------------------------------------------

std::unique_ptr<MariaDbServer> MariaDbServer::start(std::string& error) {
  auto s = std::unique_ptr<MariaDbServer>(new MariaDbServer());
  if (!s->launch("mariadb", error)) return nullptr;
  return s;
}

bool MariaDbServer::admin_sql(const std::string& sql, std::string& error) {
  return run_tool({"mariadb", "--no-defaults", "--socket=" + socket(), "-uroot",
                   "--batch", "-e", sql},
                  dir_ + "/client.log", error);
}

// ---- PostgreSQL ------------------------------------------------------------

std::unique_ptr<PgServer> PgServer::start(std::string& error) {
  auto s = std::unique_ptr<PgServer>(new PgServer());
  if (!s->launch("postgresql", error)) return nullptr;
  return s;
}

bool PgServer::admin_sql(const std::string& sql, std::string& error) {
  std::string script = dir_ + "/admin.sql";
  {
    std::ofstream out(script, std::ios::trunc);
    out << sql << "\n";
  }
  chmod(script.c_str(), 0644);
  return run_tool(
      {"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", socket_dir(), "-p",
       std::to_string(port_), "-U", "postgres", "-d", "postgres", "-f", script},
      dir_ + "/client.log", error);
}

}  // namespace proxyd::testing
