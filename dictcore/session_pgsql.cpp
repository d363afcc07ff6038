// pgsql driver placeholder: this build has no PostgreSQL session yet, so
// make_pgsql_driver() reports the driver as missing and pgsql: tables answer
// every lookup with RETRY (after validating their whole configuration).
// The driver package replaces this file with the libpq session (the only
// file allowed to include libpq-fe.h).
#include "dictcore/session.h"

namespace proxyd::dict {

std::unique_ptr<SqlDriver> make_pgsql_driver(const ConnectParams&) { return nullptr; }

}  // namespace proxyd::dict
