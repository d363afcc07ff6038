// Fixed-window limiter for log lines (see rate_limiter.h).
#include "proxyd/rate_limiter.h"

namespace proxyd::daemon {

void RateLimiter::roll(Clock::time_point now) {
  if (open_ && now - start_ < window_) return;
  ended_ += suppressed_;
  suppressed_ = 0;
  passed_ = 0;
  start_ = now;
  open_ = true;
}

bool RateLimiter::allow(Clock::time_point now) {
  roll(now);
  if (passed_ < burst_) {
    ++passed_;
    return true;
  }
  ++suppressed_;
  return false;
}

uint64_t RateLimiter::take_suppressed(Clock::time_point now) {
  if (open_ && now - start_ >= window_) {
    ended_ += suppressed_;
    suppressed_ = 0;
    open_ = false;  // the next event starts a fresh window
  }
  uint64_t n = ended_;
  ended_ = 0;
  return n;
}

}  // namespace proxyd::daemon
