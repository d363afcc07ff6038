// The mysql loop session: a session on MariaDB Connector/C's native API
// (session_mysql_native.cpp), with the asynchronous trio the event loop uses
// (SqlSession::async_socket/send_query/read_query). Only the mysql driver
// (session_mysql.cpp) includes this; nothing here names a library header.
#pragma once

#include "dictcore/pool/session.h"

namespace proxyd::dict {

// Connect to host as Postfix's dict_mysql does (and as the Connector/C++
// sessions of session_mysql.cpp do): UNIX socket, TCP or the default socket,
// CLIENT_MULTI_RESULTS, option_file/option_group, tls_*, charset, connect,
// read and write timeouts. Blocking; called on a worker thread. The session
// never batches; its query() and read_query() give exactly what the
// Connector/C++ session's query() gives.
ConnectResult connect_mysql_native(const ConnectParams& params, const HostSpec& host);

}  // namespace proxyd::dict
