// Surrogate table (Postfix dict_surrogate): stands in for a table that could
// not be opened, reports PATTERN on open and fails every operation with a
// fixed status, so the daemon keeps serving every other table. Postfix's own
// surrogates always fail with RETRY; proxyd also uses CONFIG for malformed
// configuration that would make the real daemon exit. Each access warns in
// Postfix's words ("T is unavailable. REASON"), rate-limited per table.
// Loop thread only.
#pragma once

#include <string>

#include "dictcore/tables/table.h"
#include "dictcore/util/logger.h"

namespace proxyd::dict {

// A table that answers one fixed error status to every operation.
class SurrogateTable final : public Table {
 public:
  // log (may be null) receives the warning on each access.
  SurrogateTable(ProxyStatus status, std::string reason, Logger* log = nullptr)
      : status_(status), reason_(std::move(reason)), log_(log) {}

  // PATTERN, as Postfix's surrogate reports.
  uint32_t impl_flags() const override;
  // Every operation answers status().
  void lookup(const std::string& key, uint32_t flags, LookupDone done) override;
  void update(const std::string& key, const std::string& value, uint32_t flags,
              LookupDone done) override;
  void remove(const std::string& key, uint32_t flags, LookupDone done) override;
  void sequence(uint32_t function, uint32_t flags, SeqDone done) override;
  // status(), as for any key.
  LookupResult answer_any_key(std::size_t key_bytes, uint32_t flags) override;

  // The status every operation answers.
  ProxyStatus status() const { return status_; }
  // Why the real table could not be opened (logged at open and on access).
  const std::string& reason() const { return reason_; }

 private:
  // Postfix's warning on each access, through the log's rate limit.
  void warn_unavailable() const;

  ProxyStatus status_;
  std::string reason_;
  Logger* log_;
};

// A table whose every operation answers status (Retry or Config); log (may
// be null) is warned on each access.
TablePtr make_surrogate(std::string name, ProxyStatus status, std::string reason,
                        Logger* log = nullptr);

}  // namespace proxyd::dict
