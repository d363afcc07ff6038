// Small blocking proxymap client over a UNIX stream socket, for tests, tools
// and the load generator: connect, check the greeting, send requests in
// either dialect, read replies. Every wait is a poll() bounded by the
// timeout; the client owns its fd (move-only). One instance per thread.
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
  // The timeout bounds the connect and each later read or write.
  explicit Client(const std::string& path,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10),
                  bool expect_greeting = true);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  Client(Client&& other) noexcept;
  Client& operator=(Client&& other) noexcept;

  // Send one request and wait for its reply (same type and dialect); throws
  // ClientError when the reply layout does not match.
  Reply call(const Request& request);

  // Convenience wrappers for the common requests. open() sends flags as
  // "flags" (V1) or as "instance_flags" (V2); lookup() ignores
  // instance_flags for V1.
  Reply open(Dialect dialect, const std::string& table, uint32_t flags);
  Reply lookup(Dialect dialect, const std::string& table, uint32_t instance_flags,
               uint32_t flags, const std::string& key);

  // Send raw bytes (for malformed-input tests).
  void send_raw(std::string_view bytes);

  // Read the next complete message; throws ClientError on EOF, timeout or a
  // framing error. Messages already buffered are returned even after EOF.
  AttrList read_message();

  // True when the server closed the connection (checks without blocking
  // longer than wait). Bytes that arrive meanwhile are kept for read_message.
  bool peer_closed(std::chrono::milliseconds wait = std::chrono::milliseconds(0));

  // The socket, or -1 after a move.
  int fd() const { return fd_; }

 private:
  // Connect the socket (non-blocking) within the timeout.
  void connect_to(const std::string& path);
  // One recv() into the decoder; sets eof_ on end-of-file or reset.
  void read_some();
  // Close fd_ if open.
  void close_fd() noexcept;

  int fd_ = -1;
  bool eof_ = false;  // the server closed its end (EOF or reset seen)
  std::chrono::milliseconds timeout_;
  AttrDecoder decoder_{AttrLimits{64, 64 * 1024 * 1024, 64}};
};

}  // namespace proxyd::protocol
