// Tests for the lookup path in front of tables: coalescing of identical
// lookups in flight, the per-request deadline, the optional cache (TTLs,
// never caching temporary errors, byte bound with LRU eviction) and the
// counters and latency percentiles the stats command prints.
#include "dictcore/front/table_front.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "dictcore/front/lookup_cache.h"
#include "dictcore/front/table_stats.h"

namespace proxyd::dict {
namespace {

using namespace std::chrono_literals;
using Clock = TableFront::Clock;

// A table whose lookups stay pending until the test answers them.
class PendingTable final : public Table {
 public:
  uint32_t impl_flags() const override { return 0; }
  void lookup(const std::string& key, uint32_t flags, LookupDone done) override {
    calls.push_back({key, flags});
    pending.push_back(std::move(done));
  }
  void answer(std::size_t i, LookupResult r) {
    LookupDone done = std::move(pending.at(i));
    done(std::move(r));
  }
  std::vector<std::pair<std::string, uint32_t>> calls;
  std::vector<LookupDone> pending;
};

struct FrontFixture {
  explicit FrontFixture(CachePolicy policy = {}, std::size_t cache_bytes = 1 << 20)
      : table(std::make_shared<PendingTable>()),
        stats(std::make_shared<TableStats>()),
        cache(std::make_shared<LookupCache>(cache_bytes)) {
    table->set_name("mysql:/etc/postfix/t.cf");
    front = std::make_shared<TableFront>(table, stats, cache, policy, 2000ms,
                                         [this] { return now; });
  }
  // Lookups a test left unanswered hold the front, which holds the table
  // that holds them: drop them, or every such test leaks the cycle.
  ~FrontFixture() { table->pending.clear(); }
  LookupDone collect() {
    return [this](LookupResult r) { results.push_back(std::move(r)); };
  }
  Clock::time_point now = Clock::time_point{} + 1000s;
  std::shared_ptr<PendingTable> table;
  std::shared_ptr<TableStats> stats;
  std::shared_ptr<LookupCache> cache;
  std::shared_ptr<TableFront> front;
  std::vector<LookupResult> results;
};

TEST(TableFront, IdenticalLookupsInFlightRunAsOneQuery) {
  FrontFixture f;
  for (int i = 0; i < 5; ++i) f.front->lookup("a@example.com", 0x40, f.collect());
  f.front->lookup("a@example.com", 0x41, f.collect());  // other flags: own query
  f.front->lookup("b@example.com", 0x40, f.collect());  // other key: own query
  ASSERT_EQ(f.table->calls.size(), 3u);
  EXPECT_EQ(f.front->waiting(), 7u);
  f.table->answer(0, {ProxyStatus::Ok, "x"});
  ASSERT_EQ(f.results.size(), 5u);
  for (const auto& r : f.results) EXPECT_EQ(r, (LookupResult{ProxyStatus::Ok, "x"}));
  f.table->answer(1, {ProxyStatus::NoKey, {}});
  f.table->answer(2, {ProxyStatus::Retry, {}});
  EXPECT_EQ(f.results.size(), 7u);
  EXPECT_EQ(f.stats->requests, 7u);
  EXPECT_EQ(f.stats->coalesced, 4u);
  EXPECT_EQ(f.stats->queries, 3u);
  EXPECT_EQ(f.stats->ok, 5u);
  EXPECT_EQ(f.stats->notfound, 1u);
  EXPECT_EQ(f.stats->retry, 1u);
  // Once answered, the same lookup runs again (no cache configured).
  f.front->lookup("a@example.com", 0x40, f.collect());
  EXPECT_EQ(f.table->calls.size(), 4u);
}

TEST(TableFront, WaiterCallbackMayStartTheSameLookupAgain) {
  FrontFixture f;
  bool again = false;
  f.front->lookup("k", 0, [&](LookupResult) {
    if (!again) {
      again = true;
      f.front->lookup("k", 0, f.collect());
    }
  });
  f.table->answer(0, {ProxyStatus::Ok, "v"});
  ASSERT_EQ(f.table->calls.size(), 2u);  // a new query, not a lost waiter
  f.table->answer(1, {ProxyStatus::Ok, "w"});
  ASSERT_EQ(f.results.size(), 1u);
  EXPECT_EQ(f.results[0].value, "w");
}

TEST(TableFront, DeadlinePassedIsRetryAndLateAnswerStillServesOthers) {
  FrontFixture f;
  f.front->lookup("slow", 0, f.collect());
  f.now += 1500ms;
  f.front->lookup("slow", 0, f.collect());  // joins, its own deadline is later
  EXPECT_EQ(f.front->expire(f.now), 0u);
  f.now += 600ms;  // first waiter is 2.1 s old
  EXPECT_EQ(f.front->expire(f.now), 1u);
  ASSERT_EQ(f.results.size(), 1u);
  EXPECT_EQ(f.results[0].status, ProxyStatus::Retry);
  EXPECT_EQ(f.stats->timeouts, 1u);
  f.table->answer(0, {ProxyStatus::Ok, "late"});
  ASSERT_EQ(f.results.size(), 2u);
  EXPECT_EQ(f.results[1], (LookupResult{ProxyStatus::Ok, "late"}));
  EXPECT_EQ(f.front->waiting(), 0u);
}

TEST(TableFront, QueryWithNoWaitersLeftStillCoalescesNewcomers) {
  FrontFixture f;
  f.front->lookup("hung", 0, f.collect());
  f.now += 3s;
  EXPECT_EQ(f.front->expire(f.now), 1u);
  f.front->lookup("hung", 0, f.collect());
  EXPECT_EQ(f.table->calls.size(), 1u);  // no second query piled on the hung one
  f.table->answer(0, {ProxyStatus::NoKey, {}});
  ASSERT_EQ(f.results.size(), 2u);
  EXPECT_EQ(f.results[1].status, ProxyStatus::NoKey);
}

TEST(TableFront, CacheServesFoundAndNotFoundForTheirTtls) {
  FrontFixture f(CachePolicy{60s, 10s});
  f.front->lookup("hit", 0, f.collect());
  f.table->answer(0, {ProxyStatus::Ok, "v"});
  f.front->lookup("miss", 0, f.collect());
  f.table->answer(1, {ProxyStatus::NoKey, {}});
  f.now += 5s;
  f.front->lookup("hit", 0, f.collect());
  f.front->lookup("miss", 0, f.collect());
  EXPECT_EQ(f.table->calls.size(), 2u);
  ASSERT_EQ(f.results.size(), 4u);
  EXPECT_EQ(f.results[2], (LookupResult{ProxyStatus::Ok, "v"}));
  EXPECT_EQ(f.results[3].status, ProxyStatus::NoKey);
  EXPECT_EQ(f.stats->cache_hits, 2u);
  f.now += 10s;  // negative TTL over, positive TTL not
  f.front->lookup("hit", 0, f.collect());
  f.front->lookup("miss", 0, f.collect());
  EXPECT_EQ(f.table->calls.size(), 3u);
  EXPECT_EQ(f.table->calls.back().first, "miss");
  f.table->answer(2, {ProxyStatus::NoKey, {}});
  f.now += 60s;  // positive TTL over
  f.front->lookup("hit", 0, f.collect());
  EXPECT_EQ(f.table->calls.size(), 4u);
  // Flags are part of the cache key.
  f.front->lookup("miss", 0x40, f.collect());
  EXPECT_EQ(f.table->calls.size(), 5u);
}

TEST(TableFront, TemporaryAndConfigErrorsAreNeverCached) {
  FrontFixture f(CachePolicy{60s, 60s});
  f.front->lookup("k", 0, f.collect());
  f.table->answer(0, {ProxyStatus::Retry, {}});
  f.front->lookup("k", 0, f.collect());
  f.table->answer(1, {ProxyStatus::Config, {}});
  f.front->lookup("k", 0, f.collect());
  EXPECT_EQ(f.table->calls.size(), 3u);
  EXPECT_EQ(f.stats->cache_hits, 0u);
  EXPECT_EQ(f.cache->entries(), 0u);
}

TEST(TableFront, NoCacheByDefault) {
  FrontFixture f;  // zero TTLs
  f.front->lookup("k", 0, f.collect());
  f.table->answer(0, {ProxyStatus::Ok, "v"});
  f.front->lookup("k", 0, f.collect());
  EXPECT_EQ(f.table->calls.size(), 2u);
  EXPECT_EQ(f.cache->entries(), 0u);
}

// A reload retires a cached table's generation while a slow lookup on it
// is past its deadline: the generation's last reference goes with the
// timed-out client, and the late answer must still find a live cache (under
// ASan a use after free otherwise). Afterwards nothing of it stays behind.
TEST(TableFront, LateAnswerAfterItsGenerationDiedIsStoredSafely) {
  auto table = std::make_shared<PendingTable>();
  table->set_name("mysql:/etc/postfix/t.cf");
  auto stats = std::make_shared<TableStats>();
  Clock::time_point now = Clock::time_point{} + 1000s;
  std::vector<LookupResult> results;
  std::weak_ptr<TableFront> weak_front;
  std::weak_ptr<LookupCache> weak_cache;
  {
    // What a Generation holds: its cache and the table's front.
    auto cache = std::make_shared<LookupCache>(1 << 20);
    auto front = std::make_shared<TableFront>(table, stats, cache, CachePolicy{60s, 60s},
                                              2000ms, [&now] { return now; });
    front->lookup("slow", 0,
                  [&results](LookupResult r) { results.push_back(std::move(r)); });
    now += 3s;
    EXPECT_EQ(front->expire(now), 1u);  // the client got RETRY and left
    weak_front = front;
    weak_cache = cache;
  }  // the generation is gone
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status, ProxyStatus::Retry);
  ASSERT_FALSE(weak_front.expired());  // the running query keeps its front
  ASSERT_FALSE(weak_cache.expired());  // and the cache it stores into
  table->answer(0, {ProxyStatus::Ok, "late"});
  EXPECT_EQ(results.size(), 1u);  // nobody left to answer
  EXPECT_EQ(stats->queries, 1u);
  EXPECT_TRUE(weak_front.expired());  // both freed with the last callback
  EXPECT_TRUE(weak_cache.expired());
}

TEST(LookupCache, BoundedInBytesWithLruEviction) {
  const std::size_t per_entry = LookupCache::kEntryOverhead + 40;
  LookupCache cache(3 * per_entry);
  Clock::time_point now{}, later = now + 100s;
  for (int i = 0; i < 3; ++i) {
    cache.put("t", 0, std::string(20, static_cast<char>('a' + i)),
              {ProxyStatus::Ok, std::string(10, 'v')}, later);
  }
  EXPECT_EQ(cache.entries(), 3u);
  EXPECT_LE(cache.bytes(), cache.max_bytes());
  // Touch "a" so "b" is the least recently used.
  EXPECT_TRUE(cache.get("t", 0, std::string(20, 'a'), now).has_value());
  cache.put("t", 0, std::string(20, 'd'), {ProxyStatus::Ok, std::string(10, 'v')}, later);
  EXPECT_EQ(cache.entries(), 3u);
  EXPECT_EQ(cache.evictions(), 1u);
  EXPECT_FALSE(cache.get("t", 0, std::string(20, 'b'), now).has_value());
  EXPECT_TRUE(cache.get("t", 0, std::string(20, 'a'), now).has_value());
  EXPECT_TRUE(cache.get("t", 0, std::string(20, 'd'), now).has_value());
  // An entry larger than the whole cache is not stored.
  cache.put("t", 0, "big", {ProxyStatus::Ok, std::string(10000, 'x')}, later);
  EXPECT_FALSE(cache.get("t", 0, "big", now).has_value());
  // Table names keep entries apart.
  EXPECT_FALSE(cache.get("u", 0, std::string(20, 'a'), now).has_value());
  // A million distinct keys stay within the bound.
  LookupCache small(64 * 1024);
  for (int i = 0; i < 1000000; ++i) {
    small.put("t", 0, std::to_string(i), {ProxyStatus::NoKey, {}}, later);
  }
  EXPECT_LE(small.bytes(), small.max_bytes());
  EXPECT_GT(small.entries(), 100u);
}

TEST(LatencyHistogram, PercentilesWithinOneBucket) {
  LatencyHistogram h;
  EXPECT_EQ(h.percentile(0.5).count(), 0);
  for (int i = 1; i <= 1000; ++i) h.record(std::chrono::microseconds(i * 10));
  auto within = [](std::chrono::microseconds got, double want) {
    return got.count() >= want && got.count() <= want * 1.13 + 1;
  };
  EXPECT_TRUE(within(h.percentile(0.5), 5000)) << h.percentile(0.5).count();
  EXPECT_TRUE(within(h.percentile(0.99), 9900)) << h.percentile(0.99).count();
  EXPECT_TRUE(within(h.percentile(1.0), 10000)) << h.percentile(1.0).count();
  h.record(std::chrono::hours(10));  // beyond the last bucket: clamped, counted
  EXPECT_EQ(h.count(), 1001u);
  EXPECT_GE(h.percentile(1.0).count(), 1000000000);
}

}  // namespace
}  // namespace proxyd::dict
