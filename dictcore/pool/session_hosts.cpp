// Host lists of SQL tables: parsing of mysql/pgsql "hosts" (Postfix
// host_init in dict_mysql.c and dict_pgsql.c, valid_uri_scheme), database
// identity keys, driver selection, and the shared host state machine used
// by each pool (dict_*_find_host / get_active / down_host semantics).
#include "dictcore/pool/session_hosts.h"

#include <fmt/format.h>
#include <netdb.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

#include "dictcore/util/config_error.h"
#include "dictcore/util/redact.h"
#include "dictcore/util/text.h"

namespace proxyd::dict {
namespace {

constexpr std::string_view kSeparators = ", \t\r\n";  // CHARS_COMMA_SP

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && kSeparators.find(text[i]) != std::string_view::npos) ++i;
    std::size_t start = i;
    while (i < text.size() && kSeparators.find(text[i]) == std::string_view::npos) ++i;
    if (i > start) out.emplace_back(text.substr(start, i - start));
  }
  if (out.empty()) out.emplace_back("localhost");
  return out;
}

// Port number for a TCP service name or number (Postfix find_inet_port).
std::string resolve_tcp_port(const std::string& service, std::string_view origin) {
  if (!service.empty() && std::all_of(service.begin(), service.end(),
                                      [](char c) { return c >= '0' && c <= '9'; })) {
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
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  for (std::size_t i = 1; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (std::isalnum(c) || c == '+' || c == '-') continue;
    return s.substr(i, 3) == "://";
  }
  return false;
}

}  // namespace

std::string_view sql_kind_name(SqlKind kind) {
  switch (kind) {
    case SqlKind::Sqlite:
      return "sqlite";
    case SqlKind::Mysql:
      return "mysql";
    case SqlKind::Pgsql:
      return "pgsql";
  }
  return "sql";
}

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

std::string ConnectParams::identity_key() const {
  std::string key(sql_kind_name(kind));
  auto add = [&key](std::string_view part) {
    key.push_back('\0');
    key.append(part);
  };
  auto add_opt = [&](const std::optional<std::string>& part) {
    add(part ? "1" + *part : std::string("0"));
  };
  for (const HostSpec& h : hosts) add(h.kind == HostKind::Uri ? h.name : h.text);
  add("|");
  add(user);
  add(password);
  add(dbname);
  add(charset);
  add(encoding);
  add_opt(option_file);
  add(option_group);
  add_opt(tls_key_file);
  add_opt(tls_cert_file);
  add_opt(tls_CAfile);
  add_opt(tls_CApath);
  add_opt(tls_ciphers);
  add(tls_verify_cert ? (*tls_verify_cert ? "y" : "n") : "-");
  add(std::to_string(retry_interval.count()));
  add(std::to_string(idle_interval.count()));
  return key;
}

std::string ConnectParams::label() const {
  std::string hosts_text;
  for (const HostSpec& h : hosts) {
    if (!hosts_text.empty()) hosts_text.push_back(',');
    hosts_text += h.text;
  }
  if (kind == SqlKind::Sqlite) return fmt::format("sqlite:{}", hosts_text);
  // dbname may be a conninfo string with a password in it.
  return redact_secrets(
      fmt::format("{}:{}@{} user={}", sql_kind_name(kind), dbname, hosts_text, user));
}

std::unique_ptr<SqlDriver> make_driver(const ConnectParams& params) {
  switch (params.kind) {
    case SqlKind::Sqlite:
      return make_sqlite_driver(params);
    case SqlKind::Mysql:
      return make_mysql_driver(params);
    case SqlKind::Pgsql:
      return make_pgsql_driver(params);
  }
  return nullptr;
}

HostSet::HostSet(std::vector<HostSpec> hosts, std::chrono::seconds retry_interval,
                 bool duplicate_single, NowFn now, uint64_t seed)
    : retry_interval_(retry_interval),
      now_(std::move(now)),
      rng_(seed != 0 ? seed : std::random_device{}()) {
  if (duplicate_single && hosts.size() == 1) hosts.push_back(hosts.front());
  for (HostSpec& spec : hosts) hosts_.push_back(Host{std::move(spec)});
}

std::optional<std::size_t> HostSet::pick_locked(const std::vector<bool>& tried,
                                                bool active_only, HostKind kind,
                                                Clock::time_point now) {
  std::vector<std::size_t> eligible;
  for (std::size_t i = 0; i < hosts_.size(); ++i) {
    const Host& h = hosts_[i];
    if (h.spec.kind != kind || (i < tried.size() && tried[i])) continue;
    bool ok = active_only ? h.state == State::Active
                          : (h.state == State::Untried ||
                             (h.state == State::Failed && now >= h.down_until));
    if (ok) eligible.push_back(i);
  }
  if (eligible.empty()) return std::nullopt;
  std::uniform_int_distribution<std::size_t> dist(0, eligible.size() - 1);
  return eligible[dist(rng_)];
}

std::optional<std::size_t> HostSet::pick(const std::vector<bool>& tried) {
  std::lock_guard lock(mu_);
  Clock::time_point now = now_();
  for (bool active_only : {true, false}) {
    for (HostKind kind : {HostKind::Unix, HostKind::Inet, HostKind::Uri}) {
      if (auto i = pick_locked(tried, active_only, kind, now)) return i;
    }
  }
  return std::nullopt;
}

void HostSet::mark_up(std::size_t i) {
  std::lock_guard lock(mu_);
  hosts_[i].state = State::Active;
  ++hosts_[i].connected;
}

void HostSet::mark_down(std::size_t i) {
  std::lock_guard lock(mu_);
  Host& h = hosts_[i];
  h.state = State::Failed;
  h.down_until = now_() + retry_interval_;
  ++h.generation;
}

bool HostSet::revive(std::size_t i) {
  std::lock_guard lock(mu_);
  bool any = false;
  for (Host& h : hosts_) {
    if (h.spec.text != hosts_[i].spec.text || h.state != State::Failed) continue;
    h.state = State::Untried;
    h.down_until = {};
    any = true;
  }
  return any;
}

std::size_t HostSet::probe_index(std::size_t i) const {
  for (std::size_t j = 0; j < i; ++j) {  // spec is immutable: no lock needed
    if (hosts_[j].spec.text == hosts_[i].spec.text) return j;
  }
  return i;
}

void HostSet::release(std::size_t i) {
  std::lock_guard lock(mu_);
  Host& h = hosts_[i];
  if (h.connected > 0) --h.connected;
  if (h.connected == 0 && h.state == State::Active) h.state = State::Untried;
}

uint64_t HostSet::generation(std::size_t i) const {
  std::lock_guard lock(mu_);
  return hosts_[i].generation;
}

bool HostSet::host_down(std::size_t i) const {
  std::lock_guard lock(mu_);
  Clock::time_point now = now_();
  return std::any_of(hosts_.begin(), hosts_.end(), [&](const Host& h) {
    return h.spec.text == hosts_[i].spec.text && h.state == State::Failed &&
           now < h.down_until;
  });
}

bool HostSet::is_down(std::size_t i) const {
  std::lock_guard lock(mu_);
  return hosts_[i].state == State::Failed && now_() < hosts_[i].down_until;
}

}  // namespace proxyd::dict
