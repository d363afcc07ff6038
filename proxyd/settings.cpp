// proxyd.cf parsing from one table of settings (see settings.h). Values use
// Postfix's conventions: integers, yes/no booleans, and lists separated by
// commas or whitespace.
#include "proxyd/settings.h"

#include <fmt/format.h>

#include <charconv>
#include <variant>

#include "dictcore/util/config_error.h"
#include "dictcore/util/config_lines.h"
#include "dictcore/util/files.h"
#include "dictcore/util/postfix_version.h"
#include "dictcore/util/tokens.h"
#include "proxyd/metrics_address.h"

namespace proxyd::daemon {
namespace {

using Field = std::variant<int Settings::*, bool Settings::*, TtlRules Settings::*,
                           std::string Settings::*>;

struct Binding {
  SettingInfo info;
  Field field;
};

const std::vector<Binding>& bindings() {
  using K = SettingKind;
  static const std::vector<Binding> kBindings = {
      {{"max_sessions", K::Int, "4", 1, 1024,
        "SQL sessions per database (driver, hosts, user, database)"},
       &Settings::max_sessions},
      {{"max_queue", K::Int, "4096", 1, 1000000,
        "lookups waiting for a session, per database, before new ones get RETRY"},
       &Settings::max_queue},
      {{"max_batch", K::Int, "16", 1, 256,
        "mysql, pgsql: most lookups sent to the database in one round trip under load (1 "
        "= off)"},
       &Settings::max_batch},
      {{"probe_interval", K::Int, "1", 0, 3600,
        "seconds between reconnect attempts to a database host that is down (0 = off)"},
       &Settings::probe_interval},
      {{"loop_queries", K::Bool, "yes", 0, 1,
        "mysql, pgsql: the event loop runs a lookup itself on a free session (no "
        "thread hand-off)"},
       &Settings::loop_queries},
      {{"lookup_timeout", K::Int, "10", 1, 3600,
        "seconds from request to answer before the client gets RETRY"},
       &Settings::lookup_timeout},
      {{"request_timeout", K::Int, "10", 1, 3600,
        "seconds a client may take to send a started request"},
       &Settings::request_timeout},
      {{"max_request_bytes", K::Int, "4194304", 4096, 67108864,
        "largest request kept, in bytes; a larger one is read, dropped and answered"},
       &Settings::max_request_bytes},
      {{"max_in_flight", K::Int, "32", 1, 4096,
        "pipelined requests per connection before proxyd stops reading from it"},
       &Settings::max_in_flight},
      {{"drain_timeout", K::Int, "10", 0, 3600,
        "seconds SIGTERM waits for requests in progress"},
       &Settings::drain_timeout},
      {{"max_clients", K::Int, "10000", 1, 1000000,
        "client connections at once; the one idle longest is closed to make room"},
       &Settings::max_clients},
      {{"max_memory_bytes", K::Int, "268435456", 1048576, 2147483647,
        "memory for buffered requests and unread replies over all clients, in bytes"},
       &Settings::max_memory_bytes},
      {{"cache_ttl", K::TtlList, "", 0, 86400,
        "seconds found answers are cached: N for all tables or TABLE=N, comma-separated"},
       &Settings::cache_ttl},
      {{"cache_negative_ttl", K::TtlList, "", 0, 86400,
        "seconds \"not found\" answers are cached, same form as cache_ttl"},
       &Settings::cache_negative_ttl},
      {{"cache_max_bytes", K::Int, "67108864", 0, 2147483647,
        "memory bound of the answer cache, in bytes"},
       &Settings::cache_max_bytes},
      {{"chroot", K::Bool, "no", 0, 1,
        "standalone: chroot to queue_directory after reading the configuration"},
       &Settings::chroot},
      {{"postfix_version", K::Release, "auto", 0, 0,
        "answer as this Postfix release does where releases differ (auto = the installed "
        "one)"},
       &Settings::postfix_version},
      {{"metrics_listen", K::Listen, "", 0, 0,
        "Prometheus /metrics on 127.0.0.1:PORT, [::1]:PORT or unix:/path; "
        "SERVICE=ADDRESS "
        "for one master(8) service (empty = off)"},
       &Settings::metrics_listen},
      {{"metrics_allow_remote", K::Bool, "no", 0, 1,
        "let metrics_listen name addresses other hosts can reach"},
       &Settings::metrics_allow_remote},
      {{"forward_read_socket", K::Text, "private/proxymap", 0, 0,
        "stock proxymap socket for table types proxyd does not serve (empty = off)"},
       &Settings::forward_read_socket},
      {{"forward_write_socket", K::Text, "private/proxywrite", 0, 0,
        "stock proxywrite socket for writes to such tables (empty = off)"},
       &Settings::forward_write_socket},
      {{"forward_connections", K::Int, "32", 1, 256,
        "connections to each stock service, one request at a time each"},
       &Settings::forward_connections},
      {{"forward_max_queue", K::Int, "1024", 1, 1000000,
        "forwarded requests waiting for a connection before new ones get RETRY"},
       &Settings::forward_max_queue},
  };
  return kBindings;
}

[[noreturn]] void bad_value(std::string_view origin, int line_no, const SettingInfo& info,
                            std::string_view value, std::string_view why) {
  throw dict::ConfigError(
      fmt::format("{}, line {}: invalid {} parameter value \"{}\": {}", origin, line_no,
                  info.name, value, why));
}

int parse_int(std::string_view origin, int line_no, const SettingInfo& info,
              std::string_view text) {
  int value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    throw dict::ConfigError(
        fmt::format("{}, line {}: bad numerical configuration: {} = {}", origin, line_no,
                    info.name, text));
  }
  if (value < info.min || value > info.max) {
    bad_value(origin, line_no, info, text,
              fmt::format("must be between {} and {}", info.min, info.max));
  }
  return value;
}

TtlRules parse_ttl_list(std::string_view origin, int line_no, const SettingInfo& info,
                        std::string_view text) {
  TtlRules rules;
  for (std::string_view item : dict::split_tokens(text)) {
    std::size_t eq = item.rfind('=');
    if (eq == std::string_view::npos) {
      rules.all = parse_int(origin, line_no, info, item);
      continue;
    }
    std::string_view table = item.substr(0, eq);
    while (table.starts_with("proxy:")) table.remove_prefix(6);
    if (table.find(':') == std::string_view::npos) {
      bad_value(origin, line_no, info, item,
                "expected TABLE=SECONDS with TABLE as type:name");
    }
    rules.per_table[std::string(table)] =
        parse_int(origin, line_no, info, item.substr(eq + 1));
  }
  return rules;
}

}  // namespace

