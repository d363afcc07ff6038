// The sockaddr_un for a UNIX-domain socket path, with the length check every
// caller needs (sun_path is 108 bytes on Linux, NUL included). Used by the
// protocol client, the daemon's listeners, its control socket and postlog.
#pragma once

#include <sys/un.h>

#include <optional>
#include <string_view>

namespace proxyd::protocol {

// The address of path; nullopt when path is empty or too long.
std::optional<sockaddr_un> unix_address(std::string_view path);

}  // namespace proxyd::protocol
