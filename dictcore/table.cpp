// Default implementations of the optional Table operations: answer CONFIG,
// as a table that does not support the operation cannot succeed.
#include "dictcore/table.h"

namespace proxyd::dict {

void Table::update(const std::string&, const std::string&, uint32_t, LookupDone done) {
  done(LookupResult{ProxyStatus::Config, {}});
}

void Table::remove(const std::string&, uint32_t, LookupDone done) {
  done(LookupResult{ProxyStatus::Config, {}});
}

void Table::sequence(uint32_t, uint32_t, SeqDone done) {
  done(SeqResult{ProxyStatus::Config, {}, {}});
}

}  // namespace proxyd::dict
