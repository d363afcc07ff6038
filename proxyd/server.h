// The serving core: listening sockets for proxymap (read-only) and
// proxywrite (read-write), the table of live client connections, and
// routing of completions back to the connection that asked. Connections
// are destroyed outside their own callbacks. Loop thread only.
#pragma once

#include <event2/listener.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "dictcore/logger.h"
#include "proxyd/connection.h"
#include "proxyd/event_loop.h"
#include "proxyd/service.h"

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

class Server {
 public:
  Server(EventLoop& loop, Service& service, dict::Logger& log, ConnectionLimits limits = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Serve role on an already listening socket (takes ownership of fd).
  void add_listener(int fd, Role role, std::string name);

  // Limits for connections accepted from now on (reload).
  void set_limits(ConnectionLimits limits) { limits_ = limits; }

  // Stop accepting new connections (existing ones keep being served).
  void stop_listening();

  // Route a finished reply to connection id (dropped if it has gone).
  void complete(uint64_t id, uint64_t seq, std::string bytes);

  // Close connection id; destruction is deferred to a later loop turn.
  void close(uint64_t id);

  std::size_t connection_count() const { return conns_.size(); }
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

  static void on_accept(evconnlistener* l, evutil_socket_t fd, sockaddr*, int, void* arg) noexcept;
  static void on_accept_error(evconnlistener* l, void* arg) noexcept;
  void accept_client(Listener& listener, int fd);

  EventLoop& loop_;
  Service& service_;
  dict::Logger& log_;
  ConnectionLimits limits_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> conns_;
  std::vector<std::unique_ptr<Connection>> graveyard_;
  uint64_t next_id_ = 1;
  std::vector<char> read_buf_ = std::vector<char>(65536);
};

}  // namespace proxyd::daemon
