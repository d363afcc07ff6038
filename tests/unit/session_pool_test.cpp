// Tests for host lists (mysql/pgsql "hosts" parsing, Postfix host_init),
// the shared host state (UNIX before TCP, failed hosts skipped for
// retry_interval, single-host duplication) and the worker pool with a fake
// driver: bounded sessions under load, failover, broken-session recovery,
// shutdown answering queued jobs with RETRY, queue limit, idle close, and
// batching (a backlog shares round trips; anything a batch does not answer
// runs alone; texts that need a single-statement session get one), and
// workers running under SCHED_BATCH.
#include "dictcore/pool/session_pool.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <sched.h>

#include <latch>
#include <map>
#include <thread>

#include "dictcore/pool/session_batch.h"
#include "dictcore/pool/session_hosts.h"
#include "dictcore/util/config_error.h"
#include "tests/fakes/fake_session.h"
#include "tests/fakes/manual_clock.h"

namespace proxyd::dict {
namespace {

using namespace std::chrono_literals;
using testing::CaptureLogger;
using testing::FakeDb;
using testing::FakeDriver;
using testing::ManualClock;
using testing::QueuedPoster;

struct HostCase {
  const char* text;
  HostKind kind;
  const char* name;
  const char* port;
};

TEST(HostParsing, Mysql) {
  auto hosts = parse_mysql_hosts(
      "unix:/run/mysqld/mysqld.sock, inet:db1:3307 db2 db3:mysql localhost "
      "inet:LocalHost:3306",
      "t.cf");
  std::vector<HostCase> want = {
      {"unix:/run/mysqld/mysqld.sock", HostKind::Unix, "/run/mysqld/mysqld.sock", ""},
      {"inet:db1:3307", HostKind::Inet, "db1", "3307"},
      {"db2", HostKind::Inet, "db2", ""},
      {"db3:mysql", HostKind::Inet, "db3", "3306"},  // service name resolved
      {"localhost", HostKind::Unix, "", ""},         // library default socket
      {"inet:LocalHost:3306", HostKind::Unix, "", "3306"},
  };
  ASSERT_EQ(hosts.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(hosts[i].text, want[i].text);
    EXPECT_EQ(hosts[i].kind, want[i].kind) << want[i].text;
    EXPECT_EQ(hosts[i].name, want[i].name) << want[i].text;
    EXPECT_EQ(hosts[i].port, want[i].port) << want[i].text;
  }
  EXPECT_EQ(parse_mysql_hosts("", "t.cf").at(0).text, "localhost");
  EXPECT_THROW(parse_mysql_hosts("db:no-such-service-xyz", "t.cf"), ConfigError);
  EXPECT_THROW(parse_mysql_hosts("db:99999", "t.cf"), ConfigError);
}

TEST(HostParsing, Pgsql) {
  auto hosts = parse_pgsql_hosts(
      "postgresql://u@h/db, unix:/var/run/postgresql inet:pg1:5433 pg2 /tmp localhost "
      "x.y://notscheme");
  std::vector<HostCase> want = {
      {"postgresql://u@h/db", HostKind::Uri, "postgresql://u@h/db", ""},
      {"unix:/var/run/postgresql", HostKind::Unix, "/var/run/postgresql", ""},
      {"inet:pg1:5433", HostKind::Inet, "pg1", "5433"},
      {"pg2", HostKind::Inet, "pg2", ""},
      {"/tmp", HostKind::Unix, "/tmp", ""},
      {"localhost", HostKind::Inet, "localhost", ""},  // pgsql: TCP, unlike mysql
      {"x.y://notscheme", HostKind::Inet, "x.y",
       "//notscheme"},  // '.' is not a scheme char
  };
  ASSERT_EQ(hosts.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(hosts[i].kind, want[i].kind) << want[i].text;
    EXPECT_EQ(hosts[i].name, want[i].name) << want[i].text;
    EXPECT_EQ(hosts[i].port, want[i].port) << want[i].text;
  }
}

HostSpec host(const char* text, HostKind kind) { return HostSpec{text, kind, text, ""}; }

TEST(HostSet, PrefersUnixThenInetThenUri) {
  HostSet set({host("uri", HostKind::Uri), host("tcp", HostKind::Inet),
               host("sock", HostKind::Unix)},
              60s, false);
  std::vector<bool> tried(3, false);
  EXPECT_EQ(set.pick(tried), 2u);
  tried[2] = true;
  EXPECT_EQ(set.pick(tried), 1u);
  tried[1] = true;
  EXPECT_EQ(set.pick(tried), 0u);
  tried[0] = true;
  EXPECT_EQ(set.pick(tried), std::nullopt);
}

TEST(HostSet, ActiveHostsArePreferred) {
  HostSet set(
      {host("a", HostKind::Inet), host("b", HostKind::Inet), host("s", HostKind::Unix)},
      60s, false);
  set.mark_up(1);  // a session is connected to b
  std::vector<bool> tried(3, false);
  EXPECT_EQ(set.pick(tried), 1u);  // active TCP beats untried UNIX
  set.release(1);                  // last session gone: b is untried again
  EXPECT_EQ(set.pick(tried), 2u);
}

TEST(HostSet, FailedHostSkippedForRetryInterval) {
  HostSet::Clock::time_point now{};
  HostSet set({host("a", HostKind::Inet), host("b", HostKind::Inet)}, 60s, false,
              [&now] { return now; });
  std::vector<bool> none(2, false);
  set.mark_down(0);
  EXPECT_TRUE(set.is_down(0));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(set.pick(none), 1u);
  set.mark_down(1);
  EXPECT_EQ(set.pick(none), std::nullopt);  // everything down: RETRY without trying
  now += 59s;
  EXPECT_EQ(set.pick(none), std::nullopt);
  now += 1s;
  EXPECT_TRUE(set.pick(none).has_value());
  EXPECT_FALSE(set.is_down(0));
}

TEST(HostSet, RandomAmongEligible) {
  HostSet set(
      {host("a", HostKind::Inet), host("b", HostKind::Inet), host("c", HostKind::Inet)},
      60s, false, HostSet::Clock::now, 12345);
  std::vector<int> seen(3, 0);
  std::vector<bool> none(3, false);
  for (int i = 0; i < 300; ++i) ++seen[*set.pick(none)];
  for (int n : seen) EXPECT_GT(n, 50);
}

TEST(HostSet, SingleHostIsDuplicatedWhenAsked) {
  HostSet dup({host("only", HostKind::Inet)}, 60s, true);
  EXPECT_EQ(dup.size(), 2u);
  dup.mark_down(0);
  EXPECT_EQ(dup.pick({true, false}), 1u);  // the copy is still eligible
  HostSet single({host("only", HostKind::Inet)}, 60s, false);
  EXPECT_EQ(single.size(), 1u);
}

TEST(HostSet, ReviveMakesEveryEntryOfTheHostEligible) {
  HostSet dup({host("only", HostKind::Inet)}, 60s, true);
  EXPECT_EQ(dup.probe_index(1), 0u);  // one probe for both entries
  dup.mark_down(0);
  dup.mark_down(1);
  EXPECT_TRUE(dup.host_down(0));
  EXPECT_EQ(dup.pick({false, false}), std::nullopt);
  EXPECT_TRUE(dup.revive(0));
  EXPECT_FALSE(dup.host_down(0));
  EXPECT_FALSE(dup.is_down(1));
  EXPECT_NE(dup.pick({false, false}), std::nullopt);
  EXPECT_FALSE(dup.revive(0));  // nothing was down
}

// A pool over a FakeDb; jobs run "SELECT" and answer with the first cell.
// Holds a query inside the fake database until the test opens it: the
// query calls pass(), the test waits for entered and then calls open().
struct Gate {
  std::latch entered{1};
  std::latch opened{1};
  void pass() {
    entered.count_down();
    opened.wait();
  }
  void wait_entered() { entered.wait(); }
  void open() { opened.count_down(); }
};

struct PoolFixture {
  FakeDb db;
  QueuedPoster poster;
  CaptureLogger log;
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  std::unique_ptr<SessionPool> pool;

