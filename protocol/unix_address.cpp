// UNIX-domain socket addresses (see unix_address.h).
#include "protocol/unix_address.h"

#include <sys/socket.h>

#include <cstring>

namespace proxyd::protocol {

std::optional<sockaddr_un> unix_address(std::string_view path) {
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof addr.sun_path) return std::nullopt;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());  // zero-filled: terminated
  return addr;
}

}  // namespace proxyd::protocol
