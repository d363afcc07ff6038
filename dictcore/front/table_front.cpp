// Cache, coalescing, deadline and counters in front of a table (see
// table_front.h). An in-flight entry is removed before its waiters are
// answered, so a waiter's callback may start the same lookup again.
#include "dictcore/front/table_front.h"

namespace proxyd::dict {

TableFront::TableFront(TablePtr table, std::shared_ptr<TableStats> stats,
                       std::shared_ptr<LookupCache> cache, CachePolicy policy,
                       std::chrono::milliseconds lookup_timeout, NowFn now)
    : table_(std::move(table)),
      stats_(std::move(stats)),
      cache_(policy.enabled() ? std::move(cache) : nullptr),
      policy_(policy),
      lookup_timeout_(lookup_timeout),
      now_(std::move(now)) {}

void TableFront::answer(Waiter& waiter, const LookupResult& result,
                        Clock::time_point now) {
  count(result, waiter.start, now);
  LookupDone done = std::move(waiter.done);
  done(result);
}

void TableFront::count(const LookupResult& result, Clock::time_point start,
                       Clock::time_point now) {
  TableStats& s = *stats_;
  switch (result.status) {
    case ProxyStatus::Ok:
      ++(result.value.empty() ? s.notfound : s.ok);
      break;
    case ProxyStatus::NoKey:
      ++s.notfound;
      break;
    case ProxyStatus::Retry:
      ++s.retry;
      break;
    default:
      ++s.failed;
      break;
  }
  s.latency.record(std::chrono::duration_cast<std::chrono::microseconds>(now - start));
}

const LookupResult* TableFront::lookup_cached(const std::string& key, uint32_t flags) {
  if (cache_ == nullptr) return nullptr;
  Clock::time_point now = now_();
  const LookupResult* hit = cache_->find(table_->name(), flags, key, now);
  if (hit == nullptr) return nullptr;
  ++stats_->requests;
  ++stats_->cache_hits;
  count(*hit, now, now);
  return hit;
}

void TableFront::lookup(const std::string& key, uint32_t flags, LookupDone done) {
  Clock::time_point now = now_();
  ++stats_->requests;
  Waiter waiter{std::move(done), now, now + lookup_timeout_};
  if (cache_ != nullptr) {
    if (auto hit = cache_->get(table_->name(), flags, key, now)) {
      ++stats_->cache_hits;
      answer(waiter, *hit, now);
      return;
    }
  }
  Id id{flags, key};
  if (auto it = in_flight_.find(id); it != in_flight_.end()) {
    ++stats_->coalesced;
    it->second.push_back(std::move(waiter));
    ++waiting_;
    return;
  }
  in_flight_[id].push_back(std::move(waiter));
  ++waiting_;
  ++stats_->queries;
  // The table may answer before lookup() returns; the callback keeps this
  // front alive until the table answers, even after a reload retired it.
  table_->lookup(key, flags, [self = shared_from_this(), id](LookupResult result) {
    self->finish(id, std::move(result));
  });
}

void TableFront::finish(const Id& id, LookupResult result) {
  auto it = in_flight_.find(id);
  if (it == in_flight_.end()) return;
  std::vector<Waiter> waiters = std::move(it->second);
  in_flight_.erase(it);
  waiting_ -= waiters.size();
  Clock::time_point now = now_();
  if (cache_ != nullptr) {
    std::chrono::seconds ttl{0};
    if (result.status == ProxyStatus::Ok && !result.value.empty()) ttl = policy_.ttl;
    if (result.status == ProxyStatus::NoKey ||
        (result.status == ProxyStatus::Ok && result.value.empty())) {
      ttl = policy_.negative_ttl;
    }
    if (ttl.count() > 0)
      cache_->put(table_->name(), id.first, id.second, result, now + ttl);
  }
  for (Waiter& w : waiters) answer(w, result, now);
}

std::size_t TableFront::expire(Clock::time_point now) {
  std::vector<Waiter> late;
  for (auto& [id, waiters] : in_flight_) {
    for (auto w = waiters.begin(); w != waiters.end();) {
      if (w->deadline <= now) {
        late.push_back(std::move(*w));
        w = waiters.erase(w);
      } else {
        ++w;
      }
    }
  }
  // Entries with no waiters left stay until the table answers: identical
  // lookups arriving meanwhile join the running query instead of adding one.
  waiting_ -= late.size();
  stats_->timeouts += late.size();
  for (Waiter& w : late) answer(w, LookupResult{ProxyStatus::Retry, {}}, now);
  return late.size();
}

}  // namespace proxyd::dict
