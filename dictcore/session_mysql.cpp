// mysql driver placeholder: this build has no MySQL session yet, so
// make_mysql_driver() reports the driver as missing and mysql: tables answer
// every lookup with RETRY (after validating their whole configuration).
// The driver package replaces this file with the Connector/C++ session
// (the only file allowed to include cppconn headers).
#include "dictcore/session.h"

namespace proxyd::dict {

std::unique_ptr<SqlDriver> make_mysql_driver(const ConnectParams&) { return nullptr; }

}  // namespace proxyd::dict
