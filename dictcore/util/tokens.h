// Tokenizer for Postfix list-valued settings: Postfix's mystrtokq() with
// the CHARS_COMMA_SP separators and "{}" grouping, as used by proxymap's
// allowlist scan, the SQL "domain" list (match_list) and inline: tables.
// Pure function; any thread.
#pragma once

#include <optional>
#include <string_view>

namespace proxyd::dict {

// Separators of Postfix list-valued parameters (CHARS_COMMA_SP).
inline constexpr std::string_view kCommaSpaceSeparators = ", \t\r\n";

// Next token of rest, split on kCommaSpaceSeparators but keeping each
// {...} group (counted by nesting level; a '}' with no open '{' is plain
// text) inside one token. Leading separators are skipped; rest is advanced
// past the token and the one separator that ended it. Returns nullopt (and
// empties rest) when only separators remain; a token is never empty.
std::optional<std::string_view> next_grouped_token(std::string_view& rest);

}  // namespace proxyd::dict
