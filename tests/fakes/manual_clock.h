// ManualClock: a PoolClock whose time moves only when a test calls
// advance(), so pool tests about deadlines, idle close and probes never
// sleep to let time pass. Waiters look at the manual time every
// kLookEvery (advance() cannot notify a condition variable whose mutex it
// does not hold); that slice only bounds how soon they notice, the outcome
// depends on the manual time alone.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "dictcore/pool/pool_clock.h"

namespace proxyd::dict::testing {

class ManualClock final : public dict::PoolClock {
 public:
  static constexpr std::chrono::milliseconds kLookEvery{2};

  ManualClock() : now_(Clock::now()) {}

  Clock::time_point now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }

  void advance(Clock::duration by) {
    std::lock_guard lock(mu_);
    now_ += by;
  }

  bool wait_until(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                  Clock::time_point deadline,
                  const std::function<bool()>& ready) override {
    ++waiting_;
    bool got = false;
    while (!(got = ready()) && now() < deadline) cv.wait_for(lock, kLookEvery);
    --waiting_;
    return got;
  }

  // Threads inside wait_until now.
  int waiting() const { return waiting_.load(); }

  // Block until at least n threads wait on this clock (false after 10 s:
  // the test then fails on its own expectations rather than hanging).
  bool await_waiters(int n) const {
    for (int i = 0; i < 10000 && waiting() < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return waiting() >= n;
  }

 private:
  mutable std::mutex mu_;
  Clock::time_point now_;
  std::atomic<int> waiting_{0};
};

}  // namespace proxyd::dict::testing
