// Tokenizers for Postfix list-valued settings: mystrtok() and mystrtokq()
// with parens "{}" (one token per {...} group, nesting counted, an
// unmatched '}' kept as text). Pure functions; any thread.
#include "dictcore/util/tokens.h"

#include <algorithm>
#include <cstddef>

namespace proxyd::dict {

std::optional<std::string_view> next_token(std::string_view& rest,
                                           std::string_view separators) {
  const std::size_t start = rest.find_first_not_of(separators);
  if (start == std::string_view::npos) {
    rest = {};
    return std::nullopt;
  }
  rest.remove_prefix(start);
  const std::size_t stop = std::min(rest.find_first_of(separators), rest.size());
  const std::string_view token = rest.substr(0, stop);
  rest.remove_prefix(stop < rest.size() ? stop + 1 : stop);
  return token;
}

std::vector<std::string_view> split_tokens(std::string_view text,
                                           std::string_view separators) {
  std::vector<std::string_view> tokens;
  while (auto token = next_token(text, separators)) tokens.push_back(*token);
  return tokens;
}

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
