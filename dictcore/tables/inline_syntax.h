// The one piece of Postfix's inline: / static:{...} syntax that is theirs
// alone: split_qnameval() ("key = value" with quotes and backslashes kept in
// the key). The "{...}" tokens go through extpar() (dictcore/util/braces.h).
// Pure function; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace proxyd::dict {

// "key = value": fills key and value, or returns an error text.
std::optional<std::string> split_name_value(std::string_view text, std::string_view& key,
                                            std::string_view& value);

}  // namespace proxyd::dict
