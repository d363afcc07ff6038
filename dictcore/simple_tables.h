// In-memory tables that need no server: static:, inline:{...} and
// texthash:/file, with the lookup semantics of Postfix's dict_static,
// dict_inline and dict_thash (as postmap -q answers them directly).
#pragma once

#include <string_view>

#include "dictcore/table.h"

namespace proxyd::dict {

// static:value — every key maps to value.
TablePtr make_static_table(std::string_view name, const TableEnv& env);

// inline:{ key=value, { key = text with , } } — throws ConfigError.
TablePtr make_inline_table(std::string_view name, const TableEnv& env);

// texthash:/path — "key value" lines as postmap reads them; throws
// ConfigUnavailable when the file cannot be read.
TablePtr make_texthash_table(std::string_view name, const TableEnv& env);

}  // namespace proxyd::dict
