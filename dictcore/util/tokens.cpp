// Tokenizer for Postfix list-valued settings: reproduces mystrtokq() with
// separators ", \t\r\n" and parens "{}" (one token per {...} group, nesting
// counted, an unmatched '}' kept as text). Pure function; any thread.
#include "dictcore/util/tokens.h"

#include <cstddef>

namespace proxyd::dict {

std::optional<std::string_view> next_grouped_token(std::string_view& rest) {
  const std::size_t start = rest.find_first_not_of(kCommaSpaceSeparators);
  if (start == std::string_view::npos) {
    rest = {};
    return std::nullopt;
  }
  rest.remove_prefix(start);
  int level = 0;
  std::size_t i = 0;
  for (; i < rest.size(); ++i) {
    const char c = rest[i];
    if (c == '{') {
      ++level;
    } else if (level > 0 && c == '}') {
      --level;
    } else if (level == 0 && kCommaSpaceSeparators.find(c) != std::string_view::npos) {
      break;
    }
  }
  const std::string_view token = rest.substr(0, i);
  rest.remove_prefix(i < rest.size() ? i + 1 : i);
  return token;
}

}  // namespace proxyd::dict
