// Surrogate table: the stand-in Postfix's dict_surrogate() creates when a
// table cannot be opened. Every operation fails with one fixed status; the
// open reply carries PATTERN. Loop thread only.
#include "dictcore/tables/surrogate.h"

#include <memory>

#include "protocol/status.h"

namespace proxyd::dict {

uint32_t SurrogateTable::impl_flags() const { return protocol::flags::kPattern; }

void SurrogateTable::lookup(const std::string&, uint32_t, LookupDone done) {
  done(LookupResult{status_, {}});
}

void SurrogateTable::update(const std::string&, const std::string&, uint32_t,
                            LookupDone done) {
  done(LookupResult{status_, {}});
}

void SurrogateTable::remove(const std::string&, uint32_t, LookupDone done) {
  done(LookupResult{status_, {}});
}

void SurrogateTable::sequence(uint32_t, uint32_t, SeqDone done) {
  done(SeqResult{status_, {}, {}});
}

TablePtr make_surrogate(std::string name, ProxyStatus status, std::string reason) {
  auto table = std::make_shared<SurrogateTable>(status, std::move(reason));
  table->set_name(std::move(name));
  return table;
}

}  // namespace proxyd::dict
