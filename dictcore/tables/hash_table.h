// HashTable: Postfix's dict_ht, the insertion-ordered in-memory table behind
// inline: and texthash:, with dict_thash's duplicate policy and dict_ht's
// FOLD_FIX key handling. Filled at build time, then served on the loop
// thread; every operation completes before it returns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dictcore/tables/simple_tables.h"
#include "dictcore/tables/table.h"
#include "dictcore/util/fold.h"
#include "dictcore/util/logger.h"
#include "protocol/status.h"

namespace proxyd::dict {

// Request flags that let a texthash table with duplicate keys answer at all.
inline constexpr uint32_t kDupAny = protocol::flags::kDupWarn |
                                    protocol::flags::kDupIgnore |
                                    protocol::flags::kDupReplace;

class HashTable final : public Table {
 public:
  HashTable(Logger* log, const SimpleTableOptions& options)
      : log_(log),
        fold_stored_((options.instance_flags & protocol::flags::kFoldFix) != 0),
        utf8_stored_(options.utf8_stored_keys()),
        utf8_(options.utf8_active()) {}

  // The key an entry of the table source is stored under: case-folded when
  // the instance was opened with FOLD_FIX (Unicode rules only before 3.11).
  std::string stored_key(std::string_view key) const {
    return fold_stored_ ? casefold(key, utf8_stored_) : std::string(key);
  }

  uint32_t impl_flags() const override { return protocol::flags::kFixed; }

  // Build-time store that replaces an existing value (dict_ht update).
  void put(std::string key, std::string value) {
    auto [it, inserted] = entries_.try_emplace(key);
    if (inserted) order_.push_back(std::move(key));
    it->second.first = value;
    it->second.last = std::move(value);
  }

  // True when key is already present (build time).
  bool contains(const std::string& key) const { return entries_.count(key) != 0; }

  // Build-time duplicate of an existing key: remembered for DUP_REPLACE.
  void put_duplicate(const std::string& key, std::string value) {
    entries_.at(key).last = std::move(value);
  }

  // From now on, requests without a DUP_* flag fail with RETRY, as Postfix
  // then replaces the whole table with a surrogate.
  void set_duplicate_failure() { duplicate_failure_ = true; }

  void lookup(const std::string& key, uint32_t flags, LookupDone done) override;

  void update(const std::string& key, const std::string& value, uint32_t flags,
              LookupDone done) override {
    put(request_key(key, flags), value);
    done(LookupResult{ProxyStatus::Ok, {}});
  }

  void remove(const std::string& key, uint32_t flags, LookupDone done) override;

  // Not found when every stored key is far shorter than key_bytes (case
  // folding can shrink a key to a third: the Kelvin sign is 3 bytes, its
  // fold 1); else RETRY.
  LookupResult answer_any_key(std::size_t key_bytes, uint32_t flags) override;

  // Entries in insertion order (Postfix walks its hash table in hash order).
  void sequence(uint32_t function, uint32_t flags, SeqDone done) override;

 private:
  struct Entry {
    std::string first;  // value of the first occurrence
    std::string last;   // value of the last occurrence
  };

  bool refused(uint32_t flags) const {
    return duplicate_failure_ && (flags & kDupAny) == 0;
  }

  // Duplicate policy of dict_thash: IGNORE and WARN keep the first value,
  // REPLACE the last (IGNORE takes precedence over REPLACE).
  static const std::string& pick(const Entry& entry, uint32_t flags) {
    if ((flags & protocol::flags::kDupIgnore) == 0 &&
        (flags & protocol::flags::kDupReplace) != 0) {
      return entry.last;
    }
    return entry.first;
  }

  // The key a lookup/update/delete uses: folded only on FOLD_FIX.
  std::string request_key(const std::string& key, uint32_t flags) const {
    return (flags & protocol::flags::kFoldFix) ? casefold(key, utf8_) : key;
  }

  Logger* log_;
  bool fold_stored_;  // instance opened with FOLD_FIX
  bool utf8_stored_;  // stored keys folded with Unicode rules (before 3.11)
  bool utf8_;         // UTF-8 layer active: Unicode folding
  std::unordered_map<std::string, Entry> entries_;
  std::vector<std::string> order_;
  std::size_t cursor_ = 0;
  bool duplicate_failure_ = false;
  bool empty_value_logged_ = false;
};

}  // namespace proxyd::dict
