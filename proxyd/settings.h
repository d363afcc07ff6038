// proxyd's own parameters, from CONFIG_DIR/proxyd.cf (Postfix "name =
// value" syntax, every setting optional). One table holds each name, its
// default, its bounds and its description; the parser, the man page test
// and `proxyd -h` all read that table.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "dictcore/logger.h"

namespace proxyd::daemon {

// Effective daemon settings.
struct Settings {
  int max_sessions = 4;              // SQL sessions per database identity
  int request_timeout = 10;          // seconds to finish sending a started request
  int max_request_bytes = 4194304;   // bytes in one request
  int max_in_flight = 32;            // pipelined requests per connection before reads pause
  int drain_timeout = 10;            // seconds SIGTERM waits for in-flight requests
};

// Description of one setting, for documentation and checks.
struct SettingInfo {
  std::string_view name;
  int def;
  int min;
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
Settings parse_settings(std::string_view text, std::string_view origin, dict::Logger& log);

}  // namespace proxyd::daemon
