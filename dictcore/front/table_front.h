// What every lookup passes through before it reaches a table: the optional
// answer cache, coalescing of identical lookups already in flight (same
// table, flags and key run as one query), the per-request deadline (RETRY
// when lookup_timeout passes) and the per-table counters. One front per open
// table and configuration generation. Loop thread only.
//
//   request ─▶ cache hit? ─▶ answer
//              └─▶ same (flags, key) in flight? ─▶ wait for it (coalesced)
//                  └─▶ table->lookup ─▶ answer every waiter, store in cache
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dictcore/front/lookup_cache.h"
#include "dictcore/front/table_stats.h"
#include "dictcore/tables/table.h"

namespace proxyd::dict {

// How answers of one table are cached; zero TTL: not cached.
struct CachePolicy {
  std::chrono::seconds ttl{0};           // "found" answers
  std::chrono::seconds negative_ttl{0};  // "not found" answers
  bool enabled() const { return ttl.count() > 0 || negative_ttl.count() > 0; }
};

class TableFront : public std::enable_shared_from_this<TableFront> {
 public:
  using Clock = std::chrono::steady_clock;
  using NowFn = std::function<Clock::time_point()>;

  // cache may be null (no cache); stats must not be null. The front shares
  // the cache with its generation: a lookup that outlives a reload still
  // has a cache to store its late answer in.
  TableFront(TablePtr table, std::shared_ptr<TableStats> stats,
             std::shared_ptr<LookupCache> cache, CachePolicy policy,
             std::chrono::milliseconds lookup_timeout, NowFn now = Clock::now);
  TableFront(const TableFront&) = delete;
  TableFront& operator=(const TableFront&) = delete;

  // Look up key; done runs exactly once on the loop thread, possibly before
  // this returns (cache hit, in-memory table).
  void lookup(const std::string& key, uint32_t flags, LookupDone done);

  // The cache's answer for key, counted like lookup() counts a cache hit;
  // null, and nothing counted, when the cache has none (then call lookup).
  // Valid until the next call on this front or its cache.
  const LookupResult* lookup_cached(const std::string& key, uint32_t flags);

  // Answer RETRY to every waiter whose deadline is at or before now; the
  // query keeps running and its answer still reaches the others and the
  // cache. Returns how many waiters were answered.
  std::size_t expire(Clock::time_point now);

  // Lookups waiting for an answer from the table.
  std::size_t waiting() const { return waiting_; }

  Table& table() { return *table_; }

 private:
  struct Waiter {
    LookupDone done;
    Clock::time_point start;
    Clock::time_point deadline;
  };
  using Id = std::pair<uint32_t, std::string>;  // flags, key

  void finish(const Id& id, LookupResult result);
  void answer(Waiter& waiter, const LookupResult& result, Clock::time_point now);
  void count(const LookupResult& result, Clock::time_point start, Clock::time_point now);

  TablePtr table_;
  std::shared_ptr<TableStats> stats_;
  std::shared_ptr<LookupCache> cache_;
  CachePolicy policy_;
  std::chrono::milliseconds lookup_timeout_;
  NowFn now_;
  std::map<Id, std::vector<Waiter>> in_flight_;
  std::size_t waiting_ = 0;
};

using TableFrontPtr = std::shared_ptr<TableFront>;

}  // namespace proxyd::dict
