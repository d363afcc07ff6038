// Tokenizers for Postfix list-valued settings, and the one home of their
// separator sets: Postfix's mystrtokq() with the CHARS_COMMA_SP separators
// and "{}" grouping, as used by proxymap's allowlist scan, the SQL "domain"
// list (match_list) and inline: tables; and plain mystrtok() for lists
// without groups (host lists, pathname lists, proxyd.cf lists, master.cf
// fields). Pure functions; any thread.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace proxyd::dict {

// Separators of Postfix list-valued parameters (CHARS_COMMA_SP).
inline constexpr std::string_view kCommaSpaceSeparators = ", \t\r\n";

// White space separators (CHARS_SPACE): master.cf fields, main.cf
// expression operands.
inline constexpr std::string_view kSpaceSeparators = " \t\r\n";

// Next token of rest split on separators (Postfix's mystrtok(): no
// grouping). Leading separators are skipped; rest is advanced past the
// token and the one separator that ended it. Returns nullopt (and empties
// rest) when only separators remain; a token is never empty.
std::optional<std::string_view> next_token(
    std::string_view& rest, std::string_view separators = kCommaSpaceSeparators);

// Every next_token of text, in order.
std::vector<std::string_view> split_tokens(
    std::string_view text, std::string_view separators = kCommaSpaceSeparators);

// Next token of rest, split on kCommaSpaceSeparators but keeping each
// {...} group (counted by nesting level; a '}' with no open '{' is plain
// text) inside one token. Leading separators are skipped; rest is advanced
// past the token and the one separator that ended it. Returns nullopt (and
// empties rest) when only separators remain; a token is never empty.
std::optional<std::string_view> next_grouped_token(std::string_view& rest);

}  // namespace proxyd::dict
