// StatsBook: the per-table counters, by table name, that outlive every
// configuration generation (a reload keeps them). Loop thread only.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "dictcore/front/table_stats.h"

namespace proxyd::daemon {

// Per-table counters that survive reloads, by table name.
class StatsBook {
 public:
  // The counters of table (created on first use).
  std::shared_ptr<dict::TableStats> table(const std::string& name);
  const std::map<std::string, std::shared_ptr<dict::TableStats>>& tables() const {
    return tables_;
  }

 private:
  std::map<std::string, std::shared_ptr<dict::TableStats>> tables_;
};

}  // namespace proxyd::daemon
