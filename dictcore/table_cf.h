// Parameters of one SQL table (cfg_parser): from a .cf file ("/path" or
// "./path", no $ expansion) or, for any other name, from main.cf parameters
// "<name>_<param>" with $ expansion. Typed getters with Postfix's checks.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "dictcore/logger.h"
#include "dictcore/main_cf.h"

namespace proxyd::dict {

class TableConfig {
 public:
  // Load the parameters for "type:name". Throws ConfigUnavailable when the
  // file cannot be read, ConfigError for syntax errors.
  static TableConfig load(std::string_view type, std::string_view name,
                          const MainCf& main_cf, Logger& log);

  // Parse .cf text directly (tests).
  static TableConfig from_string(std::string_view text, std::string_view origin,
                                 Logger& log);

  // String parameter; ConfigError when shorter than min_len.
  std::string get_str(std::string_view param, std::string_view def,
                      std::size_t min_len = 0) const;

  // Integer parameter in [min, max]; ConfigError when malformed or out of range.
  int get_int(std::string_view param, int def, int min, int max) const;

  // Boolean yes/no parameter; ConfigError when malformed.
  bool get_bool(std::string_view param, bool def) const;

  // True when the parameter is present.
  bool has(std::string_view param) const;

  // "file /path" or "main.cf prefix name_", for messages.
  const std::string& origin() const { return origin_; }

 private:
  std::string origin_;
  std::map<std::string, std::string, std::less<>> values_;
  const MainCf* main_cf_ = nullptr;  // prefix form: values read lazily
  std::string prefix_;
};

}  // namespace proxyd::dict
