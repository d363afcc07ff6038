// The Prometheus endpoint: GET /metrics over HTTP/1.1 with libevent's evhttp
// on the daemon's own loop. A scrape renders a snapshot of what the loop
// owns (tables, server) and copies each pool's counters under the pool's
// lock for the length of a copy; no worker ever waits for a render. Any
// other path is 404, any other method 405. Loop thread only.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "dictcore/util/logger.h"
#include "proxyd/event_loop.h"

struct evhttp;
struct evhttp_request;

namespace proxyd::daemon {

class MetricsServer {
 public:
  // Serve render() on fd (a listening socket from bind_metrics_socket,
  // ownership taken). Throws std::runtime_error.
  MetricsServer(EventLoop& loop, int fd, std::function<std::string()> render,
                dict::Logger& log);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

 private:
  struct HttpDeleter {
    void operator()(evhttp* h) const;
  };
  static void on_request(evhttp_request* req, void* arg) noexcept;

  std::function<std::string()> render_;
  dict::Logger& log_;
  std::unique_ptr<evhttp, HttpDeleter> http_;
};

}  // namespace proxyd::daemon
