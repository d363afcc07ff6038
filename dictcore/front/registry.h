// Table registry: maps a "type:name", open mode and instance flags to one
// shared table instance, opened on first use and kept for the life of the
// configuration, as proxymap keeps its dictionaries (Postfix dict_open +
// dict_register under "type:name(mode,flags)").
// open_table() is the dispatcher; a table that cannot be opened becomes a
// surrogate instead of an error. Loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

#include "dictcore/tables/table.h"

namespace proxyd::dict {

// Create a table of any supported type, without caching. name is
// "type:rest" (proxy: already stripped); it is split at the first ':'.
// Never returns null: a table that cannot be opened comes back as a
// surrogate (RETRY for missing or unreadable files, unsupported types and
// read-only types opened ReadWrite; CONFIG for malformed configuration), and
// the reason is logged once through env.log. The result's name() is name.
// instance_flags are the flags the client opened the table with (see
// instance_key_flags); the default is what Postfix daemons open with.
TablePtr open_table(std::string_view name, OpenMode mode, const TableEnv& env,
                    uint32_t instance_flags = kDaemonInstanceFlags);

// The part of instance_flags that changes how "type:name" is built, with
// smtputf8_enable = utf8: instances that differ only in other bits behave
// identically and are one instance. static: SRC_RHS_IS_FILE; inline: and
// texthash: also FOLD_FIX and (with utf8) UTF8_REQUEST; others: none.
uint32_t instance_key_flags(std::string_view name, uint32_t instance_flags, bool utf8);

// True when open_table() serves tables of this type ("mysql", ...).
bool is_supported_type(std::string_view type);

// What a table type reads besides its name, so that start-up checks and
// `proxyd check` can inspect a table's files and sockets without knowing
// type names.
enum class TableSources {
  None,          // static:, inline: the name is the whole table
  NamedFile,     // texthash: the name is a file read at open
  UserDatabase,  // unix: the passwd/group databases through NSS
  SqlConfig,     // sqlite:, mysql:, pgsql: a .cf file (or main.cf prefix)
                 // naming database files, sockets and TLS files
};

// The sources of tables of this type; nullopt when the type is not served.
std::optional<TableSources> table_sources(std::string_view type);

class Registry {
 public:
  explicit Registry(TableEnv env) : env_(env) {}

  // The shared instance of "type:name" for mode and instance flags; opened
  // on first use.
  TablePtr open(const std::string& name, OpenMode mode,
                uint32_t instance_flags = kDaemonInstanceFlags);

  // Number of open instances.
  std::size_t size() const { return tables_.size(); }

 private:
  TableEnv env_;
  std::map<std::tuple<std::string, OpenMode, uint32_t>, TablePtr> tables_;
};

}  // namespace proxyd::dict
