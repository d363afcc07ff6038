// Bounds shared by both mysql session kinds (Connector/C++ on workers,
// Connector/C for the loop session), so a dead server is given up on after
// the same time whichever session meets it.
#pragma once

namespace proxyd::dict::mysql_limits {

// Seconds a TCP connect (and the handshake) may take before the host counts
// as down; Postfix leaves the library default (none on Linux).
inline constexpr unsigned kConnectTimeoutSec = 10;
// Seconds one network read or write may block. Lookup queries are small; a
// server that stops answering for this long is treated as dead.
inline constexpr unsigned kReadTimeoutSec = 30;
inline constexpr unsigned kWriteTimeoutSec = 30;
// Upper bound on result sets drained after one statement (CALL may return
// several); far beyond anything a lookup needs.
inline constexpr int kMaxResultSets = 1024;

}  // namespace proxyd::dict::mysql_limits