std::chrono::seconds TtlRules::for_table(std::string_view table) const {
  if (auto it = per_table.find(table); it != per_table.end())
    return std::chrono::seconds(it->second);
  return std::chrono::seconds(all);
}

const std::vector<SettingInfo>& setting_table() {
  static const std::vector<SettingInfo> kTable = [] {
    std::vector<SettingInfo> out;
    for (const auto& b : bindings()) out.push_back(b.info);
    return out;
  }();
  return kTable;
}

Settings parse_settings(std::string_view text, std::string_view origin,
                        dict::Logger& log) {
  Settings settings;
  int listen_line = 0;  // where metrics_listen was set (checked at the end)
  for (const dict::NameValue& nv : dict::parse_name_values(text, origin, log)) {
    const Binding* found = nullptr;
    for (const auto& b : bindings()) {
      if (b.info.name == nv.name) found = &b;
    }
    if (found == nullptr) {
      log.warn("{}, line {}: unknown parameter \"{}\" ignored", origin, nv.line_no,
               nv.name);
      continue;
    }
    const SettingInfo& info = found->info;
    std::visit(
        [&](auto member) {
          using T = std::remove_reference_t<decltype(settings.*member)>;
          if constexpr (std::is_same_v<T, int>) {
            settings.*member = parse_int(origin, nv.line_no, info, nv.value);
          } else if constexpr (std::is_same_v<T, bool>) {
            std::optional<bool> b = dict::parse_yes_no(nv.value);
            if (!b) bad_value(origin, nv.line_no, info, nv.value, "expected yes or no");
            settings.*member = *b;
          } else if constexpr (std::is_same_v<T, std::string>) {
            if (info.kind == SettingKind::Listen) {
              settings.*member = nv.value;
              listen_line = nv.line_no;
              return;
            }
            if (info.kind == SettingKind::Text) {
              if (nv.value.size() > 1024 ||
                  nv.value.find_first_of(" \t,") != std::string::npos) {
                bad_value(origin, nv.line_no, info, nv.value, "expected one path");
              }
              settings.*member = nv.value;
              return;
            }
            if (nv.value != "auto" && !dict::PostfixVersion::parse(nv.value)) {
              bad_value(origin, nv.line_no, info, nv.value,
                        "expected auto or a Postfix release such as 3.7.11");
            }
            settings.*member = nv.value;
          } else {
            settings.*member = parse_ttl_list(origin, nv.line_no, info, nv.value);
          }
        },
        found->field);
  }
  if (std::string why =
          check_metrics_listen(settings.metrics_listen, settings.metrics_allow_remote);
      !why.empty()) {
    throw dict::ConfigError(
        fmt::format("{}, line {}: invalid metrics_listen parameter value: {}", origin,
                    listen_line, why));
  }
  return settings;
}

Settings load_settings(const std::filesystem::path& config_dir, dict::Logger& log) {
  std::filesystem::path path = config_dir / "proxyd.cf";
  dict::UniqueFd fd = dict::open_read_only(path.string());
  if (!fd.valid()) {
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) {
      throw dict::ConfigError(fmt::format("open {}: cannot read file", path.string()));
    }
    return Settings{};
  }
  std::string text;
  // A read error ends the text where it happened, as a stream read did.
  if (dict::read_all(fd.get(), text, dict::kMaxConfigFileSize) ==
      dict::ReadAll::TooLarge) {
    throw dict::ConfigError(fmt::format("read {}: file is larger than {} bytes",
                                        path.string(), dict::kMaxConfigFileSize));
  }
  return parse_settings(text, path.string(), log);
}

}  // namespace proxyd::daemon
