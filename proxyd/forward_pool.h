// The forwarding pool: requests for table types proxyd does not serve go to
// Postfix's own proxymap (or proxywrite) service over a small, bounded set
// of reused client connections. Each connection carries one request at a
// time, as proxymap expects; waiting requests sit in the pool's own bounded
// FIFO, so a slow stock service never delays SQL lookups. Sockets are
// non-blocking on the libevent loop. A request gets RETRY, never "not
// found", when the service is unreachable, dies mid-request or is slower
// than the deadline; any reply the service gives (DENY included) is passed
// on as it came. Idle connections close after `idle` and every connection
// after `ttl`, as Postfix clients do (ipc_idle, ipc_ttl), so a stock
// proxymap that restarts for a changed table is reached anew. Loop thread
// only.
#pragma once

#include <event2/event.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "dictcore/front/table_stats.h"
#include "dictcore/util/logger.h"
#include "protocol/messages.h"
#include "proxyd/event_loop.h"
#include "proxyd/stats_fields.h"

namespace proxyd::daemon {

// Where to forward and how much at once.
struct ForwardLimits {
  std::string path;                  // UNIX socket of the stock service ("" = off)
  std::size_t max_connections = 32;  // connections open at once
  std::size_t max_queue = 1024;      // requests waiting for a connection before RETRY
  std::chrono::milliseconds timeout{10000};  // request to answer (lookup_timeout)
  std::chrono::milliseconds idle{5000};      // close a connection idle this long
  std::chrono::milliseconds ttl{1000000};    // close a connection this old when idle
};

// Counters for `proxyd stats`.
struct ForwardStats {
  uint64_t jobs = 0;              // requests submitted
  uint64_t answered = 0;          // replies passed on from the stock service
  uint64_t rejected = 0;          // RETRY: queue full
  uint64_t expired = 0;           // RETRY: past the deadline (queued or in progress)
  uint64_t unreachable = 0;       // RETRY: could not connect
  uint64_t died = 0;              // RETRY: connection lost or bad reply mid-request
  uint64_t resent = 0;            // lookups resent once after a reused connection closed
  uint64_t connects = 0;          // connections opened
  uint64_t connect_failures = 0;  // connect() failed
  std::size_t queue_peak = 0;
  std::size_t connections_peak = 0;
};

class ForwardPool {
 public:
  using Clock = std::chrono::steady_clock;
  using Done = std::function<void(protocol::Reply)>;

  // label names the pool in logs and stats ("read", "write", ...).
  ForwardPool(event_base* base, dict::Logger& log, std::string label,
              ForwardLimits limits);
  ~ForwardPool();
  ForwardPool(const ForwardPool&) = delete;
  ForwardPool& operator=(const ForwardPool&) = delete;

  // New limits (reload); connections to another path are closed when idle.
  void configure(ForwardLimits limits);
  bool enabled() const { return !limits_.path.empty(); }
  const ForwardLimits& limits() const { return limits_; }

  // Forward one well-formed request; done runs exactly once on the loop
  // thread, possibly before submit() returns (RETRY when the queue is full
  // or the service cannot be reached). With stats, the answer is counted
  // there as a lookup of that table (result and latency) before done runs.
  void submit(const protocol::Request& request, Done done,
              std::shared_ptr<dict::TableStats> stats = nullptr);

  // Answer RETRY to requests past their deadline, close idle connections.
  void expire(Clock::time_point now);

  // The figures `proxyd stats` and the metrics report (no tables).
  ForwardFigures figures() const;
  const ForwardStats& stats() const { return stats_; }
  std::size_t queued() const { return queue_.size(); }
  std::size_t connections() const { return links_.size(); }

 private:
  struct Job {
    protocol::RequestType type;
    protocol::Dialect dialect;
    std::string bytes;  // the encoded request (kept until answered: it may be resent)
    Clock::time_point deadline;
    Done done;
    std::shared_ptr<dict::TableStats> stats;  // lookups: the table's counters
    Clock::time_point start;
    bool resent = false;
  };
  struct Link;

  static void on_event(evutil_socket_t fd, short what, void* arg) noexcept;
  static void on_flush(evutil_socket_t fd, short what, void* arg) noexcept;
  void schedule_flush();
  // Send the requests started in this loop iteration, then pass on the
  // replies received in it (see flush_ev_).
  void flush();
  void deliver_answered();
  // Start the next queued jobs on idle or new connections.
  void pump();
  // Open a connection for job; false (job untouched) when connect fails.
  bool open_link(Job& job);
  void start_job(Link& link, Job job);
  void handle_event(Link& link, short what);
  void read_reply(Link& link);
  void write_request(Link& link);
  // The connection failed: answer its job (or resend it) and close it.
  void link_failed(Link& link, const char* why, bool may_resend);
  void close_link(Link& link);
  void answer(Job& job, protocol::Reply reply);
  void retry(Job& job);
  void bury_dead();

  event_base* base_;
  dict::Logger& log_;
  std::string label_;
  ForwardLimits limits_;
  std::deque<Job> queue_;
  std::list<std::unique_ptr<Link>> links_;
  std::list<std::unique_ptr<Link>> dead_;  // closed inside their own callback
  // Requests started while the loop handles a batch of ready sockets are
  // sent together after that batch (an active event queued behind it), and
  // only then are the replies received in the batch passed to the clients:
  // the stock service and the clients each find several on one wake-up.
  // Cuts context switches per request.
  struct Answered {
    Job job;
    protocol::Reply reply;
  };
  std::vector<Answered> answered_;
  EventPtr flush_ev_;
  bool flush_pending_ = false;
  bool flushing_ = false;          // links must not be destroyed meanwhile
  std::vector<Link*> flush_list_;  // flush()'s scratch list
  ForwardStats stats_;
  Clock::time_point last_warning_{};
};

}  // namespace proxyd::daemon
