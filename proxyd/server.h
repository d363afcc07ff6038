// The serving core: listening sockets for proxymap (read-only) and
// proxywrite (read-write), the table of live client connections, and
// routing of completions back to the connection that asked. Connections
// are destroyed outside their own callbacks. Also the policies over all
// connections: max_clients (the connection idle longest makes room for a
// new one), the memory budget with the connections it paused, accept
// errors backed off, and the rate-limited client warnings. Loop thread only.
#pragma once

#include <event2/listener.h>
#include <sys/types.h>

#include <cstdint>
#include <list>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "dictcore/util/logger.h"
#include "proxyd/connection.h"
#include "proxyd/event_loop.h"
#include "proxyd/log_throttle.h"
#include "proxyd/memory_budget.h"
#include "proxyd/service.h"
#include "proxyd/stats_fields.h"

namespace proxyd::daemon {

// Create a UNIX stream listening socket at path with mode (0666: Postfix
// makes its private sockets world-writable inside a 0700 directory; the
// mode is applied at bind through the umask), replacing a stale socket
// file; throws std::runtime_error when the path is in use by a live server
// or cannot be bound.
int make_unix_listener(const std::string& path, int backlog, mode_t mode = 0666);

// A socket file this process created, remembered by device and inode so
// that it is removed on exit only while it is still the same file: a
// successor (the next master(8) generation) may already have replaced it.
struct SocketFile {
  std::string path;  // as seen before any chroot
  dev_t dev = 0;
  ino_t ino = 0;
};

// Remember the socket file just bound at path.
SocketFile remember_socket_file(const std::string& path);

// Unlink the file if it is still the one remembered. jail: the chroot
// directory the process is now in ("" for none), stripped from the path.
void remove_socket_file(const SocketFile& file, const std::string& jail);

// Limits over all connections together.
struct ServerLimits {
  std::size_t max_clients = 10000;            // connections served at once
  std::size_t max_memory_bytes = 256u << 20;  // client buffers, all connections
};

class Server {
 public:
  Server(EventLoop& loop, Service& service, dict::Logger& log,
         ConnectionLimits limits = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Serve role on an already listening socket (takes ownership of fd).
  void add_listener(int fd, Role role, std::string name);

  // Limits for connections accepted from now on (reload).
  void set_limits(ConnectionLimits limits) { limits_ = limits; }

  // Connection count and memory budget (start-up and reload).
  void set_server_limits(ServerLimits limits);

  // Stop accepting new connections (existing ones keep being served).
  void stop_listening();

  // Route a finished reply to connection id (dropped if it has gone).
  void complete(uint64_t id, uint64_t seq, std::string bytes);

  // Close connection id; destruction is deferred to a later loop turn.
  void close(uint64_t id);

  // Client-side figures for `proxyd stats` and the metrics.
  ServerFigures figures() const;

  // Client buffers charged against the memory budget.
  MemoryBudget& budget() { return budget_; }
  // connection id paused its reads for memory: resume it when some is freed.
  void wait_for_memory(uint64_t id) {
    memory_waiters_.push_back(id);
    ++memory_pauses_;
  }
  // Some connection released memory.
  void memory_released() {
    if (!memory_waiters_.empty() && !wake_posted_) post_memory_wake();
  }

  // conn has just been active (it is now the last to close for max_clients).
  void touch(Connection& conn) { lru_.splice(lru_.end(), lru_, conn.lru()); }

  // Client-triggered warnings, rate-limited; flush_warnings() logs the
  // summaries of windows that have ended (a timer calls it).
  LogThrottle& warnings() { return warnings_; }
  void flush_warnings();
  // Requests accepted but not yet answered, over all connections.
  std::size_t in_flight() const;

  // Scratch space every connection reads into (loop thread only).
  std::span<char> read_buffer() { return read_buf_; }

  EventLoop& loop() { return loop_; }
  Service& service() { return service_; }
  dict::Logger& log() { return log_; }

 private:
  struct ListenerDeleter {
    void operator()(evconnlistener* l) const { evconnlistener_free(l); }
  };
  struct Listener {
    Server* server = nullptr;
    Role role = Role::ReadOnly;
    std::string name;
    std::unique_ptr<evconnlistener, ListenerDeleter> ev;
    std::unique_ptr<Timer> resume;
  };

  static void on_accept(evconnlistener* l, evutil_socket_t fd, sockaddr*, int,
                        void* arg) noexcept;
  static void on_accept_error(evconnlistener* l, void* arg) noexcept;
  void accept_client(Listener& listener, int fd);
  // Close the connection idle longest to make room; false if none is idle.
  bool close_idle_longest(const char* why);
  void post_memory_wake();
  void wake_memory_waiters();

  EventLoop& loop_;
  Service& service_;
  dict::Logger& log_;
  ConnectionLimits limits_;
  ServerLimits server_limits_;
  MemoryBudget budget_{server_limits_.max_memory_bytes};
  std::vector<uint64_t> memory_waiters_;  // ids paused by the budget
  bool wake_posted_ = false;
  std::list<Connection*> lru_;  // least recently active first
  LogThrottle warnings_;
  LogThrottle accept_warnings_;  // one line per 10 s at most
  uint64_t idle_closed_ = 0;     // closed for max_clients
  uint64_t refused_ = 0;         // turned away: max_clients reached, none idle
  uint64_t accept_errors_ = 0;
  uint64_t memory_pauses_ = 0;  // times a connection waited for memory
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> conns_;
  std::vector<std::unique_ptr<Connection>> graveyard_;
  uint64_t next_id_ = 1;
  std::vector<char> read_buf_ = std::vector<char>(65536);
};

}  // namespace proxyd::daemon
