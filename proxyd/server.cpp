// Listening sockets and connection table (see server.h).
#include "proxyd/server.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "protocol/unix_address.h"
#include "proxyd/socket_dir.h"

namespace proxyd::daemon {
namespace {

// "pid=123 uid=0" from SO_PEERCRED, for log lines about one client.
std::string describe_peer(int fd, const std::string& service) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
    return fmt::format("{} client pid={} uid={}", service, cred.pid, cred.uid);
  }
  return fmt::format("{} client", service);
}

}  // namespace

int make_unix_listener(const std::string& path, int backlog, mode_t mode) {
  std::optional<sockaddr_un> where = protocol::unix_address(path);
  if (!where) throw std::runtime_error(fmt::format("bad socket path: {}", path));
  const sockaddr_un addr = *where;

  // A socket file that still accepts connections belongs to a live server.
  int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe >= 0) {
    bool live =
        connect(probe, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
    ::close(probe);
    if (live) {
      throw std::runtime_error(
          fmt::format("{}: another server is already listening on this socket", path));
    }
  }
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      throw std::runtime_error(fmt::format("{}: exists and is not a socket", path));
    }
    unlink(path.c_str());
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(fmt::format("socket: {}", std::strerror(errno)));
  // The mode is set by bind() itself through the umask: a chmod by path
  // afterwards could follow whatever another user put there meanwhile.
  int bound = 0;
  {
    ScopedUmask mask(static_cast<mode_t>(~mode & 0777));
    bound = bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  }
  if (bound != 0) {
    int err = errno;
    ::close(fd);
    throw std::runtime_error(fmt::format("bind {}: {}", path, std::strerror(err)));
  }
  if (listen(fd, backlog) != 0) {
    int err = errno;
    ::close(fd);
    throw std::runtime_error(fmt::format("listen {}: {}", path, std::strerror(err)));
  }
  return fd;
}

SocketFile remember_socket_file(const std::string& path) {
  SocketFile file{path, 0, 0};
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    file.dev = st.st_dev;
    file.ino = st.st_ino;
  }
  return file;
}

void remove_socket_file(const SocketFile& file, const std::string& jail) {
  if (file.path.empty() || file.ino == 0) return;
  std::string path = file.path;
  if (!jail.empty() && jail != "/") {
    std::string prefix = jail.ends_with('/') ? jail : jail + "/";
    if (!path.starts_with(prefix)) return;  // outside the jail: out of reach
    path = path.substr(prefix.size() - 1);
  }
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == file.dev &&
      st.st_ino == file.ino) {
    unlink(path.c_str());
  }
}

Server::Server(EventLoop& loop, Service& service, dict::Logger& log,
               ConnectionLimits limits)
    : loop_(loop),
      service_(service),
      log_(log),
      limits_(limits),
      warnings_(log),
      accept_warnings_(log, 1) {}

void Server::set_server_limits(ServerLimits limits) {
  server_limits_ = limits;
  budget_.set_limit(limits.max_memory_bytes);
  memory_released();  // a larger budget may let paused connections go on
}

void Server::flush_warnings() {
  warnings_.flush();
  accept_warnings_.flush();
}

ServerFigures Server::figures() const {
  ServerFigures f;
  f.connections = conns_.size();
  f.max_clients = server_limits_.max_clients;
  f.idle_closed = idle_closed_;
  f.refused = refused_;
  f.accept_errors = accept_errors_;
  f.memory_bytes = budget_.used();
  f.memory_peak = budget_.peak();
  f.max_memory_bytes = budget_.limit();
  f.memory_waiting = memory_waiters_.size();
  f.memory_pauses = memory_pauses_;
  return f;
}

void Server::post_memory_wake() {
  wake_posted_ = true;
  loop_.post([this] { wake_memory_waiters(); });
}

void Server::wake_memory_waiters() {
  wake_posted_ = false;
  std::vector<uint64_t> waiters;
  waiters.swap(memory_waiters_);
  for (uint64_t id : waiters) {
    auto it = conns_.find(id);
    if (it != conns_.end()) it->second->resume();  // pauses again if still short
  }
}

