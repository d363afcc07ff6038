// Small blocking proxymap client over a UNIX stream socket, for tests, tools
// and the load generator: connect, check the greeting, send requests in
// either dialect, read replies. One instance per thread.
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>

#include "protocol/attr_codec.h"
#include "protocol/messages.h"

namespace proxyd::protocol {

// I/O failure, timeout, bad greeting or malformed reply.
class ClientError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Client {
 public:
  // Connect to the socket at path and read the greeting; throws ClientError.
  explicit Client(const std::string& path,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10),
                  bool expect_greeting = true);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  Client(Client&& other) noexcept;
  Client& operator=(Client&& other) noexcept;

  // Send one request and wait for its reply.
  Reply call(const Request& request);

  // Convenience wrappers for the common requests.
  Reply open(Dialect dialect, const std::string& table, uint32_t flags);
  Reply lookup(Dialect dialect, const std::string& table, uint32_t instance_flags,
               uint32_t flags, const std::string& key);

  // Send raw bytes (for malformed-input tests).
  void send_raw(std::string_view bytes);

  // Read the next complete message; throws ClientError on EOF or timeout.
  AttrList read_message();

  // True when the server closed the connection (checks without blocking
  // longer than wait).
  bool peer_closed(std::chrono::milliseconds wait = std::chrono::milliseconds(0));

  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  AttrDecoder decoder_{AttrLimits{64, 64 * 1024 * 1024, 64}};
};

}  // namespace proxyd::protocol
