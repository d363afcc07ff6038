// The administrative control socket, mode 0600 under
// $queue_directory/private: proxyd-control for a standalone daemon,
// proxyd-control.SERVICE for each master(8) service (proxymap, proxywrite).
// One line command per connection ("stats", "reload"), one text answer,
// then close. The client side is `proxyd -c DIR stats|reload`, which asks
// every daemon it finds. Loop thread only (server); the client is a plain
// blocking call.
#pragma once

#include <event2/bufferevent.h>
#include <event2/listener.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dictcore/util/logger.h"
#include "proxyd/event_loop.h"

namespace proxyd::daemon {

// The control socket's file name under $queue_directory/private.
inline constexpr std::string_view kControlSocketName = "proxyd-control";

// The file name for a daemon serving one master(8) service; the standalone
// name when service is empty.
std::string control_socket_name(std::string_view service);

// One daemon the client can ask: its service ("" standalone) and socket.
struct ControlTarget {
  std::string service;
  std::string path;
};

// The control sockets present in private_dir: the standalone one first,
// then one per master(8) service, by name.
std::vector<ControlTarget> find_control_targets(const std::string& private_dir);

// Answer for one command line; the first word of the answer is "ok" or
// "error" for commands that change something.
using ControlHandler = std::function<std::string(std::string_view command)>;

class ControlServer {
 public:
  // Listen on fd (a bound UNIX socket, ownership taken).
  ControlServer(EventLoop& loop, int fd, ControlHandler handler, dict::Logger& log);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

 private:
  struct Client;
  struct ListenerDeleter {
    void operator()(evconnlistener* l) const { evconnlistener_free(l); }
  };
  static void on_accept(evconnlistener*, evutil_socket_t fd, sockaddr*, int,
                        void* arg) noexcept;
  static void on_read(bufferevent* bev, void* arg) noexcept;
  static void on_write(bufferevent* bev, void* arg) noexcept;
  static void on_event(bufferevent* bev, short what, void* arg) noexcept;
  void drop(Client* client);

  EventLoop& loop_;
  ControlHandler handler_;
  dict::Logger& log_;
  std::unique_ptr<evconnlistener, ListenerDeleter> listener_;
  std::vector<std::unique_ptr<Client>> clients_;
};

// Send command to the control socket at path and return the answer.
// Throws std::runtime_error when the daemon cannot be reached.
std::string control_request(const std::string& path, std::string_view command);

}  // namespace proxyd::daemon
