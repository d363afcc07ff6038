// make_driver: the one place that maps a table type to its driver factory
// (each defined in pool/drivers/session_<driver>.cpp; a link-time
// dependency only). Declared in session.h.
#include "dictcore/pool/session.h"

namespace proxyd::dict {

std::unique_ptr<SqlDriver> make_driver(const ConnectParams& params) {
  switch (params.kind) {
    case SqlKind::Sqlite:
      return make_sqlite_driver(params);
    case SqlKind::Mysql:
      return make_mysql_driver(params);
    case SqlKind::Pgsql:
      return make_pgsql_driver(params);
  }
  return nullptr;
}

}  // namespace proxyd::dict
