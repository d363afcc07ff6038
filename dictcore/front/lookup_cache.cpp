// LRU answer cache (see lookup_cache.h). The index keys are views of the
// ids stored in the list nodes, which never move while the entry lives.
#include "dictcore/front/lookup_cache.h"

namespace proxyd::dict {

void LookupCache::make_id(std::string_view table, uint32_t flags, std::string_view key,
                          std::string& id) {
  id.clear();
  id.reserve(table.size() + key.size() + 6);
  id.append(table);
  id.push_back('\0');
  for (int shift = 0; shift < 32; shift += 8) {
    id.push_back(
        static_cast<char>((flags >> shift) & 0xff));  // fixed width: no ambiguity
  }
  id.push_back('\0');
  id.append(key);
}

void LookupCache::erase(List::iterator it) {
  index_.erase(std::string_view(it->id));
  bytes_ -= it->cost;
  lru_.erase(it);
}

std::optional<LookupResult> LookupCache::get(std::string_view table, uint32_t flags,
                                             std::string_view key,
                                             Clock::time_point now) {
  const LookupResult* hit = find(table, flags, key, now);
  if (hit == nullptr) return std::nullopt;
  return *hit;
}

const LookupResult* LookupCache::find(std::string_view table, uint32_t flags,
                                      std::string_view key, Clock::time_point now) {
  if (index_.empty()) return nullptr;
  make_id(table, flags, key, scratch_);
  auto found = index_.find(std::string_view(scratch_));
  if (found == index_.end()) return nullptr;
  List::iterator it = found->second;
  if (now >= it->expires) {
    erase(it);
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, it);
  return &it->result;
}

void LookupCache::put(std::string_view table, uint32_t flags, std::string_view key,
                      const LookupResult& result, Clock::time_point expires) {
  if (result.status != ProxyStatus::Ok && result.status != ProxyStatus::NoKey) return;
  std::string id;
  make_id(table, flags, key, id);
  std::size_t cost = id.size() + result.value.size() + kEntryOverhead;
  if (cost > max_bytes_) return;
  if (auto found = index_.find(std::string_view(id)); found != index_.end()) {
    erase(found->second);
  }
  while (bytes_ + cost > max_bytes_ && !lru_.empty()) {
    erase(std::prev(lru_.end()));
    ++evictions_;
  }
  lru_.push_front(Entry{std::move(id), result, expires, cost});
  index_.emplace(std::string_view(lru_.front().id), lru_.begin());
  bytes_ += cost;
}

void LookupCache::clear() {
  index_.clear();
  lru_.clear();
  bytes_ = 0;
}

}  // namespace proxyd::dict
