// Password redaction for everything proxyd prints: log lines, `proxyd
// stats` and `proxyd check`. Two forms are recognised in free text: the
// password of a URI's user information ("scheme://user:secret@host") and a
// "password=" parameter, as in a URI query ("?password=secret") or a libpq
// keyword/value conninfo ("password = 'sec ret'"). A literal secret (a .cf
// `password =` value) is removed by redact_value. Pure functions; any thread.
#pragma once

#include <string>
#include <string_view>

namespace proxyd::dict {

// What a redacted secret is replaced with.
inline constexpr std::string_view kRedacted = "*****";

// text with every URI user-information password and every password=VALUE
// replaced by kRedacted. Text without either comes back unchanged.
std::string redact_secrets(std::string_view text);

// text with every occurrence of secret replaced by kRedacted, then
// redact_secrets. An empty secret removes nothing by itself.
std::string redact_value(std::string_view text, std::string_view secret);

}  // namespace proxyd::dict
