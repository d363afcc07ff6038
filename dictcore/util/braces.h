// Postfix's balpar() for "{...}": the one brace matcher the inline: parser,
// the allowlist walk and main.cf's ${name?{...}} expansion share.
#pragma once

#include <cstddef>
#include <string_view>

namespace proxyd::dict {

// Length of the balanced "{...}" group at the start of text (nested groups
// counted), or 0 when text does not start with '{' or the group never closes.
constexpr std::size_t balanced_length(std::string_view text) {
  if (text.empty() || text[0] != '{') return 0;
  int level = 1;
  for (std::size_t i = 1; i < text.size(); ++i) {
    if (text[i] == '}') {
      if (--level == 0) return i + 1;
    } else if (text[i] == '{') {
      ++level;
    }
  }
  return 0;
}

}  // namespace proxyd::dict
