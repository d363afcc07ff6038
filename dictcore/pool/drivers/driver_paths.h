// The files and UNIX sockets each database client library opens for one
// connection identity, as proxyd configures it: sqlite's dbpath (opened at
// table open, before chroot); mysql's option file, TLS files and socket;
// pgsql's TLS files named in a URI or conninfo, and its socket directory.
// The driver knowledge that `proxyd check` and the start-up pre-flight test
// against, so that they never name a table type. Pure functions; any thread.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dictcore/pool/session.h"

namespace proxyd::dict {

// When the path is opened.
enum class PathPhase {
  Open,   // while the table is opened (before chroot)
  Lookup  // by a session at lookup time (after chroot and privilege drop)
};

// What is done with the path.
enum class PathAccess {
  Read,    // a file that is read
  Search,  // a directory that is searched
  Connect  // a UNIX socket that is connected to
};

// One path a connection needs. socket: a server's socket or socket
// directory, which may be missing only because the server is not running.
struct NeededPath {
  std::string what;  // the parameter or role, for messages ("tls_CAfile")
  std::string path;
  PathPhase phase = PathPhase::Lookup;
  PathAccess access = PathAccess::Read;
  bool socket = false;
};

// Where the MySQL client library looks for "localhost" (Debian's default).
inline constexpr std::string_view kMysqlDefaultSocket = "/run/mysqld/mysqld.sock";

// Where libpq looks for a socket when a unix: host names no directory.
inline constexpr std::string_view kPgsqlDefaultSocketDir = "/var/run/postgresql";

// True when the driver for kind talks to database servers (hosts a check
// can probe); false for sqlite, which opens a file.
bool driver_uses_servers(SqlKind kind);

// The paths params' driver will open, in the order it opens them.
std::vector<NeededPath> driver_paths(const ConnectParams& params);

// The TLS files a pgsql connection string names (sslrootcert, sslcert,
// sslkey, sslcrl; sslcrldir is a directory), as (parameter, path) pairs:
// from a URI's query string (percent-decoded) or from a keyword/value
// conninfo (quoted values honoured). libpq's "system" root store is no file.
std::vector<std::pair<std::string, std::string>> pgsql_tls_files(
    std::string_view conninfo);

}  // namespace proxyd::dict
