// Table registry and dispatcher: Postfix's dict_open() type table reduced to
// the types proxyd serves, the O_RDONLY-only rule of dict_inline, dict_thash,
// dict_unix and the SQL drivers (a proxywrite open becomes a RETRY
// surrogate), "unsupported dictionary type" surrogates, and one instance per
// (name, mode, instance flags) as proxymap registers them. Loop thread only.
#include "dictcore/front/registry.h"

#include <fmt/format.h>

#include <exception>
#include <string>

#include "dictcore/sql/sql_table.h"
#include "dictcore/tables/simple_tables.h"
#include "dictcore/tables/surrogate.h"
#include "dictcore/tables/unix_table.h"
#include "dictcore/util/config_error.h"
#include "dictcore/util/logger.h"

namespace proxyd::dict {

namespace {

using Opener = TablePtr (*)(std::string_view type, std::string_view rest, OpenMode mode,
                            const TableEnv& env, uint32_t instance_flags);

namespace pf = protocol::flags;

// One supported table type.
struct TableType {
  std::string_view type;
  bool read_only;  // the Postfix driver refuses anything but O_RDONLY
  Opener open;
  // The instance flags that change what the driver builds (see
  // instance_key_flags); the others change nothing for this type.
  uint32_t instance_bits;
  // What the type reads besides its name (see table_sources).
  TableSources sources;
};

TablePtr open_static(std::string_view, std::string_view rest, OpenMode,
                     const TableEnv& env, uint32_t instance_flags) {
  return make_static_table(rest, env, simple_table_options(env, instance_flags));
}
TablePtr open_inline(std::string_view, std::string_view rest, OpenMode,
                     const TableEnv& env, uint32_t instance_flags) {
  return make_inline_table(rest, env, simple_table_options(env, instance_flags));
}
TablePtr open_texthash(std::string_view, std::string_view rest, OpenMode,
                       const TableEnv& env, uint32_t instance_flags) {
  return make_texthash_table(rest, env, simple_table_options(env, instance_flags));
}
TablePtr open_unix(std::string_view, std::string_view rest, OpenMode, const TableEnv& env,
                   uint32_t) {
  return make_unix_table(rest, env);
}
TablePtr open_sql(std::string_view type, std::string_view rest, OpenMode mode,
                  const TableEnv& env, uint32_t) {
  return make_sql_table(type, rest, mode, env);
}

// TableEnv::open_nested: what a SQL table's domain list opens its
// "type:table" entries with, as Postfix's db_common_parse_domain does.
TablePtr open_nested_read_only(std::string_view name, const TableEnv& env) {
  return open_table(name, OpenMode::ReadOnly, env);
}

// dict_ht stores keys by FOLD_FIX and checks UTF-8 by UTF8_REQUEST; dict_file
// replaces values by SRC_RHS_IS_FILE. unix: and the SQL drivers fold per
// request and ignore the rest (TRY0NULL/TRY1NULL, OPEN_LOCK, BULK_UPDATE and
// the paranoid flags concern table types proxyd does not serve).
constexpr uint32_t kHashBits = pf::kFoldFix | pf::kUtf8Request | pf::kSrcRhsIsFile;

constexpr TableType kTableTypes[] = {
    {"static", false, open_static, pf::kSrcRhsIsFile, TableSources::None},
    {"inline", true, open_inline, kHashBits, TableSources::None},
    {"texthash", true, open_texthash, kHashBits, TableSources::NamedFile},
    {"unix", true, open_unix, 0, TableSources::UserDatabase},
    {"sqlite", true, open_sql, 0, TableSources::SqlConfig},
    {"mysql", true, open_sql, 0, TableSources::SqlConfig},
    {"pgsql", true, open_sql, 0, TableSources::SqlConfig},
};

const TableType* find_type(std::string_view type) {
  for (const auto& candidate : kTableTypes) {
    if (candidate.type == type) return &candidate;
  }
  return nullptr;
}

TablePtr unavailable(std::string_view name, ProxyStatus status, std::string reason,
                     const TableEnv& env) {
  // Postfix's proxymap logs the reason as an error when the open fails and
  // "T is unavailable. REASON" on each access (the surrogate does that).
  if (env.log != nullptr) {
    env.log->log(Severity::Error, reason);
    env.log->info("table {}: every request answers {}", name,
                  status == ProxyStatus::Config ? "CONFIG" : "RETRY");
  }
  return make_surrogate(std::string(name), status, std::move(reason), env.log);
}

}  // namespace

bool is_supported_type(std::string_view type) { return find_type(type) != nullptr; }

std::optional<TableSources> table_sources(std::string_view type) {
  const TableType* found = find_type(type);
  if (found == nullptr) return std::nullopt;
  return found->sources;
}

uint32_t instance_key_flags(std::string_view name, uint32_t instance_flags, bool utf8) {
  const TableType* type = find_type(name.substr(0, name.find(':')));
  if (type == nullptr) return 0;
  uint32_t bits = type->instance_bits;
  // Without smtputf8 there is no UTF-8 layer whatever the client asks.
  if (!utf8) bits &= ~pf::kUtf8Request;
  return instance_flags & bits;
}

TablePtr open_table(std::string_view name, OpenMode mode, const TableEnv& env,
                    uint32_t instance_flags) {
  const auto colon = name.find(':');
  const std::string_view type = name.substr(0, colon);
  const std::string_view rest =
      colon == std::string_view::npos ? std::string_view{} : name.substr(colon + 1);
  if (type.empty() || rest.empty()) {
    return unavailable(
        name, ProxyStatus::Config,
        fmt::format("open dictionary: expecting \"type:name\" form instead of "
                    "\"{}:{}\"",
                    type, rest),
        env);
  }
  const TableType* found = find_type(type);
  if (found == nullptr) {
    return unavailable(name, ProxyStatus::Retry,
                       fmt::format("unsupported dictionary type: {}", type), env);
  }
  if (found->read_only && mode == OpenMode::ReadWrite) {
    return unavailable(name, ProxyStatus::Retry,
                       fmt::format("{} map requires O_RDONLY access mode", name), env);
  }
  try {
    TableEnv inner = env;
    inner.open_nested = open_nested_read_only;
    TablePtr table = found->open(type, rest, mode, inner, instance_flags);
    if (table == nullptr) {
      return unavailable(name, ProxyStatus::Retry, fmt::format("cannot open {}", name),
                         env);
    }
    table->set_name(std::string(name));
    return table;
  } catch (const ConfigUnavailable& e) {
    return unavailable(name, ProxyStatus::Retry, e.what(), env);
  } catch (const ConfigError& e) {
    return unavailable(name, ProxyStatus::Config, e.what(), env);
  } catch (const std::exception& e) {
    // Anything else (resources, driver start-up): temporary, never NOKEY.
    return unavailable(name, ProxyStatus::Retry,
                       fmt::format("cannot open {}: {}", name, e.what()), env);
  }
}

TablePtr Registry::open(const std::string& name, OpenMode mode, uint32_t instance_flags) {
  uint32_t flags = instance_key_flags(name, instance_flags, smtputf8_enabled(env_));
  auto key = std::make_tuple(name, mode, flags);
  if (auto it = tables_.find(key); it != tables_.end()) return it->second;
  TablePtr table = open_table(name, mode, env_, flags);
  tables_.emplace(std::move(key), table);
  return table;
}

}  // namespace proxyd::dict
