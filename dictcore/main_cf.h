// Postfix main.cf: parameters as written, Postfix defaults for the
// parameters proxymap cares about, "-o name=value" overrides, and full
// $name / ${name} / $(name) / ${name?x} / ${name:x} / ${{a}==... } expansion
// (mac_expand). Immutable after loading; safe to read from any thread.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "dictcore/logger.h"

namespace proxyd::dict {

class MainCf {
 public:
  // Load config_dir/main.cf. Throws ConfigUnavailable / ConfigError.
  static MainCf load(const std::filesystem::path& config_dir, Logger& log);

  // Parse main.cf text (tests); config_dir is used for relative references.
  static MainCf from_string(std::string_view text, Logger& log,
                            std::filesystem::path config_dir = "/etc/postfix");

  // Apply "-o name=value" (takes precedence over main.cf and defaults).
  void set_override(std::string name, std::string value);

  // The value as written (override, else main.cf, else Postfix default);
  // nullopt when the parameter is unknown and unset.
  std::optional<std::string> raw(std::string_view name) const;

  // The fully $-expanded value of a parameter ("" when unknown and unset).
  std::string get(std::string_view name) const;

  // Expand $references in arbitrary text against these parameters.
  std::string expand(std::string_view text) const;

  // True when main.cf or an override sets the parameter explicitly.
  bool is_set(std::string_view name) const;

  // Convenience: boolean parameter (yes/no, case-insensitive).
  bool get_bool(std::string_view name) const;

  const std::filesystem::path& config_dir() const { return config_dir_; }

 private:
  std::filesystem::path config_dir_;
  std::map<std::string, std::string, std::less<>> values_;     // from main.cf
  std::map<std::string, std::string, std::less<>> overrides_;  // from -o
};

}  // namespace proxyd::dict
