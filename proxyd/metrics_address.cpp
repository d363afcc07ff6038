// metrics_listen parsing and binding (see metrics_address.h). Addresses are
// numeric only: a host name could resolve to a non-loopback address.
#include "proxyd/metrics_address.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <vector>

#include "dictcore/util/tokens.h"
#include "proxyd/server.h"

namespace proxyd::daemon {
namespace {

constexpr std::size_t kMaxPath = 100;  // below sun_path's 108 bytes

// SERVICE=ADDRESS: the service part, or "" for a plain ADDRESS.
std::pair<std::string_view, std::string_view> split_item(std::string_view item) {
  if (item.starts_with("unix:") || item.starts_with("[")) return {{}, item};
  std::size_t eq = item.find('=');
  if (eq == std::string_view::npos) return {{}, item};
  return {item.substr(0, eq), item.substr(eq + 1)};
}

bool is_v6(const std::string& host) { return host.find(':') != std::string::npos; }

}  // namespace

bool MetricsAddress::loopback() const {
  if (is_unix) return true;
  if (is_v6(host)) {
    in6_addr a{};
    return inet_pton(AF_INET6, host.c_str(), &a) == 1 && IN6_IS_ADDR_LOOPBACK(&a);
  }
  in_addr a{};
  return inet_pton(AF_INET, host.c_str(), &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

std::string MetricsAddress::text() const {
  if (is_unix) return fmt::format("unix:{}", path);
  return is_v6(host) ? fmt::format("[{}]:{}", host, port)
                     : fmt::format("{}:{}", host, port);
}

std::optional<MetricsAddress> parse_metrics_address(std::string_view text,
                                                    std::string& error) {
  MetricsAddress a;
  if (text.starts_with("unix:")) {
    a.is_unix = true;
    a.path = std::string(text.substr(5));
    if (!a.path.starts_with('/') || a.path.size() > kMaxPath) {
      error = fmt::format("expected unix:/absolute/path of at most {} bytes", kMaxPath);
      return std::nullopt;
    }
    return a;
  }
  std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    error = "expected HOST:PORT, [HOST]:PORT or unix:/path";
    return std::nullopt;
  }
  std::string_view host = text.substr(0, colon);
  std::string_view port = text.substr(colon + 1);
  if (host.starts_with('[') && host.ends_with(']'))
    host = host.substr(1, host.size() - 2);
  a.host = std::string(host);
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() ||
      value == 0 || value > 65535) {
    error = "expected a port number from 1 to 65535";
    return std::nullopt;
  }
  a.port = static_cast<uint16_t>(value);
  in6_addr six{};
  in_addr four{};
  const bool numeric = is_v6(a.host) ? inet_pton(AF_INET6, a.host.c_str(), &six) == 1
                                     : inet_pton(AF_INET, a.host.c_str(), &four) == 1;
  if (!numeric) {
    error = "expected a numeric IPv4 address or a bracketed IPv6 address";
    return std::nullopt;
  }
  return a;
}

std::string metrics_address_for(std::string_view listen, std::string_view service) {
  std::string plain;
  for (std::string_view item : dict::split_tokens(listen)) {
    auto [who, address] = split_item(item);
    if (who.empty()) {
      plain = std::string(address);
    } else if (!service.empty() && who == service) {
      return std::string(address);
    }
  }
  return plain;
}

std::string check_metrics_listen(std::string_view listen, bool allow_remote) {
  for (std::string_view item : dict::split_tokens(listen)) {
    auto [who, text] = split_item(item);
    std::string error;
    std::optional<MetricsAddress> a = parse_metrics_address(text, error);
    if (!a) return fmt::format("\"{}\": {}", item, error);
    if (!allow_remote && !a->loopback()) {
      return fmt::format(
          "\"{}\" is not a loopback address or UNIX socket; set metrics_allow_remote = "
          "yes to "
          "serve metrics to other hosts",
          item);
    }
  }
  return {};
}

namespace {

int bind_tcp(const MetricsAddress& a) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (is_v6(a.host)) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(a.port);
    inet_pton(AF_INET6, a.host.c_str(), &s6->sin6_addr);
    len = sizeof *s6;
  } else {
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    s4->sin_family = AF_INET;
    s4->sin_port = htons(a.port);
    inet_pton(AF_INET, a.host.c_str(), &s4->sin_addr);
    len = sizeof *s4;
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(fmt::format("socket: {}", std::strerror(errno)));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (ss.ss_family == AF_INET6)
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(fd, 64) != 0) {
    int err = errno;
    ::close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

}  // namespace

int bind_metrics_socket(const MetricsAddress& address) {
  constexpr int kTries = 20;  // 100 ms apart
  for (int attempt = 1;; ++attempt) {
    if (address.is_unix) {
      try {
        return make_unix_listener(address.path, 64, 0666);
      } catch (const std::exception&) {
        if (attempt >= kTries) throw;
      }
    } else {
      int fd = bind_tcp(address);
      if (fd >= 0) return fd;
      if (errno != EADDRINUSE || attempt >= kTries) {
        throw std::runtime_error(
            fmt::format("metrics_listen {}: {}", address.text(), std::strerror(errno)));
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace proxyd::daemon
