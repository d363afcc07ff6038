// Surrogate table (Postfix dict_surrogate): stands in for a table that could
// not be opened, reports PATTERN on open and fails every operation with a
// fixed status, so the daemon keeps serving every other table.
#pragma once

#include <string>

#include "dictcore/table.h"

namespace proxyd::dict {

// A table whose every operation answers status (Retry or Config).
TablePtr make_surrogate(std::string name, ProxyStatus status, std::string reason);

}  // namespace proxyd::dict
