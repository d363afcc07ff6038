// Blocking proxymap client for tests and tools. Behaves like a Postfix
// client (dict_proxy.c, clnt_stream.c): reads and checks the
// protocol=proxymap_protocol greeting first, then sends one request at a
// time and reads its reply in the same dialect. All I/O is non-blocking with
// poll() deadlines; SIGPIPE is avoided with MSG_NOSIGNAL. One thread.
#include "protocol/client.h"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

#include "protocol/unix_address.h"

namespace proxyd::protocol {

namespace {

using Clock = std::chrono::steady_clock;

// Milliseconds left until deadline, for poll() (0 when already past).
int remaining_ms(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) return 0;
  constexpr long long kMaxPoll = 1000LL * 1000 * 1000;
  return static_cast<int>(left.count() < kMaxPoll ? left.count() : kMaxPoll);
}

[[noreturn]] void throw_errno(std::string_view what, int err) {
  throw ClientError(fmt::format("{}: {}", what, std::strerror(err)));
}

// Wait until fd reports one of events; false on timeout.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd pfd{fd, events, 0};
    const int n = ::poll(&pfd, 1, remaining_ms(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) throw_errno("poll", errno);
  }
}

}  // namespace

Client::Client(const std::string& path, std::chrono::milliseconds timeout,
               bool expect_greeting)
    : timeout_(timeout) {
  try {
    connect_to(path);
    if (expect_greeting) {
      const AttrList greeting = read_message();
      const AttrList want{Attr{std::string(kAttrProto), std::string(kProtoProxymap)}};
      if (greeting != want) {
        throw ClientError(fmt::format("unexpected greeting from {}: {}", path,
                                      printable(encode_attrs(greeting))));
      }
    }
  } catch (...) {
    close_fd();
    throw;
  }
}

Client::~Client() { close_fd(); }

Client::Client(Client&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      eof_(other.eof_),
      timeout_(other.timeout_),
      decoder_(std::move(other.decoder_)) {}

Client& Client::operator=(Client&& other) noexcept {
  if (this != &other) {
    close_fd();
    fd_ = std::exchange(other.fd_, -1);
    eof_ = other.eof_;
    timeout_ = other.timeout_;
    decoder_ = std::move(other.decoder_);
  }
  return *this;
}

void Client::close_fd() noexcept {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

void Client::connect_to(const std::string& path) {
  std::optional<sockaddr_un> where = unix_address(path);
  if (!where) {
    throw ClientError(
        fmt::format("bad socket path length {}: {}", path.size(), printable(path)));
  }
  const sockaddr_un addr = *where;
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) throw_errno("socket", errno);
  const auto deadline = Clock::now() + timeout_;
  const auto* sa = reinterpret_cast<const sockaddr*>(&addr);
  for (;;) {
    if (::connect(fd_, sa, sizeof(addr)) == 0) return;
    const int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN) {
      // Listen backlog full: a UNIX socket does not queue us, so retry.
      if (Clock::now() >= deadline) throw ClientError("connect " + path + ": timeout");
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    if (err != EINPROGRESS) throw_errno("connect " + path, err);
    if (!wait_for(fd_, POLLOUT, deadline)) {
      throw ClientError("connect " + path + ": timeout");
    }
    int so_error = 0;
    socklen_t len = sizeof(so_error);
    if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &so_error, &len) < 0) {
      throw_errno("getsockopt", errno);
    }
    if (so_error != 0) throw_errno("connect " + path, so_error);
    return;
  }
}

void Client::send_raw(std::string_view bytes) {
  if (fd_ < 0) throw ClientError("send: not connected");
  const auto deadline = Clock::now() + timeout_;
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    const int err = errno;
    if (n < 0 && err == EINTR) continue;
    if (n < 0 && (err == EAGAIN || err == EWOULDBLOCK)) {
      if (!wait_for(fd_, POLLOUT, deadline)) throw ClientError("send: timeout");
      continue;
    }
    throw_errno("send", n < 0 ? err : EIO);
  }
}

void Client::read_some() {
  std::array<char, 64 * 1024> buf;
  const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
  if (n > 0) {
    decoder_.feed(std::string_view(buf.data(), static_cast<std::size_t>(n)));
    return;
  }
  if (n == 0) {
    eof_ = true;
    return;
  }
  const int err = errno;
  if (err == EINTR || err == EAGAIN || err == EWOULDBLOCK) return;
  if (err == ECONNRESET) {
    eof_ = true;
    return;
  }
  throw_errno("recv", err);
}

AttrList Client::read_message() {
  if (fd_ < 0) throw ClientError("read: not connected");
  const auto deadline = Clock::now() + timeout_;
  AttrList message;
  for (;;) {
    switch (decoder_.next(message)) {
      case DecodeStatus::Complete:
        return message;
      case DecodeStatus::Malformed:
        throw ClientError("malformed message from server: " + decoder_.error());
      case DecodeStatus::Oversized:  // not enabled on the client side
        throw ClientError("oversized message from server");
      case DecodeStatus::NeedMore:
        break;
    }
    if (eof_) {
      throw ClientError(decoder_.buffered() > 0
                            ? "server closed the connection in mid-message"
                            : "server closed the connection");
    }
    if (!wait_for(fd_, POLLIN, deadline)) {
      throw ClientError(fmt::format("read: timeout after {} ms", timeout_.count()));
    }
    read_some();
  }
}

bool Client::peer_closed(std::chrono::milliseconds wait) {
  if (fd_ < 0 || eof_) return true;
  const auto deadline = Clock::now() + wait;
  for (;;) {
    if (!wait_for(fd_, POLLIN, deadline)) return false;
    read_some();
    if (eof_) return true;
    if (Clock::now() >= deadline) return false;
  }
}

Reply Client::call(const Request& request) {
  send_raw(encode_request(request));
  const AttrList message = read_message();
  Reply reply;
  std::string error;
  if (!parse_reply(request.type, request.dialect, message, reply, error)) {
    throw ClientError(fmt::format("bad {} reply: {}", request_name(request.type), error));
  }
  return reply;
}

Reply Client::open(Dialect dialect, const std::string& table, uint32_t flags) {
  Request request;
  request.type = RequestType::Open;
  request.dialect = dialect;
  request.table = table;
  if (dialect == Dialect::V1) {
    request.flags = flags;
  } else {
    request.instance_flags = flags;
  }
  return call(request);
}

Reply Client::lookup(Dialect dialect, const std::string& table, uint32_t instance_flags,
                     uint32_t flags, const std::string& key) {
  Request request;
  request.type = RequestType::Lookup;
  request.dialect = dialect;
  request.table = table;
  request.instance_flags = dialect == Dialect::V2 ? instance_flags : 0;
  request.flags = flags;
  request.key = key;
  return call(request);
}

}  // namespace proxyd::protocol
