// Default implementations of the optional Table operations: answer CONFIG,
// as a table that does not support the operation cannot succeed (RETRY for
// a key too long to keep, whose answer is unknown); and the smtputf8 switch
// every table derives from its environment.
#include "dictcore/tables/table.h"

#include "dictcore/config/main_cf.h"

namespace proxyd::dict {

bool smtputf8_enabled(const TableEnv& env) {
  return env.main_cf == nullptr || env.main_cf->get_bool("smtputf8_enable");
}

void Table::update(const std::string&, const std::string&, uint32_t, LookupDone done) {
  done(LookupResult{ProxyStatus::Config, {}});
}

void Table::remove(const std::string&, uint32_t, LookupDone done) {
  done(LookupResult{ProxyStatus::Config, {}});
}

void Table::sequence(uint32_t, uint32_t, SeqDone done) {
  done(SeqResult{ProxyStatus::Config, {}, {}});
}

LookupResult Table::answer_any_key(std::size_t, uint32_t) {
  return LookupResult{ProxyStatus::Retry, {}};
}

}  // namespace proxyd::dict
