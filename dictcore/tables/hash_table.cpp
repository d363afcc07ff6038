// HashTable (see hash_table.h): lookups, deletes and the sequence walk.
#include "dictcore/tables/hash_table.h"

namespace proxyd::dict {

namespace pflags = protocol::flags;

void HashTable::lookup(const std::string& key, uint32_t flags, LookupDone done) {
  if (refused(flags)) return done(LookupResult{ProxyStatus::Retry, {}});
  auto it = entries_.find(request_key(key, flags));
  if (it == entries_.end()) return done(LookupResult{ProxyStatus::NoKey, {}});
  const std::string& value = pick(it->second, flags);
  if (value.empty()) {
    // Postfix returns "" and the client's maps layer turns it into a
    // configuration error; the wire never carries OK with "".
    if (!empty_value_logged_ && log_ != nullptr) {
      log_->warn("table {}: key {}: empty string result is not allowed", name(), key);
      empty_value_logged_ = true;
    }
    return done(LookupResult{ProxyStatus::Config, {}});
  }
  done(LookupResult{ProxyStatus::Ok, value});
}

LookupResult HashTable::answer_any_key(std::size_t key_bytes, uint32_t flags) {
  if (refused(flags)) return LookupResult{ProxyStatus::Retry, {}};
  for (const auto& [key, entry] : entries_) {
    if (key.size() >= key_bytes / 3) return LookupResult{ProxyStatus::Retry, {}};
  }
  return LookupResult{ProxyStatus::NoKey, {}};
}

void HashTable::remove(const std::string& key, uint32_t flags, LookupDone done) {
  auto folded = request_key(key, flags);
  if (entries_.erase(folded) == 0) return done(LookupResult{ProxyStatus::NoKey, {}});
  for (std::size_t i = 0; i < order_.size(); ++i) {
    if (order_[i] != folded) continue;
    order_.erase(order_.begin() + static_cast<std::ptrdiff_t>(i));
    if (i < cursor_) --cursor_;
    break;
  }
  done(LookupResult{ProxyStatus::Ok, {}});
}

void HashTable::sequence(uint32_t function, uint32_t flags, SeqDone done) {
  if (refused(flags)) return done(SeqResult{ProxyStatus::Retry, {}, {}});
  if (function == 0) {
    cursor_ = 0;
  } else if (function != 1) {
    return done(SeqResult{ProxyStatus::NoKey, {}, {}});
  }
  if (cursor_ >= order_.size()) return done(SeqResult{ProxyStatus::NoKey, {}, {}});
  const std::string& key = order_[cursor_++];
  done(SeqResult{ProxyStatus::Ok, key, pick(entries_.at(key), flags)});
}

}  // namespace proxyd::dict
