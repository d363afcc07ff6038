// Table registry: maps a "type:name" (and open mode) to one shared table
// instance, opened on first use and kept for the life of the configuration,
// as proxymap keeps its dictionaries (Postfix dict_open + dict_register).
// open_table() is the dispatcher; a table that cannot be opened becomes a
// surrogate instead of an error. Loop thread only.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "dictcore/table.h"

namespace proxyd::dict {

// Create a table of any supported type, without caching. name is
// "type:rest" (proxy: already stripped); it is split at the first ':'.
// Never returns null: a table that cannot be opened comes back as a
// surrogate (RETRY for missing or unreadable files, unsupported types and
// read-only types opened ReadWrite; CONFIG for malformed configuration), and
// the reason is logged once through env.log. The result's name() is name.
TablePtr open_table(std::string_view name, OpenMode mode, const TableEnv& env);

// True when open_table() serves tables of this type ("mysql", ...).
bool is_supported_type(std::string_view type);

class Registry {
 public:
  explicit Registry(TableEnv env) : env_(env) {}

  // The shared instance of "type:name" for mode; opened on first use.
  TablePtr open(const std::string& name, OpenMode mode);

  // Number of open instances.
  std::size_t size() const { return tables_.size(); }

 private:
  TableEnv env_;
  std::map<std::pair<std::string, OpenMode>, TablePtr> tables_;
};

}  // namespace proxyd::dict