  // probe_interval 0 unless a test asks: Postfix's plain retry_interval.
  PoolFixture(std::vector<HostSpec> hosts, int max_sessions, bool duplicate = false,
              std::chrono::seconds retry = 60s, std::chrono::seconds idle = 60s,
              std::size_t max_queue = 4096, int probe_interval = 0) {
    pool = std::make_unique<SessionPool>(
        "fake:db", std::make_unique<FakeDriver>(db), std::move(hosts), duplicate, retry,
        idle, PoolSettings{max_sessions, max_queue, 16, probe_interval}, poster, log,
        clock);
  }

  static PoolJob job(std::vector<LookupResult>& results, std::string sql = "SELECT") {
    return PoolJob{attempt_work([sql](SqlSession& s) {
                     QueryResult r = s.query(sql);
                     if (r.status == QueryStatus::HostError) return Attempt{true, {}};
                     if (r.rows.empty()) return Attempt{false, {ProxyStatus::NoKey, {}}};
                     return Attempt{false, {ProxyStatus::Ok, *r.rows[0][0]}};
                   }),
                   [&results](LookupResult r) { results.push_back(std::move(r)); }};
  }
};

TEST(SessionPool, SessionCountStaysBoundedUnderLoad) {
  PoolFixture f({host("h", HostKind::Inet)}, 3);
  // The first two queries wait for each other: they can only both finish
  // when two sessions run at once (10 s bound so a serial pool fails).
  std::mutex mu;
  std::condition_variable cv;
  int arrived = 0;
  f.db.on_query = [&](const std::string& h, const std::string&) {
    std::unique_lock lock(mu);
    if (arrived < 2 && ++arrived <= 2) {
      cv.notify_all();
      cv.wait_for(lock, 10s, [&] { return arrived >= 2; });
    }
    return testing::rows({{h.c_str()}});
  };
  std::vector<LookupResult> results;
  constexpr int kJobs = 60;
  for (int i = 0; i < kJobs; ++i) f.pool->submit(PoolFixture::job(results));
  EXPECT_EQ(f.poster.run_until(kJobs), kJobs);
  ASSERT_EQ(results.size(), static_cast<std::size_t>(kJobs));
  for (const auto& r : results) EXPECT_EQ(r, (LookupResult{ProxyStatus::Ok, "h"}));
  EXPECT_LE(f.db.peak_live.load(), 3);
  EXPECT_LE(f.db.peak_in_query.load(), 3);
  EXPECT_GE(f.db.peak_in_query.load(), 2);  // work really ran in parallel
  EXPECT_LE(f.pool->worker_count(), 3);
  EXPECT_LE(f.db.connects.load(), 3);  // sessions are reused, not reopened
}

TEST(SessionPool, FailsOverToAnotherHostAndSkipsTheFailedOne) {
  PoolFixture f({host("a", HostKind::Unix), host("b", HostKind::Inet)}, 1);
  f.db.on_query = [](const std::string& h, const std::string&) {
    if (h == "a") return QueryResult{QueryStatus::HostError, {}, "gone", {}};
    return testing::rows({{h.c_str()}});
  };
  std::vector<LookupResult> results;
  f.pool->submit(PoolFixture::job(results));
  f.pool->submit(PoolFixture::job(results));
  ASSERT_EQ(f.poster.run_until(2), 2);
  EXPECT_EQ(results[0], (LookupResult{ProxyStatus::Ok, "b"}));
  EXPECT_EQ(results[1], (LookupResult{ProxyStatus::Ok, "b"}));
  std::lock_guard lock(f.db.mu);
  // "a" (UNIX, preferred) was tried once, then marked down for retry_interval.
  ASSERT_EQ(f.db.queries.size(), 3u);
  EXPECT_EQ(f.db.queries[0], "a|SELECT");
  EXPECT_EQ(f.db.queries[1], "b|SELECT");
  EXPECT_EQ(f.db.queries[2], "b|SELECT");
}

TEST(SessionPool, BrokenSessionIsReplacedAndItsReadRetriedOnce) {
  // One host, no duplication: a session that served a lookup breaks on the
  // next one (server restart, idle kill); the read is retried once on a
  // fresh session and succeeds, and the host is not marked down.
  PoolFixture f({host("h", HostKind::Inet)}, 1, false, 60s);
  std::atomic<int> calls{0};
  f.db.on_query = [&calls](const std::string&, const std::string&) {
    if (++calls == 2)
      return QueryResult{QueryStatus::HostError, {}, "server has gone away", {}};
    return testing::rows({{"ok"}});
  };
  std::vector<LookupResult> results;
  for (int i = 0; i < 3; ++i) f.pool->submit(PoolFixture::job(results));
  ASSERT_EQ(f.poster.run_until(3), 3);
  for (const auto& r : results) EXPECT_EQ(r, (LookupResult{ProxyStatus::Ok, "ok"}));
  EXPECT_EQ(f.db.connects.load(), 2);
  EXPECT_EQ(f.db.live.load(), 1);
  EXPECT_EQ(f.pool->stats().retried, 1u);
}

TEST(SessionPool, FreshSessionFailureIsRetryForThatRequestOnly) {
  // The retried read fails too: only that request gets RETRY; with
  // retry_interval 0 the next request reconnects and succeeds.
  PoolFixture f({host("h", HostKind::Inet)}, 1, false, 0s);
  std::atomic<int> calls{0};
  f.db.on_query = [&calls](const std::string&, const std::string&) {
    int n = ++calls;
    if (n == 2 || n == 3) return QueryResult{QueryStatus::HostError, {}, "gone", {}};
    return testing::rows({{"ok"}});
  };
  std::vector<LookupResult> results;
  for (int i = 0; i < 3; ++i) f.pool->submit(PoolFixture::job(results));
  ASSERT_EQ(f.poster.run_until(3), 3);
  EXPECT_EQ(results[0].status, ProxyStatus::Ok);
  EXPECT_EQ(results[1].status, ProxyStatus::Retry);
  EXPECT_EQ(results[2].status, ProxyStatus::Ok);
  EXPECT_EQ(f.db.connects.load(), 3);
}

TEST(SessionPool, JobPastItsDeadlineIsRetryWithoutRunning) {
  PoolFixture f({host("h", HostKind::Inet)}, 1);
  Gate gate;
  std::atomic<int> ran{0};
  f.db.on_query = [&](const std::string&, const std::string&) {
    if (++ran == 1) gate.pass();
    return testing::rows({{"v"}});
  };
  std::vector<LookupResult> results;
  f.pool->submit(PoolFixture::job(results));
  gate.wait_entered();
  PoolJob late = PoolFixture::job(results);
  late.deadline = f.clock->now() + 20ms;
  f.pool->submit(std::move(late));
  PoolJob timely = PoolFixture::job(results);
  timely.deadline = f.clock->now() + 60s;
  f.pool->submit(std::move(timely));
  f.clock->advance(50ms);  // past the late job's deadline, not the timely one's
  gate.open();
  ASSERT_EQ(f.poster.run_until(3), 3);
  EXPECT_EQ(results[0].status, ProxyStatus::Ok);
  EXPECT_EQ(results[1].status, ProxyStatus::Retry);  // expired in the queue
  EXPECT_EQ(results[2].status, ProxyStatus::Ok);
  EXPECT_EQ(ran.load(), 2);
  EXPECT_EQ(f.pool->stats().expired, 1u);
}

TEST(SessionPool, LoweredLimitRetiresSurplusWorkers) {
  PoolFixture f({host("h", HostKind::Inet)}, 4);
  f.db.on_query = [](const std::string&, const std::string&) {
    std::this_thread::sleep_for(5ms);
    return testing::rows({{"v"}});
  };
  std::vector<LookupResult> results;
  for (int i = 0; i < 40; ++i) f.pool->submit(PoolFixture::job(results));
  ASSERT_EQ(f.poster.run_until(40), 40);
  EXPECT_GE(f.pool->worker_count(), 2);
  f.pool->update_settings(PoolSettings{1, 4096});
  for (int i = 0; i < 50 && f.pool->worker_count() > 1; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(f.pool->worker_count(), 1);
  for (int i = 0; i < 20; ++i) f.pool->submit(PoolFixture::job(results));
  ASSERT_EQ(f.poster.run_until(60), 60);
  for (const auto& r : results) EXPECT_EQ(r.status, ProxyStatus::Ok);
  EXPECT_LE(f.db.live.load(), 1);
  PoolStats st = f.pool->stats();
  EXPECT_EQ(st.max_sessions, 1);
  EXPECT_EQ(st.jobs, 60u);
}

// A worker that retires (or hands its session to the loop) exits; its
// thread is joined when the next one starts, so that a long-running pool
// does not keep a stack per worker it ever had.
TEST(SessionPool, FinishedWorkerThreadsAreJoined) {
  PoolFixture f({host("h", HostKind::Inet)}, 4);
  f.db.on_query = [](const std::string&, const std::string&) {
    std::this_thread::sleep_for(5ms);
    return testing::rows({{"v"}});
  };
  std::vector<LookupResult> results;
  std::size_t answered = 0;
  for (int cycle = 0; cycle < 10; ++cycle) {
    f.pool->update_settings(PoolSettings{4, 4096});
    for (int i = 0; i < 20; ++i) f.pool->submit(PoolFixture::job(results));
    answered += 20;
    ASSERT_EQ(f.poster.run_until(answered), answered);
    f.pool->update_settings(PoolSettings{1, 4096});
    for (int i = 0; i < 100 && f.pool->worker_count() > 1; ++i)
      std::this_thread::sleep_for(5ms);
    ASSERT_EQ(f.pool->worker_count(), 1);
  }
  // Every cycle retired up to 3 workers: at most the last cycle's are
  // still waiting to be joined.
  EXPECT_LE(f.pool->thread_count(), 4u);
  for (const auto& r : results) EXPECT_EQ(r.status, ProxyStatus::Ok);
}

TEST(SessionPool, DuplicatedSingleHostRetriesAtOnce) {
  PoolFixture f({host("h", HostKind::Inet)}, 1, true);
  std::atomic<int> calls{0};
  f.db.on_query = [&calls](const std::string&, const std::string&) {
    if (++calls == 1) return QueryResult{QueryStatus::HostError, {}, "reset", {}};
    return testing::rows({{"ok"}});
  };
  std::vector<LookupResult> results;
  f.pool->submit(PoolFixture::job(results));
  ASSERT_EQ(f.poster.run_until(1), 1);
  EXPECT_EQ(results[0], (LookupResult{ProxyStatus::Ok, "ok"}));
}

TEST(SessionPool, NoReachableHostIsRetry) {
  // One session, so the two lookups run one after the other (with two, both
  // workers may try the same untried host at once).
  PoolFixture f({host("a", HostKind::Inet), host("b", HostKind::Inet)}, 1);
  f.db.refuse_connect = {"a", "b"};
  std::vector<LookupResult> results;
  f.pool->submit(PoolFixture::job(results));
  f.pool->submit(PoolFixture::job(results));
  ASSERT_EQ(f.poster.run_until(2), 2);
  EXPECT_EQ(results[0].status, ProxyStatus::Retry);
  EXPECT_EQ(results[1].status, ProxyStatus::Retry);
  // Both hosts were tried once in total: the second lookup found them down.
  EXPECT_EQ(f.db.connects.load(), 2);
  EXPECT_TRUE(f.log.contains("connect to fake:db"));
}

// Submit one job and wait for its answer.
LookupResult run_one(PoolFixture& f) {
  std::vector<LookupResult> results;
  f.pool->submit(PoolFixture::job(results));
  f.poster.run_while_not([&] { return !results.empty(); });
  return results.empty() ? LookupResult{ProxyStatus::Bad, {}} : results.front();
}

// Wait (bounded, 10 s) until done() holds; the pool's threads make it so.
template <typename Pred>
bool eventually(Pred done) {
  for (int i = 0; i < 10000 && !done(); ++i) std::this_thread::sleep_for(1ms);
  return done();
}

// Issue 14 item 6: after the database comes back, a probe makes the host
// usable again long before retry_interval (60 s here) is over. Time is the
// pool's manual clock: one probe_interval (1 s) passes per advance().
TEST(SessionPool, ProbeMakesAHostUsableAgainWhenItAnswers) {
  PoolFixture f({host("h", HostKind::Inet)}, 1, false, 60s, 60s, 4096, 1);
  f.db.on_query = [](const std::string&, const std::string&) {
    return testing::rows({{"v"}});
  };
  f.db.refuse_connect = {"h"};
  EXPECT_EQ(run_one(f).status, ProxyStatus::Retry);  // connect refused: host down
  EXPECT_EQ(run_one(f).status, ProxyStatus::Retry);  // skipped, as in Postfix
  EXPECT_TRUE(f.log.contains("no usable database host"));
  ASSERT_TRUE(f.clock->await_waiters(1));  // the probe waits out its interval
  f.clock->advance(1s);                    // one probe, which fails
  ASSERT_TRUE(eventually([&] { return f.pool->stats().probes == 1; }));
  EXPECT_EQ(f.pool->stats().revived, 0u);
  ASSERT_TRUE(f.clock->await_waiters(1));
  {
    std::lock_guard lock(f.db.mu);
    f.db.refuse_connect.clear();  // the database is back
  }
  EXPECT_EQ(run_one(f).status, ProxyStatus::Retry);  // still down until probed
  f.clock->advance(1s);
  ASSERT_TRUE(eventually([&] { return f.pool->stats().revived == 1; }));
  EXPECT_EQ(run_one(f), (LookupResult{ProxyStatus::Ok, "v"}));
  std::printf(
      "[ figures  ] host usable again 1 probe interval (1 s of pool time) after the "
      "database answered (retry_interval 60 s)\n");
  PoolStats st = f.pool->stats();
  EXPECT_EQ(st.revived, 1u);
  EXPECT_EQ(st.probes, 2u);
  EXPECT_TRUE(f.log.contains("h answers again: host usable"));
}

TEST(SessionPool, ProbesAreBoundedAndZeroKeepsPostfixRetryInterval) {
  // Many lookups while the host is down start no extra connects: one probe
  // per probe_interval. With 0, no probe runs and the host stays down.
  for (int probe : {1, 0}) {
    PoolFixture f({host("h", HostKind::Inet)}, 2, false, 60s, 60s, 4096, probe);
    f.db.refuse_connect = {"h"};
    EXPECT_EQ(run_one(f).status, ProxyStatus::Retry);
    const int after_failure = f.db.connects.load();
    for (int i = 0; i < 20; ++i) EXPECT_EQ(run_one(f).status, ProxyStatus::Retry);
    if (probe != 0) {
      ASSERT_TRUE(f.clock->await_waiters(1));
      f.clock->advance(1500ms);  // one interval started and over
      ASSERT_TRUE(eventually([&] { return f.pool->stats().probes == 1; }));
    } else {
      f.clock->advance(1500ms);
    }
    for (int i = 0; i < 20; ++i) EXPECT_EQ(run_one(f).status, ProxyStatus::Retry);
    const int connects = f.db.connects.load() - after_failure;
    PoolStats st = f.pool->stats();
    EXPECT_LE(connects, static_cast<int>(st.probes)) << "workers must not reconnect";
    EXPECT_EQ(st.probes, probe == 0 ? 0u : 1u);  // one per started interval
    {
      std::lock_guard lock(f.db.mu);
      f.db.refuse_connect.clear();
    }
    if (probe == 0) {
      f.clock->advance(1200ms);  // a probe would have revived it by now
      EXPECT_EQ(run_one(f).status, ProxyStatus::Retry);  // still within retry_interval
    }
  }
}

TEST(SessionPool, ExceptionInAttemptIsRetryAndRecyclesSession) {
  PoolFixture f({host("h", HostKind::Inet)}, 1);
  std::vector<LookupResult> results;
  f.pool->submit(PoolJob{
      attempt_work([](SqlSession&) -> Attempt { throw std::runtime_error("boom"); }),
      [&](LookupResult r) { results.push_back(r); }});
  f.pool->submit(PoolFixture::job(results));
  f.db.on_query = [](const std::string&, const std::string&) {
    return testing::rows({{"x"}});
  };
  ASSERT_EQ(f.poster.run_until(2), 2);
  EXPECT_EQ(results[0].status, ProxyStatus::Retry);
  EXPECT_EQ(results[1].status, ProxyStatus::Ok);
  EXPECT_EQ(f.db.connects.load(), 2);
}

TEST(SessionPool, WorkersRunAsBatchThreadsAndTheCallerIsUntouched) {
  // A worker woken by the database must not preempt the event loop: jobs
  // run under SCHED_BATCH, the thread that submits keeps its own policy.
  PoolFixture f({host("h", HostKind::Inet)}, 2);
  std::vector<LookupResult> results;
  for (int i = 0; i < 4; ++i) {
    f.pool->submit(
        PoolJob{attempt_work([](SqlSession&) {
                  int policy = sched_getscheduler(0);
                  return Attempt{false, {ProxyStatus::Ok, fmt::format("{}", policy)}};
                }),
                [&](LookupResult r) { results.push_back(r); }});
  }
  ASSERT_EQ(f.poster.run_until(4), 4);
  for (const auto& r : results) {
    EXPECT_EQ(r, (LookupResult{ProxyStatus::Ok, fmt::format("{}", SCHED_BATCH)}));
  }
  EXPECT_EQ(sched_getscheduler(0), SCHED_OTHER);
  EXPECT_FALSE(f.log.contains("scheduling policy"));
}

TEST(SessionPool, ShutdownCompletesQueuedJobsWithRetry) {
  PoolFixture f({host("h", HostKind::Inet)}, 1);
  Gate gate;
  f.db.on_query = [&](const std::string&, const std::string&) {
    gate.pass();
    return testing::rows({{"first"}});
  };
  std::vector<LookupResult> results;
  for (int i = 0; i < 4; ++i) f.pool->submit(PoolFixture::job(results));
  gate.wait_entered();  // job 1 is running, jobs 2-4 are queued
  std::thread stopper([&] { f.pool->shutdown(); });
  // The queued jobs are answered before the running one finishes.
  ASSERT_EQ(f.poster.run_until(3), 3);
  ASSERT_EQ(results.size(), 3u);
  for (const auto& r : results) EXPECT_EQ(r.status, ProxyStatus::Retry);
  gate.open();
  stopper.join();
  ASSERT_EQ(f.poster.run_until(4), 4);
  EXPECT_EQ(results[3], (LookupResult{ProxyStatus::Ok, "first"}));
  EXPECT_EQ(f.db.live.load(), 0);  // the worker closed its session
  f.pool->submit(PoolFixture::job(results));
  ASSERT_EQ(f.poster.run_until(5), 5);
  EXPECT_EQ(results[4].status, ProxyStatus::Retry);
}

TEST(SessionPool, FullQueueAnswersRetry) {
  PoolFixture f({host("h", HostKind::Inet)}, 1, false, 60s, 60s, 2);
  Gate gate;
  f.db.on_query = [&](const std::string&, const std::string&) {
    gate.pass();
    return testing::rows({{"v"}});
  };
  std::vector<LookupResult> results;
  f.pool->submit(PoolFixture::job(results));
  gate.wait_entered();
  for (int i = 0; i < 3; ++i) f.pool->submit(PoolFixture::job(results));  // 2 fit
  ASSERT_EQ(f.poster.run_until(1), 1);
  EXPECT_EQ(results[0].status, ProxyStatus::Retry);
  EXPECT_TRUE(f.log.contains("request queue full"));
  EXPECT_EQ(f.pool->stats().rejected, 1u);
  gate.open();
  ASSERT_EQ(f.poster.run_until(4), 4);
  for (int i = 1; i < 4; ++i) EXPECT_EQ(results[i].status, ProxyStatus::Ok);
}

TEST(SessionPool, IdleSessionIsClosed) {
  PoolFixture f({host("h", HostKind::Inet)}, 1, false, 60s, 1s);
  f.db.on_query = [](const std::string&, const std::string&) {
    return testing::rows({{"v"}});
  };
  std::vector<LookupResult> results;
  f.pool->submit(PoolFixture::job(results));
  ASSERT_EQ(f.poster.run_until(1), 1);
  EXPECT_EQ(f.pool->open_sessions(), 1);
  ASSERT_TRUE(f.clock->await_waiters(1));  // the worker waits for work, idle
  f.clock->advance(999ms);
  for (int i = 0; i < 50; ++i) std::this_thread::sleep_for(ManualClock::kLookEvery);
  EXPECT_EQ(f.pool->open_sessions(), 1);  // not idle long enough yet
  f.clock->advance(1ms);
  for (int i = 0; i < 10000 && f.pool->open_sessions() != 0; ++i)
    std::this_thread::sleep_for(1ms);
  EXPECT_EQ(f.pool->open_sessions(), 0);
  EXPECT_EQ(f.db.live.load(), 0);
  f.pool->submit(PoolFixture::job(results));  // reconnects on demand
  ASSERT_EQ(f.poster.run_until(2), 2);
  EXPECT_EQ(results[1].status, ProxyStatus::Ok);
  EXPECT_EQ(f.db.connects.load(), 2);
}

TEST(BatchRule, OnlySingleSelectStatements) {
  for (const char* sql :
       {"SELECT 1", "select v from t where k='a'", "  \n\tSeLeCt\t1", "SELECT(1)",
        "SELECT*FROM t", "SELECT'a'", "SELECT `k` FROM t"}) {
    EXPECT_TRUE(single_select_statement(sql)) << sql;
  }
  for (const char* sql :
       {"", "SELECT", "SELECTED", "CALL p('a')", "(SELECT 1)", "SELECT 1;",
        "SELECT 'a;b'", "SELECT 1; DROP TABLE t", "WITH x AS (SELECT 1) SELECT * FROM x",
        "/* c */ SELECT 1", "DO 1", "SELECT 1 -- ;"}) {
    EXPECT_FALSE(single_select_statement(sql)) << sql;
  }
  EXPECT_FALSE(single_select_statement(std::string_view("SELECT 1\0; DROP", 16)));
  // Any statement kind, as long as no ';' or NUL could split it.
  EXPECT_TRUE(single_statement_text("CALL p('a')"));
  EXPECT_FALSE(single_statement_text("SELECT 'a;b'"));
  EXPECT_FALSE(single_statement_text(std::string_view("SELECT 1\0", 9)));
}

// A job that splits (prepare/finish) like SQL table lookups: the statement
// is "SELECT <key>"; the fake database echoes the key back.
class SplitWork final : public JobWork {
 public:
  explicit SplitWork(std::string key, const void* group = &kDefaultGroup)
      : key_(std::move(key)), group_(group) {}
  bool splits() const override { return true; }
  const void* batch_group() const override { return group_; }
  Attempt attempt(SqlSession& s) override {
    Prepared p = prepare(s);
    return finish(s.query(p.sql));
  }
  Prepared prepare(SqlSession&) override {
    return Prepared{std::nullopt, fmt::format("SELECT {}", key_)};
  }
  Attempt finish(QueryResult r) override {
    if (r.status == QueryStatus::NeedsSingle) return Attempt{false, {}, true};
    if (r.status == QueryStatus::HostError) return Attempt{true, {}};
    if (r.status != QueryStatus::Rows) return Attempt{false, {ProxyStatus::Retry, {}}};
    if (r.rows.empty()) return Attempt{false, {ProxyStatus::NoKey, {}}};
    return Attempt{false, {ProxyStatus::Ok, *r.rows[0][0]}};
  }

  static constexpr int kDefaultGroup = 0;

 private:
  std::string key_;
  const void* group_;
};

struct BatchFixture : PoolFixture {
  std::map<std::string, LookupResult> results;  // by key
  Gate gate;
  std::atomic<bool> hold_first{true};

  explicit BatchFixture(int max_batch = 16)
      : PoolFixture({host("h", HostKind::Inet)}, 1) {
    db.batching = true;  // before the pool exists: it asks the driver once
    pool = std::make_unique<SessionPool>(
        "fake:db", std::make_unique<FakeDriver>(db),
        std::vector<HostSpec>{host("h", HostKind::Inet)}, false, 60s, 60s,
        PoolSettings{1, 4096, max_batch, 0}, poster, log);
    // The first statement holds the only worker until the gate opens, so that
    // the jobs submitted meanwhile wait as a backlog.
    db.on_query = [this](const std::string&, const std::string& sql) {
      if (hold_first.exchange(false)) gate.pass();
      if (sql.find("fail") != std::string::npos) {
        return QueryResult{QueryStatus::TempError, {}, "no such column", {}};
      }
      return testing::rows({{sql.substr(7).c_str()}});
    };
  }
  void submit(const std::string& key, const void* group = &SplitWork::kDefaultGroup) {
    pool->submit(PoolJob{std::make_unique<SplitWork>(key, group),
                         [this, key](LookupResult r) { results[key] = std::move(r); }});
  }
  // k0 runs alone and holds the worker while k1..kn queue up behind it.
  void backlog_behind_k0(int n) {
    submit("k0");
    gate.wait_entered();
    for (int i = 1; i <= n; ++i) submit(fmt::format("k{}", i));
    gate.open();
  }
  bool wait_for(std::size_t n) {
    return poster.run_while_not([&] { return results.size() == n; });
  }
  std::vector<std::string> queries() {
    std::lock_guard lock(db.mu);
    return db.queries;
  }
  bool sent_a_batch() {
    for (const std::string& q : queries()) {
      if (q.find("batch:") != std::string::npos) return true;
    }
    return false;
  }
};

TEST(SessionPool, BacklogIsSentInBatches) {
  BatchFixture f;
  f.backlog_behind_k0(20);
  ASSERT_TRUE(f.wait_for(21));
  for (int i = 0; i <= 20; ++i) {
    std::string key = fmt::format("k{}", i);
    EXPECT_EQ(f.results[key], (LookupResult{ProxyStatus::Ok, key})) << key;
  }
  // k0 alone, then at most max_batch (16) per round trip, in queue order.
  std::vector<std::string> q = f.queries();
  ASSERT_EQ(q.size(), 23u);
  EXPECT_EQ(q[0], "h|SELECT k0");
  EXPECT_EQ(q[1], "h|batch:16");
  EXPECT_EQ(q[2], "h|SELECT k1");
  EXPECT_EQ(q[17], "h|SELECT k16");
  EXPECT_EQ(q[18], "h|batch:4");
  PoolStats st = f.pool->stats();
  EXPECT_EQ(st.batches, 2u);
  EXPECT_EQ(st.batched, 20u);
  EXPECT_EQ(st.jobs, 21u);
  EXPECT_EQ(f.db.batching_connects.load(), 1);
  EXPECT_EQ(f.db.connects.load(), 1);
}

TEST(SessionPool, BatchesNeverMixTables) {
  BatchFixture f;
  const int table_a = 0;
  const int table_b = 0;
  f.submit("k0", &table_a);
  f.gate.wait_entered();  // k0 holds the worker; a and b queue up interleaved
  for (int i = 1; i <= 8; ++i)
    f.submit(fmt::format("k{}", i), i % 2 ? &table_a : &table_b);
  f.gate.open();
  ASSERT_TRUE(f.wait_for(9));
  for (int i = 0; i <= 8; ++i) {
    std::string key = fmt::format("k{}", i);
    EXPECT_EQ(f.results[key], (LookupResult{ProxyStatus::Ok, key})) << key;
  }
  // The oldest job (k1, table a) goes with the later a's; the b's passed
  // over keep their order and make the next round trip.
  EXPECT_EQ(f.queries(), (std::vector<std::string>{
                             "h|SELECT k0", "h|batch:4", "h|SELECT k1", "h|SELECT k3",
                             "h|SELECT k5", "h|SELECT k7", "h|batch:4", "h|SELECT k2",
                             "h|SELECT k4", "h|SELECT k6", "h|SELECT k8"}));
}

TEST(SessionPool, BatchSizeOneTurnsBatchingOff) {
  BatchFixture f(1);
  f.backlog_behind_k0(5);
  ASSERT_TRUE(f.wait_for(6));
  EXPECT_FALSE(f.sent_a_batch()) << fmt::format("{}", fmt::join(f.queries(), " "));
  EXPECT_EQ(f.pool->stats().batches, 0u);
}

TEST(SessionPool, WhatABatchDoesNotAnswerRunsAlone) {
  BatchFixture f;
  f.submit("k0");
  f.gate.wait_entered();
  for (const char* k : {"k1", "k2fail", "k3"}) f.submit(k);
  f.gate.open();
  ASSERT_TRUE(f.wait_for(4));
  EXPECT_EQ(f.results["k1"], (LookupResult{ProxyStatus::Ok, "k1"}));
  EXPECT_EQ(f.results["k2fail"].status, ProxyStatus::Retry);
  EXPECT_EQ(f.results["k3"], (LookupResult{ProxyStatus::Ok, "k3"}));
  // The batch stopped at the failing statement; it and the rest ran alone.
  std::vector<std::string> want = {"h|SELECT k0",     "h|batch:3",       "h|SELECT k1",
                                   "h|SELECT k2fail", "h|SELECT k2fail", "h|SELECT k3"};
  EXPECT_EQ(f.queries(), want);
  EXPECT_EQ(f.pool->stats().batched, 1u);
}

TEST(SessionPool, TextThatNeedsASingleSessionGetsOneAndBatchingPauses) {
  BatchFixture f;
  f.hold_first = false;
  f.submit("1; DROP TABLE t");  // a batching session refuses it
  ASSERT_TRUE(f.wait_for(1));
  EXPECT_EQ(f.results["1; DROP TABLE t"],
            (LookupResult{ProxyStatus::Ok, "1; DROP TABLE t"}));
  EXPECT_EQ(f.db.batching_connects.load(), 1);
  EXPECT_EQ(f.db.connects.load(), 2);  // reconnected without batching, same host
  // For a while after, the worker keeps its single-statement session: a
  // backlog runs one statement per round trip, with no reconnects.
  f.hold_first = true;
  f.backlog_behind_k0(5);
  ASSERT_TRUE(f.wait_for(7));
  EXPECT_FALSE(f.sent_a_batch()) << fmt::format("{}", fmt::join(f.queries(), " "));
  EXPECT_EQ(f.db.connects.load(), 2);
  EXPECT_FALSE(f.log.contains("refused"));
}

TEST(PoolSet, OnePoolPerIdentity) {
  QueuedPoster poster;
  CaptureLogger log;
  FakeDb db;
  PoolSet set(PoolSettings{}, poster, log);
  DriverFactory factory = [&db](const ConnectParams&) {
    return std::make_unique<FakeDriver>(db);
  };
  ConnectParams a;
  a.kind = SqlKind::Mysql;
  a.hosts = parse_mysql_hosts("db1 db2", "t.cf");
  a.user = "u";
  a.password = "secret";
  a.dbname = "mail";
  ConnectParams b = a;
  ConnectParams c = a;
  c.password = "other";
  auto pa = set.pool_for(a, factory);
  auto pb = set.pool_for(b, factory);
  auto pc = set.pool_for(c, factory);
  EXPECT_EQ(pa, pb);
  EXPECT_NE(pa, pc);
  EXPECT_EQ(set.size(), 2u);
  EXPECT_EQ(pa->label().find("secret"), std::string::npos);  // never in logs
  ConnectParams missing;
  missing.kind = SqlKind::Pgsql;
  EXPECT_EQ(
      set.pool_for(missing,
                   [](const ConnectParams&) { return std::unique_ptr<SqlDriver>(); }),
      nullptr);
  set.shutdown();
}

}  // namespace
}  // namespace proxyd::dict
