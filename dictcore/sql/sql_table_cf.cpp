// make_sql_table: the thin entry point that reads a SQL table's parameters
// through TableConfig (.cf file or main.cf prefix, Postfix cfg_parser) and
// builds the table with make_sql_table_from. Domain-list "type:table"
// entries are opened through env.open_nested, which the registry (the layer
// above, dictcore/front) sets. Loop thread.
#include <fmt/format.h>

#include "dictcore/config/table_cf.h"
#include "dictcore/sql/sql_table.h"
#include "dictcore/util/config_error.h"

namespace proxyd::dict {

TablePtr make_sql_table(std::string_view type, std::string_view name, OpenMode mode,
                        const TableEnv& env) {
  std::optional<SqlKind> kind = sql_kind_from_type(type);
  if (!kind) throw ConfigError(fmt::format("{}:{}: not a SQL table type", type, name));
  if (env.main_cf == nullptr || env.log == nullptr) {
    throw ConfigError(fmt::format("{}:{}: no configuration context", type, name));
  }
  TableConfigParams params(TableConfig::load(type, name, *env.main_cf, *env.log));
  SqlTableHooks hooks;
  if (env.open_nested != nullptr) {
    hooks.domain_opener = [env](std::string_view table_name) {
      return env.open_nested(table_name, env);
    };
  }
  return make_sql_table_from(*kind, name, params, mode, env, hooks);
}

}  // namespace proxyd::dict
