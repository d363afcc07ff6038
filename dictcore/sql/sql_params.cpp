// Map-backed SQL table parameters with Postfix cfg_parser value checks
// (strtol-style integers, case-insensitive yes/no, minimum string lengths).
#include "dictcore/sql/sql_params.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>

#include "dictcore/util/config_error.h"
#include "dictcore/util/text.h"

namespace proxyd::dict {

bool MapParams::has(std::string_view param) const {
  return values_.find(param) != values_.end();
}

std::string MapParams::get_str(std::string_view param, std::string_view def,
                               std::size_t min_len) const {
  auto it = values_.find(param);
  std::string value = (it != values_.end()) ? it->second : std::string(def);
  if (value.size() < min_len) {
    throw ConfigError(fmt::format("{}: bad string length {} < {}: {} = {}", origin_,
                                  value.size(), min_len, param, value));
  }
  return value;
}

int MapParams::get_int(std::string_view param, int def, int min, int max) const {
  auto it = values_.find(param);
  if (it == values_.end()) return def;
  const std::string& text = it->second;
  errno = 0;
  char* end = nullptr;
  long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE || value < INT_MIN ||
      value > INT_MAX) {
    throw ConfigError(
        fmt::format("{}: bad numerical configuration: {} = {}", origin_, param, text));
  }
  if (value < min) {
    throw ConfigError(fmt::format("{}: invalid {} parameter value {} < {}", origin_,
                                  param, value, min));
  }
  if (value > max) {
    throw ConfigError(fmt::format("{}: invalid {} parameter value {} > {}", origin_,
                                  param, value, max));
  }
  return static_cast<int>(value);
}

bool MapParams::get_bool(std::string_view param, bool def) const {
  auto it = values_.find(param);
  if (it == values_.end()) return def;
  if (ascii_iequal(it->second, "yes")) return true;
  if (ascii_iequal(it->second, "no")) return false;
  throw ConfigError(
      fmt::format("{}: bad boolean configuration: {} = {}", origin_, param, it->second));
}

}  // namespace proxyd::dict
