// Warnings that clients or keys can trigger, rate-limited per kind: at most
// `burst` lines of one kind per window, then one summary line
// "N more like this in the last 10 s: KIND" once the window is over (from
// the next warning of any kind or from flush(), which a timer calls).
// Owned by the serving code, one per process; loop thread only.
#pragma once

#include <fmt/format.h>

#include <chrono>
#include <functional>
#include <string_view>
#include <utility>
#include <vector>

#include "dictcore/util/logger.h"
#include "proxyd/rate_limiter.h"

namespace proxyd::daemon {

// The kinds of client-triggered warning, each limited on its own.
enum class WarnKind {
  Malformed,   // broken framing or a message that is not a request
  BadRequest,  // a request with missing or invalid attributes
  Refused,     // unapproved table, update on the read-only service
  Oversized,   // request larger than max_request_bytes
  Timeout,     // request not finished within request_timeout
  Connection,  // accept errors, connections closed by the connection policy
  Internal,    // unexpected errors while serving one connection
};
inline constexpr std::size_t kWarnKinds = 7;

class LogThrottle {
 public:
  using Clock = RateLimiter::Clock;

  explicit LogThrottle(dict::Logger& log, uint32_t burst = 10,
                       Clock::duration window = std::chrono::seconds(10),
                       std::function<Clock::time_point()> clock = &Clock::now);

  // Log a warning of kind unless that kind is over its rate; the message is
  // only formatted when it is logged.
  template <typename... Args>
  void warn(WarnKind kind, fmt::format_string<Args...> f, Args&&... args) {
    if (admit(kind)) log_.warn(f, std::forward<Args>(args)...);
  }

  // True when one event of kind may be logged now (several lines may then
  // be logged for it); counts it otherwise.
  bool admit(WarnKind kind);

  // Log the summary of every kind whose window has ended with lines held back.
  void flush();

  dict::Logger& logger() { return log_; }

 private:
  void summarize(WarnKind kind, Clock::time_point now);

  dict::Logger& log_;
  std::function<Clock::time_point()> clock_;
  std::vector<RateLimiter> limiters_;  // one per WarnKind
};

}  // namespace proxyd::daemon
