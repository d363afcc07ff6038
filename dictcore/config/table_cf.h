// Parameters of one SQL table (cfg_parser): from a .cf file ("/path" or
// "./path", no $ expansion) or, for any other name, from main.cf parameters
// "<name>_<param>" with $ expansion. Typed getters with Postfix's checks.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "dictcore/config/main_cf.h"
#include "dictcore/util/logger.h"

namespace proxyd::dict {

class TableConfig {
 public:
  // Load the parameters for "type:name". A name starting with '/' or '.'
  // (cfg_parser's test) is a file, read relative to the current directory.
  // Throws ConfigUnavailable ("open NAME: reason") when the file cannot be
  // read, ConfigError for syntax errors. The main.cf form copies and expands
  // every "<name>_*" parameter now, so the result does not refer to main_cf.
  static TableConfig load(std::string_view type, std::string_view name,
                          const MainCf& main_cf, Logger& log);

  // Parse .cf text directly (tests); origin plays the part of the file name.
  // release decides whether NUL bytes are warned about (3.9+).
  static TableConfig from_string(std::string_view text, std::string_view origin,
                                 Logger& log,
                                 PostfixVersion release = PostfixVersion::newest());

  // String parameter; ConfigError when shorter than min_len (0 = no check).
  std::string get_str(std::string_view param, std::string_view def,
                      std::size_t min_len = 0) const;

  // Integer parameter (strtol base 10, whole string, int range). As in
  // Postfix a bound of 0 means "no bound": min/max are checked only when
  // non-zero, also against the default. ConfigError when malformed or out
  // of range, worded like cfg_parser / mail_conf_int.
  int get_int(std::string_view param, int def, int min, int max) const;

  // Boolean yes/no parameter (case-insensitive); ConfigError when malformed.
  bool get_bool(std::string_view param, bool def) const;

  // True when the parameter is present.
  bool has(std::string_view param) const;

  // "file /path" or "main.cf prefix name_", for messages.
  const std::string& origin() const { return origin_; }

 private:
  // Prefix for ConfigError texts: "NAME: " for files, "" for main.cf.
  std::string message_prefix() const;
  // The parameter name as the administrator wrote it.
  std::string full_name(std::string_view param) const;

  std::string origin_;
  std::string name_;  // file name, or the main.cf prefix without '_'
  bool from_main_cf_ = false;
  std::map<std::string, std::string, std::less<>> values_;
};

}  // namespace proxyd::dict
