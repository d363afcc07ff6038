// Surrogate table (Postfix dict_surrogate): stands in for a table that could
// not be opened, reports PATTERN on open and fails every operation with a
// fixed status, so the daemon keeps serving every other table. Postfix's own
// surrogates always fail with RETRY; proxyd also uses CONFIG for malformed
// configuration that would make the real daemon exit. Loop thread only.
#pragma once

#include <string>

#include "dictcore/tables/table.h"

namespace proxyd::dict {

// A table that answers one fixed error status to every operation.
class SurrogateTable final : public Table {
 public:
  SurrogateTable(ProxyStatus status, std::string reason)
      : status_(status), reason_(std::move(reason)) {}

  // PATTERN, as Postfix's surrogate reports.
  uint32_t impl_flags() const override;
  // Every operation answers status().
  void lookup(const std::string& key, uint32_t flags, LookupDone done) override;
  void update(const std::string& key, const std::string& value, uint32_t flags,
              LookupDone done) override;
  void remove(const std::string& key, uint32_t flags, LookupDone done) override;
  void sequence(uint32_t function, uint32_t flags, SeqDone done) override;

  // The status every operation answers.
  ProxyStatus status() const { return status_; }
  // Why the real table could not be opened (logged once at open).
  const std::string& reason() const { return reason_; }

 private:
  ProxyStatus status_;
  std::string reason_;
};

// A table whose every operation answers status (Retry or Config).
TablePtr make_surrogate(std::string name, ProxyStatus status, std::string reason);

}  // namespace proxyd::dict