bool Server::close_idle_longest(const char* why) {
  // Look at the least recently active few: a busy one is skipped, not closed.
  constexpr int kLook = 64;
  int looked = 0;
  for (auto it = lru_.begin(); it != lru_.end() && looked < kLook; ++it, ++looked) {
    Connection& conn = **it;
    if (!conn.idle()) continue;
    ++idle_closed_;
    warnings_.warn(WarnKind::Connection, "{}: closing idle connection: {}", conn.peer(),
                   why);
    close(conn.id());
    return true;
  }
  return false;
}

Server::~Server() {
  listeners_.clear();
  conns_.clear();
  graveyard_.clear();
  lru_.clear();
}

void Server::add_listener(int fd, Role role, std::string name) {
  auto listener = std::make_unique<Listener>();
  listener->server = this;
  listener->role = role;
  listener->name = std::move(name);
  // An inherited socket may be blocking: accepting until EAGAIN would then
  // stall the loop on the first empty accept.
  evutil_make_socket_nonblocking(fd);
  listener->ev.reset(evconnlistener_new(loop_.base(), &Server::on_accept, listener.get(),
                                        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1,
                                        fd));
  if (!listener->ev) {
    ::close(fd);
    throw std::runtime_error("evconnlistener_new failed");
  }
  evconnlistener_set_error_cb(listener->ev.get(), &Server::on_accept_error);
  Listener* raw = listener.get();
  listener->resume = std::make_unique<Timer>(
      loop_.base(), [raw] { evconnlistener_enable(raw->ev.get()); }, &log_);
  listeners_.push_back(std::move(listener));
}

void Server::stop_listening() { listeners_.clear(); }

void Server::on_accept(evconnlistener*, evutil_socket_t fd, sockaddr*, int,
                       void* arg) noexcept {
  auto* listener = static_cast<Listener*>(arg);
  try {
    listener->server->accept_client(*listener, fd);
  } catch (const std::exception& e) {
    listener->server->log_.warn("cannot set up client connection: {}", e.what());
  } catch (...) {
    listener->server->log_.warn("cannot set up client connection: unknown error");
  }
}

void Server::on_accept_error(evconnlistener*, void* arg) noexcept {
  auto* listener = static_cast<Listener*>(arg);
  Server& server = *listener->server;
  int err = EVUTIL_SOCKET_ERROR();
  ++server.accept_errors_;
  server.accept_warnings_.warn(WarnKind::Connection, "accept on {}: {}", listener->name,
                               std::strerror(err));
  // Out of descriptors: give one back by closing the connection idle longest.
  if (err == EMFILE || err == ENFILE) {
    try {
      server.close_idle_longest("out of file descriptors");
    } catch (const std::exception& e) {
      server.log_.warn("cannot close an idle client to free a descriptor: {}", e.what());
    } catch (...) {
      server.log_.warn("cannot close an idle client to free a descriptor");
    }
  }
  // Back off briefly instead of spinning; the timer always re-enables.
  evconnlistener_disable(listener->ev.get());
  listener->resume->arm(0.1);
}

void Server::accept_client(Listener& listener, int fd) {
  if (conns_.size() >= server_limits_.max_clients &&
      !close_idle_longest("max_clients reached")) {
    // Every connection is busy: turn this one away; the client retries.
    ++refused_;
    warnings_.warn(WarnKind::Connection,
                   "{}: max_clients ({}) reached, none idle; refusing",
                   describe_peer(fd, listener.name), server_limits_.max_clients);
    ::close(fd);
    return;
  }
  uint64_t id = next_id_++;
  auto conn = std::make_unique<Connection>(*this, id, fd, listener.role,
                                           describe_peer(fd, listener.name), limits_);
  Connection* raw = conn.get();
  conns_.emplace(id, std::move(conn));
  lru_.push_back(raw);
  raw->lru() = std::prev(lru_.end());
  raw->start();
}

void Server::complete(uint64_t id, uint64_t seq, std::string bytes) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;  // the client went away; nobody to answer
  it->second->complete(seq, std::move(bytes));
}

void Server::close(uint64_t id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  lru_.erase(it->second->lru());
  graveyard_.push_back(std::move(it->second));
  conns_.erase(it);
  if (graveyard_.size() == 1) {
    loop_.post([this] { graveyard_.clear(); });
  }
}

std::size_t Server::in_flight() const {
  std::size_t n = 0;
  for (const auto& [id, conn] : conns_) n += conn->in_flight();
  return n;
}

}  // namespace proxyd::daemon
