// Thresholds of the client memory budget (see memory_budget.h).
#include "proxyd/memory_budget.h"

#include <algorithm>

namespace proxyd::daemon {

void MemoryBudget::set_limit(std::size_t limit) {
  limit_ = limit;
  // An eighth is kept for replies to requests already read.
  read_limit_ = limit - limit / 8;
  pressure_ = limit / 2;
  // Big: more than 1/64 of the budget, but never less than two reads.
  big_ = std::max<std::size_t>(limit / 64, 128 * 1024);
}

}  // namespace proxyd::daemon
