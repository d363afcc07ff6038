// Table parameters the way Postfix's cfg_parser reads them: a "/file" or
// "./file" name is a dict_load_fp-style file (logical lines, name = value,
// no $ expansion); any other name selects main.cf parameters "<name>_<param>"
// with full $ expansion. Getter checks and messages follow cfg_parser.c and
// mail_conf_{str,int,bool}.c. Immutable after loading; any thread.
#include "dictcore/config/table_cf.h"

#include <fmt/format.h>

#include <cerrno>
#include <climits>
#include <cstdlib>

#include "dictcore/util/config_error.h"
#include "dictcore/util/config_lines.h"
#include "dictcore/util/files.h"

namespace proxyd::dict {
TableConfig TableConfig::load(std::string_view type, std::string_view name,
                              const MainCf& main_cf, Logger& log) {
  if (!name.empty() && (name.front() == '/' || name.front() == '.')) {
    TableConfig cfg = from_string(read_file(std::string(name), kMaxConfigFileSize), name,
                                  log, main_cf.release());
    cfg.origin_ = fmt::format("file {}", name);
    return cfg;
  }
  TableConfig cfg;
  cfg.name_ = std::string(name);
  cfg.from_main_cf_ = true;
  cfg.origin_ = fmt::format("main.cf prefix {}_", name);
  const std::string prefix = fmt::format("{}_", name);
  for (const auto& param : main_cf.parameter_names()) {
    if (param.size() > prefix.size() && param.compare(0, prefix.size(), prefix) == 0) {
      cfg.values_.emplace(param.substr(prefix.size()), main_cf.get(param, log));
    }
  }
  if (log.verbose()) {
    log.info("{}:{}: {} parameters from {}", type, name, cfg.values_.size(), cfg.origin_);
  }
  return cfg;
}

TableConfig TableConfig::from_string(std::string_view text, std::string_view origin,
                                     Logger& log, PostfixVersion release) {
  TableConfig cfg;
  cfg.name_ = std::string(origin);
  cfg.origin_ = fmt::format("file {}", origin);
  NullByteWarnings nul_warnings;
  for (auto& nv : parse_name_values(text, origin, log, &nul_warnings)) {
    cfg.values_.insert_or_assign(std::move(nv.name), std::move(nv.value));
  }
  log_null_byte_warnings(nul_warnings, release, log);
  return cfg;
}

std::string TableConfig::message_prefix() const {
  return from_main_cf_ ? std::string() : fmt::format("{}: ", name_);
}

std::string TableConfig::full_name(std::string_view param) const {
  return from_main_cf_ ? fmt::format("{}_{}", name_, param) : std::string(param);
}

std::string TableConfig::get_str(std::string_view param, std::string_view def,
                                 std::size_t min_len) const {
  // XXX(conf): Postfix $-expands main.cf-form defaults; the SQL defaults
  // contain no '$', so they are used as given.
  auto it = values_.find(param);
  std::string value = it != values_.end() ? it->second : std::string(def);
  if (min_len != 0 && value.size() < min_len) {
    throw ConfigError(fmt::format("{}bad string length {} < {}: {} = {}",
                                  message_prefix(), value.size(), min_len,
                                  full_name(param), value));
  }
  return value;
}

int TableConfig::get_int(std::string_view param, int def, int min, int max) const {
  int value = def;
  if (auto it = values_.find(param); it != values_.end()) {
    const std::string& text = it->second;
    char* end = nullptr;
    errno = 0;
    const long parsed = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != 0 || errno == ERANGE || parsed < INT_MIN ||
        parsed > INT_MAX) {
      throw ConfigError(fmt::format("{}bad numerical configuration: {} = {}",
                                    message_prefix(), full_name(param), text));
    }
    value = static_cast<int>(parsed);
  }
  if (min != 0 && value < min) {
    throw ConfigError(fmt::format("{}invalid {} parameter value {} < {}",
                                  message_prefix(), full_name(param), value, min));
  }
  if (max != 0 && value > max) {
    throw ConfigError(fmt::format("{}invalid {} parameter value {} > {}",
                                  message_prefix(), full_name(param), value, max));
  }
  return value;
}

bool TableConfig::get_bool(std::string_view param, bool def) const {
  auto it = values_.find(param);
  if (it == values_.end()) return def;
  if (const auto flag = parse_yes_no(it->second)) return *flag;
  throw ConfigError(fmt::format("{}bad boolean configuration: {} = {}", message_prefix(),
                                full_name(param), it->second));
}

bool TableConfig::has(std::string_view param) const {
  return values_.find(param) != values_.end();
}

}  // namespace proxyd::dict
