// A fixed-window event limiter for log lines a client or a key can
// trigger: the first `burst` events of each window pass, the rest are
// only counted, and the count is handed back once the window is over so
// the caller can log one "N more like this" summary. The caller passes
// the time, so tests drive it with a fake clock. Not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>

namespace proxyd::daemon {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  RateLimiter(uint32_t burst, Clock::duration window) : burst_(burst), window_(window) {}

  // True when an event at now may be logged; false when it is only counted.
  // An event after the window ends starts a new window.
  bool allow(Clock::time_point now);

  // Events held back in windows that have ended by now, reported once
  // (then 0 until more are held back). 0 while the window is still open.
  uint64_t take_suppressed(Clock::time_point now);

  Clock::duration window() const { return window_; }

 private:
  // Start a new window at now if the current one has ended.
  void roll(Clock::time_point now);

  uint32_t burst_;
  Clock::duration window_;
  bool open_ = false;          // a window has started
  Clock::time_point start_{};  // when the current window began
  uint32_t passed_ = 0;        // events let through in this window
  uint64_t suppressed_ = 0;    // events held back in this window
  uint64_t ended_ = 0;         // held back in ended windows, not yet reported
};

}  // namespace proxyd::daemon
