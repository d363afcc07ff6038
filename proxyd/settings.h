// proxyd's own parameters, from CONFIG_DIR/proxyd.cf (Postfix "name =
// value" syntax, every setting optional). One table holds each name, its
// type, default, bounds and description; the parser, `proxyd -h`, the man
// page test and the example proxyd.cf all follow that table.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "dictcore/util/logger.h"
#include "dictcore/util/postfix_version.h"

namespace proxyd::daemon {

// A per-table list of seconds ("cache_ttl = 60, mysql:/etc/postfix/a.cf=300"):
// a bare number applies to every table, TABLE=N to one table.
struct TtlRules {
  int all = 0;
  std::map<std::string, int, std::less<>> per_table;
  // Seconds for table ("type:name"), 0 = not cached.
  std::chrono::seconds for_table(std::string_view table) const;
  bool operator==(const TtlRules&) const = default;
};

// Effective daemon settings.
struct Settings {
  int max_sessions = 4;             // SQL sessions per database identity
  int max_queue = 4096;             // queued lookups per database before RETRY
  int max_batch = 16;               // mysql: lookups per round trip under load
  int probe_interval = 1;           // seconds between reconnects to a down host; 0 = off
  int lookup_timeout = 10;          // seconds from request to answer before RETRY
  int request_timeout = 10;         // seconds to finish sending a started request
  int max_request_bytes = 4194304;  // bytes in one request
  int max_in_flight = 32;   // pipelined requests per connection before reads pause
  int drain_timeout = 10;   // seconds SIGTERM waits for in-flight requests
  int max_clients = 10000;  // client connections at once
  int max_memory_bytes = 268435456;  // buffered requests and queued replies, all clients
  TtlRules cache_ttl;                // positive answers
  TtlRules cache_negative_ttl;       // "not found" answers
  int cache_max_bytes = 67108864;    // memory bound of the answer cache
  bool chroot = false;               // standalone: chroot to queue_directory
  bool loop_queries = true;          // pgsql: the loop sends lookups itself
  std::string postfix_version = "auto";  // whose table semantics: auto or a release
  std::string metrics_listen;            // Prometheus endpoint address(es); "" = off
  bool metrics_allow_remote = false;     // metrics_listen may name non-loopback addresses
  // Forwarding of table types proxyd does not serve to Postfix's proxymap:
  // sockets relative to queue_directory unless absolute; "" = off.
  std::string forward_read_socket = "private/proxymap";
  std::string forward_write_socket = "private/proxywrite";
  int forward_connections = 32;  // connections to each stock service
  int forward_max_queue = 1024;  // forwarded requests waiting before RETRY
  // Not a proxyd.cf line: postfix_version resolved when the configuration
  // is loaded (resolve_postfix_version), the release whose semantics apply.
  dict::PostfixVersion postfix_semantics = dict::PostfixVersion::newest();
  bool operator==(const Settings&) const = default;
};

// How a setting's value is written.
enum class SettingKind { Int, Bool, TtlList, Release, Listen, Text };

// Description of one setting, for documentation and checks.
struct SettingInfo {
  std::string_view name;
  SettingKind kind;
  std::string_view def;  // default as written in proxyd.cf ("" = empty)
  int min;               // Int, TtlList values: bounds
  int max;
  std::string_view help;
};

// Every setting, in documentation order.
const std::vector<SettingInfo>& setting_table();

// Read CONFIG_DIR/proxyd.cf if present (absent file = all defaults). Throws
// dict::ConfigError naming the file, line and parameter on bad values;
// unknown names are warned about and ignored, as Postfix does.
Settings load_settings(const std::filesystem::path& config_dir, dict::Logger& log);

// Parse proxyd.cf text (tests).
Settings parse_settings(std::string_view text, std::string_view origin,
                        dict::Logger& log);

}  // namespace proxyd::daemon
