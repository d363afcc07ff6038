// Tests for the log rate limiter (fixed windows, summaries) and the client
// memory budget's read and dispatch decisions. A fake clock drives time;
// nothing sleeps.
#include "proxyd/log_throttle.h"

#include <gtest/gtest.h>

#include <chrono>

#include "proxyd/log.h"
#include "proxyd/memory_budget.h"
#include "proxyd/rate_limiter.h"
#include "tests/fakes/capture_logger.h"

namespace proxyd::daemon {
namespace {

using dict::testing::CaptureLogger;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = RateLimiter::Clock;

TEST(RateLimiter, BurstThenCountsUntilTheWindowEnds) {
  RateLimiter lim(3, seconds(10));
  Clock::time_point t0{};
  EXPECT_TRUE(lim.allow(t0));
  EXPECT_TRUE(lim.allow(t0 + milliseconds(1)));
  EXPECT_TRUE(lim.allow(t0 + milliseconds(2)));
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(lim.allow(t0 + milliseconds(3)));
  // Still inside the window: nothing to report yet.
  EXPECT_EQ(lim.take_suppressed(t0 + seconds(9)), 0u);
  EXPECT_FALSE(lim.allow(t0 + seconds(9)));
  // Window over: the count is reported once, then lines pass again.
  EXPECT_EQ(lim.take_suppressed(t0 + seconds(10)), 1001u);
  EXPECT_EQ(lim.take_suppressed(t0 + seconds(10)), 0u);
  EXPECT_TRUE(lim.allow(t0 + seconds(11)));
}

TEST(RateLimiter, AnEventAfterTheWindowKeepsTheOldCount) {
  RateLimiter lim(1, seconds(10));
  Clock::time_point t0{};
  EXPECT_TRUE(lim.allow(t0));
  EXPECT_FALSE(lim.allow(t0));
  EXPECT_FALSE(lim.allow(t0));
  // The next event opens a new window and passes; the old count is not lost.
  EXPECT_TRUE(lim.allow(t0 + seconds(20)));
  EXPECT_FALSE(lim.allow(t0 + seconds(20)));
  EXPECT_EQ(lim.take_suppressed(t0 + seconds(21)), 2u);
  EXPECT_EQ(lim.take_suppressed(t0 + seconds(30)), 1u);
}

TEST(LogThrottle, FloodGivesBurstAndOneSummaryPerWindow) {
  CaptureLogger log;
  Clock::time_point now{};
  LogThrottle throttle(log, 10, seconds(10), [&] { return now; });
  for (int i = 0; i < 4 * 1024 * 1024; ++i) {
    throttle.warn(WarnKind::Malformed, "client: malformed request {}", i);
  }
  EXPECT_EQ(log.lines().size(), 10u);
  EXPECT_EQ(log.lines().front(), "client: malformed request 0");
  throttle.flush();  // window still open
  EXPECT_EQ(log.lines().size(), 10u);
  now += seconds(10);
  throttle.flush();
  ASSERT_EQ(log.lines().size(), 11u);
  EXPECT_EQ(log.lines().back(),
            "4194294 more like this in the last 10 s: malformed request");
  throttle.flush();
  EXPECT_EQ(log.lines().size(), 11u);
}

TEST(LogThrottle, KindsAreLimitedSeparately) {
  CaptureLogger log;
  Clock::time_point now{};
  LogThrottle throttle(log, 1, seconds(10), [&] { return now; });
  throttle.warn(WarnKind::Malformed, "a");
  throttle.warn(WarnKind::Malformed, "a");
  throttle.warn(WarnKind::Timeout, "b");
  EXPECT_TRUE(throttle.admit(WarnKind::Refused));
  EXPECT_FALSE(throttle.admit(WarnKind::Refused));
  ASSERT_EQ(log.lines().size(), 2u);
  EXPECT_EQ(log.lines()[1], "b");
  // A later warning of one kind brings out that kind's summary first.
  now += seconds(15);
  throttle.warn(WarnKind::Malformed, "c");
  ASSERT_EQ(log.lines().size(), 4u);
  EXPECT_EQ(log.lines()[2], "1 more like this in the last 10 s: malformed request");
  EXPECT_EQ(log.lines()[3], "c");
  throttle.flush();
  ASSERT_EQ(log.lines().size(), 5u);
  EXPECT_EQ(log.lines()[4], "1 more like this in the last 10 s: refused request");
}

TEST(MemoryBudget, ChargesAndPeak) {
  MemoryBudget budget(1 << 20);
  std::size_t a = 0;
  std::size_t b = 0;
  EXPECT_FALSE(budget.update(a, 1000));
  EXPECT_FALSE(budget.update(b, 3000));
  EXPECT_EQ(budget.used(), 4000u);
  EXPECT_TRUE(budget.update(b, 0));
  EXPECT_EQ(budget.used(), 1000u);
  EXPECT_EQ(budget.peak(), 4000u);
  EXPECT_EQ(b, 0u);
}

TEST(MemoryBudget, BigConsumersPauseFirstThenEveryone) {
  const std::size_t mib = 1 << 20;
  MemoryBudget budget(64 * mib);  // big = 1 MiB, pressure at 32 MiB, reads stop at 56 MiB
  std::size_t big = 0;
  std::size_t small = 0;
  std::size_t rest = 0;
  budget.update(big, 2 * mib);
  budget.update(small, 4096);
  EXPECT_TRUE(budget.may_read(big, 128 * 1024));  // no pressure: everyone reads
  budget.update(rest, 40 * mib);                  // over half the budget
  EXPECT_FALSE(budget.may_read(big, 128 * 1024));
  EXPECT_TRUE(budget.may_read(small, 128 * 1024));
  EXPECT_TRUE(budget.may_dispatch());
  budget.update(rest, 54 * mib - 2 * mib - 4096);  // 54 MiB in all
  EXPECT_TRUE(budget.may_read(small, 128 * 1024));
  EXPECT_FALSE(budget.may_read(small, 3 * mib));  // would cross the read limit
  budget.update(rest, 60 * mib);
  EXPECT_FALSE(budget.may_read(small, 1));
  EXPECT_FALSE(budget.may_dispatch());
  // Memory released: reads resume.
  budget.update(rest, 0);
  EXPECT_TRUE(budget.may_read(big, 128 * 1024));
}

// The daemon's sink limits the warnings dictcore sends through
// warn_limited (per-lookup SQL and database warnings), per kind, from any
// thread; other warnings are never limited.
TEST(DaemonLogger, LimitedWarningsPassTenPerKindAndWindow) {
  DaemonLogger log("proxyd-test", false, false);
  int passed = 0;
  for (int i = 0; i < 1000; ++i) passed += log.admit("mysql:/etc/postfix/a.cf") ? 1 : 0;
  EXPECT_EQ(passed, 10);
  EXPECT_TRUE(log.admit("mysql:/etc/postfix/b.cf"));  // another table has its own budget
  EXPECT_TRUE(CaptureLogger().admit("anything"));  // other sinks let everything through
}

}  // namespace
}  // namespace proxyd::daemon
