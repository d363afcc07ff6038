// The pieces of Postfix's inline: / static:{...} syntax: extpar() with
// stripping (the inside of one "{...}" token) and split_qnameval() ("key =
// value" with quotes and backslashes kept in the key), plus the trim they
// share. Pure functions; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace proxyd::dict {

// Trim ASCII white space (Postfix ISSPACE) at both ends.
std::string_view trim(std::string_view text);

// The inside of the "{...}" token, stripped, in inner; or an error text.
std::optional<std::string> brace_contents(std::string_view token,
                                          std::string_view& inner);

// "key = value": fills key and value, or returns an error text.
std::optional<std::string> split_name_value(std::string_view text, std::string_view& key,
                                            std::string_view& value);

}  // namespace proxyd::dict
