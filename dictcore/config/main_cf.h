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
#include <vector>

#include "dictcore/util/config_lines.h"
#include "dictcore/util/logger.h"
#include "dictcore/util/postfix_version.h"

namespace proxyd::dict {

class MainCf {
 public:
  // Load config_dir/main.cf. Throws ConfigUnavailable / ConfigError.
  static MainCf load(const std::filesystem::path& config_dir, Logger& log);

  // Parse main.cf text (tests); config_dir is used for relative references.
  static MainCf from_string(std::string_view text, Logger& log,
                            std::filesystem::path config_dir = "/etc/postfix");

  // Use that Postfix release's defaults where releases differ (see
  // release_defaults.h); the newest release's until this is called.
  void follow_release(PostfixVersion release);

  // The release followed (newest until follow_release).
  PostfixVersion release() const { return release_; }

  // readllines' NUL-byte warnings for main.cf, kept because only 3.9+ logs
  // them and the release is learnt after main.cf is read
  // (log_null_byte_warnings).
  const NullByteWarnings& null_byte_warnings() const { return null_byte_warnings_; }

  // Apply "-o name=value" (takes precedence over main.cf and defaults).
  void set_override(std::string name, std::string value);

  // The value as written (override, else main.cf, else Postfix default);
  // nullopt when the parameter is unknown and unset.
  std::optional<std::string> raw(std::string_view name) const;

  // The fully $-expanded value of a parameter ("" when unknown and unset).
  // Expansion problems (syntax errors, reference loops) are silent here.
  std::string get(std::string_view name) const;

  // As get(), but syntax errors and loops are reported through log (where
  // Postfix would stop with "macro processing error"); the partial
  // expansion is returned.
  std::string get(std::string_view name, Logger& log) const;

  // Expand $references in arbitrary text against these parameters.
  std::string expand(std::string_view text) const;

  // As expand(), reporting expansion problems through log.
  std::string expand(std::string_view text, Logger& log) const;

  // True when main.cf or an override sets the parameter explicitly.
  bool is_set(std::string_view name) const;

  // Convenience: boolean parameter (yes/no, case-insensitive); ConfigError
  // "bad boolean configuration: NAME = VALUE" for anything else.
  bool get_bool(std::string_view name) const;

  // Every parameter name with a value (defaults, main.cf, overrides), sorted.
  std::vector<std::string> parameter_names() const;

  const std::filesystem::path& config_dir() const { return config_dir_; }

 private:
  // Recompute defaults that depend on the host name and on main.cf
  // (config_directory, myhostname, mydomain), in Postfix's order.
  void compute_dynamic_defaults();

  std::filesystem::path config_dir_;
  std::string hostname_;                               // gethostname() at load time
  PostfixVersion release_ = PostfixVersion::newest();  // whose defaults
  std::map<std::string, std::string, std::less<>> defaults_;   // Postfix defaults
  std::map<std::string, std::string, std::less<>> values_;     // from main.cf
  std::map<std::string, std::string, std::less<>> overrides_;  // from -o
  NullByteWarnings null_byte_warnings_;                        // not logged yet
};

}  // namespace proxyd::dict
