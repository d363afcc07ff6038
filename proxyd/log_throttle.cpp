// Per-kind rate limiting of client-triggered warnings (see log_throttle.h).
#include "proxyd/log_throttle.h"

namespace proxyd::daemon {
namespace {

std::string_view kind_name(WarnKind kind) {
  switch (kind) {
    case WarnKind::Malformed:
      return "malformed request";
    case WarnKind::BadRequest:
      return "bad request";
    case WarnKind::Refused:
      return "refused request";
    case WarnKind::Oversized:
      return "oversized request";
    case WarnKind::Timeout:
      return "request timeout";
    case WarnKind::Connection:
      return "client connection";
    case WarnKind::Internal:
      return "internal error";
  }
  return "warning";
}

}  // namespace

LogThrottle::LogThrottle(dict::Logger& log, uint32_t burst, Clock::duration window,
                         std::function<Clock::time_point()> clock)
    : log_(log),
      clock_(std::move(clock)),
      limiters_(kWarnKinds, RateLimiter(burst, window)) {}

bool LogThrottle::admit(WarnKind kind) {
  Clock::time_point now = clock_();
  summarize(kind, now);
  return limiters_[static_cast<std::size_t>(kind)].allow(now);
}

void LogThrottle::flush() {
  Clock::time_point now = clock_();
  for (std::size_t i = 0; i < kWarnKinds; ++i) summarize(static_cast<WarnKind>(i), now);
}

void LogThrottle::summarize(WarnKind kind, Clock::time_point now) {
  RateLimiter& limiter = limiters_[static_cast<std::size_t>(kind)];
  uint64_t n = limiter.take_suppressed(now);
  if (n == 0) return;
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(limiter.window()).count();
  log_.warn("{} more like this in the last {} s: {}", n, secs, kind_name(kind));
}

}  // namespace proxyd::daemon
