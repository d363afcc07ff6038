// The build-time options shared by static:, inline: and texthash: (see
// simple_tables.h). The tables themselves: static_table.cpp,
// inline_table.cpp, texthash_table.cpp over hash_table.h.
#include "dictcore/tables/simple_tables.h"

#include "dictcore/config/main_cf.h"

namespace proxyd::dict {

SimpleTableOptions simple_table_options(const TableEnv& env, uint32_t instance_flags) {
  SimpleTableOptions options;
  options.utf8 = smtputf8_enabled(env);
  options.instance_flags = instance_flags;
  options.release = env.postfix_version;
  return options;
}

}  // namespace proxyd::dict
