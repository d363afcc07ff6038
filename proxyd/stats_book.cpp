// StatsBook (see stats_book.h).
#include "proxyd/stats_book.h"

namespace proxyd::daemon {

std::shared_ptr<dict::TableStats> StatsBook::table(const std::string& name) {
  auto& slot = tables_[name];
  if (!slot) slot = std::make_shared<dict::TableStats>();
  return slot;
}

}  // namespace proxyd::daemon
