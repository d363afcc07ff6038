// SQL-backed tables (sqlite:, mysql:, pgsql:) with the lookup semantics of
// Postfix's dict_sqlite / dict_mysql / dict_pgsql over db_common: key
// folding, domain filter, query expansion with quoting on the live
// connection, result joining, result_format, expansion_limit. Queries run on
// pooled sessions; completions come back through the Poster.
#pragma once

#include <string_view>

#include "dictcore/table.h"

namespace proxyd::dict {

// Open a sqlite:, mysql: or pgsql: table (name = part after "type:").
// Throws ConfigUnavailable (missing/unreadable .cf) or ConfigError.
TablePtr make_sql_table(std::string_view type, std::string_view name, OpenMode mode,
                        const TableEnv& env);

}  // namespace proxyd::dict
