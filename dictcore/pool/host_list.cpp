// The "hosts" lists of mysql: and pgsql: tables parsed into HostSpecs, as
// Postfix's host_init in dict_mysql.c and dict_pgsql.c reads them (with
// find_inet_port and valid_uri_scheme). Declared in session.h.
#include <fmt/format.h>
#include <netdb.h>

#include <algorithm>
#include <array>
#include <utility>

#include "dictcore/pool/session.h"
#include "dictcore/util/config_error.h"
#include "dictcore/util/redact.h"
#include "dictcore/util/text.h"
#include "dictcore/util/tokens.h"

namespace proxyd::dict {
namespace {

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  for (std::string_view word : split_tokens(text)) out.emplace_back(word);
  if (out.empty()) out.emplace_back("localhost");
  return out;
}

// Port number for a TCP service name or number (Postfix find_inet_port).
std::string resolve_tcp_port(const std::string& service, std::string_view origin) {
  if (!service.empty() && std::all_of(service.begin(), service.end(), ascii_digit)) {
    if (service.size() > 5 || std::stoi(service) > 65535) {
      throw ConfigError(fmt::format("{}: bad port number: {}", origin, service));
    }
    return std::to_string(std::stoi(service));
  }
  servent entry{};
  servent* found = nullptr;
  std::array<char, 1024> buf{};
  if (getservbyname_r(service.c_str(), "tcp", &entry, buf.data(), buf.size(), &found) !=
          0 ||
      found == nullptr) {
    throw ConfigError(fmt::format("{}: unknown service: {}/tcp", origin, service));
  }
  return std::to_string(ntohs(static_cast<uint16_t>(found->s_port)));
}

// RFC 3986 scheme followed by "://", as Postfix's valid_uri_scheme checks it.
bool has_uri_scheme(std::string_view s) {
  if (s.empty() || !ascii_alpha(s[0])) return false;
  for (std::size_t i = 1; i < s.size(); ++i) {
    const char c = s[i];
    if (ascii_alnum(c) || c == '+' || c == '-') continue;
    return s.substr(i, 3) == "://";
  }
  return false;
}

}  // namespace

std::vector<HostSpec> parse_mysql_hosts(std::string_view hosts, std::string_view origin) {
  std::vector<HostSpec> out;
  for (const std::string& word : split_list(hosts)) {
    HostSpec h;
    h.text = word;
    std::string_view d = word;
    if (d.starts_with("unix:")) {
      d.remove_prefix(5);
      h.kind = HostKind::Unix;
    } else {
      if (d.starts_with("inet:")) d.remove_prefix(5);
      h.kind = HostKind::Inet;
    }
    h.name = std::string(d);
    if (std::size_t colon = h.name.rfind(':'); colon != std::string::npos) {
      std::string service = h.name.substr(colon + 1);
      h.name.resize(colon);
      h.port = resolve_tcp_port(service, origin);
    }
    if (ascii_iequal(h.name, "localhost")) {  // MySQL's way: the default UNIX socket
      h.name.clear();
      h.kind = HostKind::Unix;
    }
    out.push_back(std::move(h));
  }
  return out;
}

std::vector<HostSpec> parse_pgsql_hosts(std::string_view hosts, bool any_scheme) {
  std::vector<HostSpec> out;
  for (const std::string& word : split_list(hosts)) {
    HostSpec h;
    h.text = word;
    if (any_scheme ? has_uri_scheme(word) : word.starts_with("postgresql:")) {
      h.kind = HostKind::Uri;
      h.name = word;
      h.text = redact_secrets(word);  // text goes into logs, stats and check
    } else {
      std::string_view d = word;
      if (d.starts_with("unix:") || d.starts_with("inet:")) d.remove_prefix(5);
      h.name = std::string(d);
      if (!h.name.empty() && h.name[0] != '/') {
        h.kind = HostKind::Inet;
        if (std::size_t colon = h.name.rfind(':'); colon != std::string::npos) {
          h.port = h.name.substr(colon + 1);
          h.name.resize(colon);
        }
      } else {
        h.kind = HostKind::Unix;
      }
    }
    out.push_back(std::move(h));
  }
  return out;
}

}  // namespace proxyd::dict
