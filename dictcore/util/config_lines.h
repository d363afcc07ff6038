// Postfix logical-line reader (readllines + split_nameval) shared by main.cf,
// table .cf files, /file/name allowlist references, master.cf (check), 3.8+
// domain-list files and texthash: files: comments, blank lines, continuation
// lines starting with white space, "name = value", and 3.9+'s NUL-byte
// warning.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dictcore/util/logger.h"
#include "dictcore/util/postfix_version.h"

namespace proxyd::dict {

// One logical line with the physical line number where it started.
struct LogicalLine {
  int line_no = 0;
  std::string text;
};

// readllines' "text after null byte may be ignored" messages, which only
// Postfix 3.9+ logs: a reader that does not know the release yet keeps them
// here and logs them once it does (log_null_byte_warnings).
using NullByteWarnings = std::vector<std::string>;

// What logical_lines does with NUL bytes. Cut: warn "text after null byte
// may be ignored" and end the logical line at its first NUL, as readllines()
// and its C-string consumers do (main.cf, .cf files, allowlist and domain-list
// files, master.cf). Keep: keep every byte, unwarned, as texthash: tables
// read their files before 3.9. KeepAndWarn: keep every byte and warn, as
// texthash: does from 3.9.
enum class NulBytes { Cut, Keep, KeepAndWarn };

// Split text into logical lines the way Postfix's readllines() does. A
// logical line that starts with white space is reported through log (with
// origin for the message) and skipped. The NUL-byte warning goes to log, or
// into *nul_warnings when that is given. The one logical-line reader of the
// tree.
std::vector<LogicalLine> logical_lines(std::string_view text, std::string_view origin,
                                       Logger& log, NulBytes nul = NulBytes::Cut,
                                       NullByteWarnings* nul_warnings = nullptr);

// Log the kept NUL-byte warnings when release has them (3.9+).
void log_null_byte_warnings(const NullByteWarnings& warnings, PostfixVersion release,
                            Logger& log);

// One parameter assignment.
struct NameValue {
  int line_no = 0;
  std::string name;
  std::string value;
};

// Parse "name = value" lines (trimmed as split_nameval does). A line without
// '=' throws ConfigError "ORIGIN, line N: missing '=' after attribute name:
// "TEXT"" (dict_load_fp's wording). Entries come back in file order,
// duplicates included, so inserting them in order lets the later one win; a
// duplicate with a different value is warned about (without the old value).
std::vector<NameValue> parse_name_values(std::string_view text, std::string_view origin,
                                         Logger& log,
                                         NullByteWarnings* nul_warnings = nullptr);

// A boolean parameter value as main.cf and cfg_parser read it: "yes" or
// "no" in any ASCII letter case; nullopt for anything else.
std::optional<bool> parse_yes_no(std::string_view text);

// The cap main.cf, table .cf files and allowlist /file/name references are
// read with (read_file in dictcore/util/files.h; ConfigError beyond it).
inline constexpr std::size_t kMaxConfigFileSize = 16 * 1024 * 1024;

}  // namespace proxyd::dict
