// make_sql_table: the thin entry point that reads a SQL table's parameters
// through TableConfig (.cf file or main.cf prefix, Postfix cfg_parser) and
// builds the table with make_sql_table_from. Domain-list "type:table"
// entries are opened through the registry's open_table. Loop thread.
#include <fmt/format.h>

#include "dictcore/config_error.h"
#include "dictcore/registry.h"
#include "dictcore/sql_table.h"
#include "dictcore/table_cf.h"

namespace proxyd::dict {
namespace {

// TableConfig seen through the SqlParamSource interface.
class TableConfigParams final : public SqlParamSource {
 public:
  explicit TableConfigParams(TableConfig cfg) : cfg_(std::move(cfg)) {}
  bool has(std::string_view param) const override { return cfg_.has(param); }
  std::string get_str(std::string_view param, std::string_view def,
                      std::size_t min_len) const override {
    return cfg_.get_str(param, def, min_len);
  }
  int get_int(std::string_view param, int def, int min, int max) const override {
    return cfg_.get_int(param, def, min, max);
  }
  bool get_bool(std::string_view param, bool def) const override {
    return cfg_.get_bool(param, def);
  }
  std::string origin() const override { return cfg_.origin(); }

 private:
  TableConfig cfg_;
};

}  // namespace

TablePtr make_sql_table(std::string_view type, std::string_view name, OpenMode mode,
                        const TableEnv& env) {
  std::optional<SqlKind> kind = sql_kind_from_type(type);
  if (!kind) throw ConfigError(fmt::format("{}:{}: not a SQL table type", type, name));
  if (env.main_cf == nullptr || env.log == nullptr) {
    throw ConfigError(fmt::format("{}:{}: no configuration context", type, name));
  }
  TableConfigParams params(TableConfig::load(type, name, *env.main_cf, *env.log));
  SqlTableHooks hooks;
  hooks.domain_opener = [env](std::string_view table_name) {
    return open_table(table_name, OpenMode::ReadOnly, env);
  };
  return make_sql_table_from(*kind, name, params, mode, env, hooks);
}

}  // namespace proxyd::dict
