// proxyd.cf parsing from one table of settings (see settings.h).
#include "proxyd/settings.h"

#include <charconv>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "dictcore/config_error.h"
#include "dictcore/config_lines.h"

namespace proxyd::daemon {
namespace {

struct Binding {
  SettingInfo info;
  int Settings::*field;
};

const std::vector<Binding>& bindings() {
  static const std::vector<Binding> kBindings = {
      {{"max_sessions", 4, 1, 1024, "SQL sessions per database (driver, hosts, user, database)"},
       &Settings::max_sessions},
      {{"request_timeout", 10, 1, 3600, "seconds a client may take to send a started request"},
       &Settings::request_timeout},
      {{"max_request_bytes", 4194304, 4096, 67108864, "largest request accepted, in bytes"},
       &Settings::max_request_bytes},
      {{"max_in_flight", 32, 1, 4096,
        "pipelined requests per connection before proxyd stops reading from it"},
       &Settings::max_in_flight},
      {{"drain_timeout", 10, 0, 3600, "seconds SIGTERM waits for requests in progress"},
       &Settings::drain_timeout},
  };
  return kBindings;
}

}  // namespace

const std::vector<SettingInfo>& setting_table() {
  static const std::vector<SettingInfo> kTable = [] {
    std::vector<SettingInfo> out;
    for (const auto& b : bindings()) out.push_back(b.info);
    return out;
  }();
  return kTable;
}

Settings parse_settings(std::string_view text, std::string_view origin, dict::Logger& log) {
  Settings settings;
  for (const dict::NameValue& nv : dict::parse_name_values(text, origin, log)) {
    const Binding* found = nullptr;
    for (const auto& b : bindings()) {
      if (b.info.name == nv.name) found = &b;
    }
    if (found == nullptr) {
      log.warn("{}, line {}: unknown parameter \"{}\" ignored", origin, nv.line_no, nv.name);
      continue;
    }
    int value = 0;
    auto [ptr, ec] = std::from_chars(nv.value.data(), nv.value.data() + nv.value.size(), value);
    if (ec != std::errc() || ptr != nv.value.data() + nv.value.size()) {
      throw dict::ConfigError(fmt::format("{}, line {}: bad numerical configuration: {} = {}",
                                          origin, nv.line_no, nv.name, nv.value));
    }
    if (value < found->info.min || value > found->info.max) {
      throw dict::ConfigError(fmt::format("{}, line {}: invalid {} parameter value {}: "
                                          "must be between {} and {}",
                                          origin, nv.line_no, nv.name, value, found->info.min,
                                          found->info.max));
    }
    settings.*(found->field) = value;
  }
  return settings;
}

Settings load_settings(const std::filesystem::path& config_dir, dict::Logger& log) {
  std::filesystem::path path = config_dir / "proxyd.cf";
  std::ifstream in(path);
  if (!in) {
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) {
      throw dict::ConfigError(fmt::format("open {}: cannot read file", path.string()));
    }
    return Settings{};
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_settings(text.str(), path.string(), log);
}

}  // namespace proxyd::daemon
