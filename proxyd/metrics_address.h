// The metrics_listen setting: where the Prometheus endpoint listens.
// A list (commas or whitespace) of ADDRESS or SERVICE=ADDRESS items, where
// ADDRESS is 127.0.0.1:PORT (any 127/8 address), [::1]:PORT, another
// numeric HOST:PORT / [HOST]:PORT (only with metrics_allow_remote = yes),
// or unix:/absolute/path. A master(8) service uses its own SERVICE= item,
// else the plain one; a standalone daemon uses the plain one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace proxyd::daemon {

struct MetricsAddress {
  bool is_unix = false;
  std::string host;  // numeric, without brackets (TCP)
  uint16_t port = 0;
  std::string path;  // UNIX socket (is_unix)
  bool loopback() const;
  std::string text() const;  // as written in metrics_listen
};

// Parse one ADDRESS; nullopt and why on a malformed one.
std::optional<MetricsAddress> parse_metrics_address(std::string_view text,
                                                    std::string& error);

// The ADDRESS text metrics_listen gives service ("" standalone); "" = none.
// Throws std::invalid_argument on a malformed list.
std::string metrics_address_for(std::string_view listen, std::string_view service);

// Check every item of metrics_listen; returns why it is invalid or "".
std::string check_metrics_listen(std::string_view listen, bool allow_remote);

// A listening, non-blocking, close-on-exec socket for address (call while
// still privileged, before chroot). A UNIX socket gets mode 0666 (the
// directory says who may connect) and replaces a stale socket file. An
// address in use is retried for up to two seconds (the previous master(8)
// generation may still be letting go of it). Throws std::runtime_error.
int bind_metrics_socket(const MetricsAddress& address);

}  // namespace proxyd::daemon
