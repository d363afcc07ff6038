// PoolClock: the time source of a SessionPool (job deadlines, idle close,
// probe interval, the single-session hold) and of the host states it
// keeps. The default reads steady_clock and waits on the condition
// variable; tests hand a ManualClock (tests/fakes/manual_clock.h) that they
// advance by hand, so no pool test sleeps to let time pass. Any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>

namespace proxyd::dict {

class PoolClock {
 public:
  using Clock = std::chrono::steady_clock;
  virtual ~PoolClock() = default;

  virtual Clock::time_point now() const { return Clock::now(); }

  // Wait on cv (lock held, as std::condition_variable::wait_until) until
  // ready() or now() >= deadline; returns ready().
  virtual bool wait_until(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                          Clock::time_point deadline,
                          const std::function<bool()>& ready) {
    return cv.wait_until(lock, deadline, ready);
  }
};

}  // namespace proxyd::dict
