// Postfix's balpar() and extpar() for "{...}": the one brace matcher and the
// one "inside of a {...} token" extractor that the inline: and static:
// parsers, the allowlist walk, import_environment and main.cf's
// ${name?{...}} expansion share. Pure functions; any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
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

// Whether extpar trims white space (ISSPACE) inside the braces
// (EXTPAR_FLAG_STRIP).
enum class Extpar { Plain, Strip };

// extpar(): when the whole of text is one balanced "{...}" group, its inside
// in inner and nullopt; otherwise Postfix's error text ("no '{' at start of
// text in "TEXT"", "missing '}' in "TEXT"", "syntax error after '}' in
// "TEXT"") and inner unchanged.
std::optional<std::string> extpar(std::string_view text, std::string_view& inner,
                                  Extpar flags);

}  // namespace proxyd::dict
