// SQL-backed tables (sqlite:, mysql:, pgsql:) with the lookup semantics of
// Postfix's dict_sqlite / dict_mysql / dict_pgsql over db_common: key
// folding, domain filter, query expansion with quoting on the live
// connection, result joining, result_format, expansion_limit. Queries run on
// pooled sessions; completions come back through the Poster.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "dictcore/pool/session.h"
#include "dictcore/pool/session_pool.h"
#include "dictcore/sql/domain_filter.h"
#include "dictcore/sql/expand.h"
#include "dictcore/sql/sql_params.h"
#include "dictcore/tables/table.h"

namespace proxyd::dict {

// Open a sqlite:, mysql: or pgsql: table (name = part after "type:").
// Throws ConfigUnavailable (missing/unreadable .cf) or ConfigError.
TablePtr make_sql_table(std::string_view type, std::string_view name, OpenMode mode,
                        const TableEnv& env);

// The table type for "sqlite"/"mysql"/"pgsql"; nullopt for anything else.
std::optional<SqlKind> sql_kind_from_type(std::string_view type);

// Everything a SQL table's configuration says, validated.
struct SqlTableConfig {
  SqlKind kind = SqlKind::Sqlite;
  std::string name;    // the part after "type:" (the .cf path)
  std::string origin;  // for messages
  ConnectParams connect;
  ExpandRules rules;
  std::string domain_list;         // raw "domain" value ("" = no filter)
  int expansion_limit = 0;         // <= 0: unlimited
  bool require_result_set = true;  // mysql
};

// Read and validate every parameter of sqlite_table(5) / mysql_table(5) /
// pgsql_table(5) as Postfix release version reads them. Throws ConfigError
// (or ConfigUnavailable for a pgsql host list that needs a dbname, which
// Postfix 3.10+ turns into a surrogate).
SqlTableConfig parse_sql_table_config(SqlKind kind, std::string_view name,
                                      const SqlParamSource& params,
                                      PostfixVersion version = PostfixVersion::newest());

// Seams for tests and for wiring: how domain-list tables are opened and
// how a pool's driver is made (defaults: unsupported / make_driver).
struct SqlTableHooks {
  TableOpener domain_opener;
  DriverFactory driver_factory;
};

// Build a table from already-read parameters. env.pools and env.log must be
// set. Throws like make_sql_table.
TablePtr make_sql_table_from(SqlKind kind, std::string_view name,
                             const SqlParamSource& params, OpenMode mode,
                             const TableEnv& env, const SqlTableHooks& hooks = {});

}  // namespace proxyd::dict
