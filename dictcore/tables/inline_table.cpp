// inline:{ key=value, ... } tables, as Postfix's dict_inline builds them
// (balpar, extpar, mystrtokq, split_qnameval) over a HashTable. Loop thread
// only.
#include <fmt/format.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "dictcore/tables/hash_table.h"
#include "dictcore/tables/inline_syntax.h"
#include "dictcore/tables/rhs_file.h"
#include "dictcore/tables/simple_tables.h"
#include "dictcore/util/braces.h"
#include "dictcore/util/config_error.h"
#include "dictcore/util/fold.h"
#include "dictcore/util/tokens.h"

namespace proxyd::dict {
namespace {

namespace pflags = protocol::flags;

std::string inline_error(std::string_view what, std::string_view name,
                         bool rhs_is_file = false) {
  return fmt::format("{}: \"inline:{}\"; need \"inline:{{name={}...}}\"", what, name,
                     rhs_is_file ? "filename" : "value");
}

}  // namespace

TablePtr make_inline_table(std::string_view name, const TableEnv& env) {
  return make_inline_table(name, env, simple_table_options(env, kDaemonInstanceFlags));
}

TablePtr make_inline_table(std::string_view name, const TableEnv& env,
                           SimpleTableOptions options) {
  if (options.utf8_active() && !is_ascii(name) && !valid_utf8(name)) {
    throw ConfigError(inline_error("bad UTF-8 syntax", name));
  }
  const bool rhs_is_file = (options.instance_flags & pflags::kSrcRhsIsFile) != 0;
  std::size_t len = balanced_length(name);
  if (len == 0 || len != name.size() || len == 2) {
    throw ConfigError(inline_error("bad syntax", name));
  }
  auto table = std::make_shared<HashTable>(env.log, options);
  std::string_view rest = name.substr(1, len - 2);
  int count = 0;
  while (auto token = next_grouped_token(rest)) {
    std::string_view nameval = *token;
    std::optional<std::string> err;
    if (nameval[0] == '{') err = extpar(*token, nameval, Extpar::Strip);
    std::string_view key;
    std::string_view value;
    if (!err) err = split_name_value(nameval, key, value);
    std::string stored_value(value);
    if (!err && rhs_is_file) {
      RhsFileResult files = rhs_files_to_base64(value);
      if (!files.ok) err = std::move(files.value);
      stored_value = std::move(files.value);
    }
    if (err) throw ConfigError(inline_error(*err, name, rhs_is_file));
    // No duplicate checks: a later entry replaces an earlier one.
    table->put(table->stored_key(key), std::move(stored_value));
    ++count;
  }
  if (count == 0) throw ConfigError(inline_error("empty table", name, rhs_is_file));
  return table;
}

}  // namespace proxyd::dict
