// Surrogate table: the stand-in Postfix's dict_surrogate() creates when a
// table cannot be opened. Every operation fails with one fixed status and
// warns as Postfix's does on each access; the open reply carries PATTERN.
// Loop thread only.
#include "dictcore/tables/surrogate.h"

#include <memory>

#include "protocol/status.h"

namespace proxyd::dict {

uint32_t SurrogateTable::impl_flags() const { return protocol::flags::kPattern; }

void SurrogateTable::warn_unavailable() const {
  if (log_ != nullptr)
    log_->warn_limited(name(), "{} is unavailable. {}", name(), reason_);
}

void SurrogateTable::lookup(const std::string&, uint32_t, LookupDone done) {
  warn_unavailable();
  done(LookupResult{status_, {}});
}

void SurrogateTable::update(const std::string&, const std::string&, uint32_t,
                            LookupDone done) {
  warn_unavailable();
  done(LookupResult{status_, {}});
}

void SurrogateTable::remove(const std::string&, uint32_t, LookupDone done) {
  warn_unavailable();
  done(LookupResult{status_, {}});
}

void SurrogateTable::sequence(uint32_t, uint32_t, SeqDone done) {
  warn_unavailable();
  done(SeqResult{status_, {}, {}});
}

LookupResult SurrogateTable::answer_any_key(std::size_t, uint32_t) {
  warn_unavailable();
  return LookupResult{status_, {}};
}

TablePtr make_surrogate(std::string name, ProxyStatus status, std::string reason,
                        Logger* log) {
  auto table = std::make_shared<SurrogateTable>(status, std::move(reason), log);
  table->set_name(std::move(name));
  return table;
}

}  // namespace proxyd::dict
