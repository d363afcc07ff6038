// make_driver: the one place that maps a table type to its driver factory
// (see driver_factory.h).
#include "dictcore/pool/drivers/driver_factory.h"

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
