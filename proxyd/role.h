// Role: which of proxymap's two sockets a client came in on, and so what
// it may do (lookups only, or also updates).
#pragma once

namespace proxyd::daemon {

// Which socket a client came in on.
enum class Role {
  ReadOnly,   // private/proxymap: lookups and opens only
  ReadWrite,  // private/proxywrite: also update and delete
};

}  // namespace proxyd::daemon
