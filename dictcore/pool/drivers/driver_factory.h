// The driver factories, one per database client library (each defined in
// its session_<driver>.cpp), and make_driver, which picks one by table type.
// Every driver is part of every build (none is optional). The layers above
// pool/drivers (sql/, proxyd's check, tests) hand a factory down to
// PoolSet::pool_for: pool/ itself never names a driver, so the layers hold
// at link time too.
#pragma once

#include <memory>

#include "dictcore/pool/session.h"

namespace proxyd::dict {

// A driver for one client library. make_mysql_driver returns null only when
// the MySQL client library cannot be initialised.
std::unique_ptr<SqlDriver> make_sqlite_driver(const ConnectParams& params);
std::unique_ptr<SqlDriver> make_mysql_driver(const ConnectParams& params);
std::unique_ptr<SqlDriver> make_pgsql_driver(const ConnectParams& params);

// The factory for params.kind.
std::unique_ptr<SqlDriver> make_driver(const ConnectParams& params);

}  // namespace proxyd::dict
