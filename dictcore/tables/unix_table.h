// unix:passwd.byname and unix:group.byname (Postfix dict_unix): the system
// password and group databases through getpwnam_r/getgrnam_r, answered in
// the colon-separated form Postfix uses. unix:passwd.byname is allowlisted
// by default (local_recipient_maps). Loop thread only; lookups block on NSS.
#pragma once

#include <string_view>

#include "dictcore/tables/table.h"

namespace proxyd::dict {

// Open unix:name (name = text after "unix:"). Throws ConfigError for a
// name other than passwd.byname or group.byname.
TablePtr make_unix_table(std::string_view name, const TableEnv& env);

}  // namespace proxyd::dict
