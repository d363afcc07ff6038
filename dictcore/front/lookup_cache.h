// The optional answer cache: "found" and "not found" answers kept for a
// per-table time to live (positive and negative TTL), bounded in bytes with
// least-recently-used eviction. Temporary and configuration errors are never
// stored. One cache per configuration generation (a reload starts empty).
// Loop thread only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "dictcore/tables/table.h"

namespace proxyd::dict {

class LookupCache {
 public:
  using Clock = std::chrono::steady_clock;

  // max_bytes bounds keys + values + per-entry overhead; 0 disables storing.
  explicit LookupCache(std::size_t max_bytes) : max_bytes_(max_bytes) {}
  LookupCache(const LookupCache&) = delete;
  LookupCache& operator=(const LookupCache&) = delete;

  // The cached answer for (table, flags, key) when present and fresh at now.
  std::optional<LookupResult> get(std::string_view table, uint32_t flags,
                                  std::string_view key, Clock::time_point now);

  // Like get, without copying: the entry, valid until the next call that
  // changes the cache; null when absent or stale.
  const LookupResult* find(std::string_view table, uint32_t flags, std::string_view key,
                           Clock::time_point now);

  // Store an OK or NOKEY answer until expires; other statuses are ignored.
  void put(std::string_view table, uint32_t flags, std::string_view key,
           const LookupResult& result, Clock::time_point expires);

  // Drop everything.
  void clear();

  std::size_t entries() const { return index_.size(); }
  std::size_t bytes() const { return bytes_; }
  std::size_t max_bytes() const { return max_bytes_; }
  uint64_t evictions() const { return evictions_; }

  // Bytes charged for one entry besides its key and value.
  static constexpr std::size_t kEntryOverhead = 96;

 private:
  struct Entry {
    std::string id;  // table, flags and key, NUL-separated
    LookupResult result;
    Clock::time_point expires;
    std::size_t cost = 0;
  };
  using List = std::list<Entry>;

  static void make_id(std::string_view table, uint32_t flags, std::string_view key,
                      std::string& id);
  void erase(List::iterator it);

  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  uint64_t evictions_ = 0;
  List lru_;  // most recently used first
  std::unordered_map<std::string_view, List::iterator> index_;  // views into Entry::id
  std::string scratch_;  // id of the lookup in progress (no allocation per hit)
};

}  // namespace proxyd::dict
