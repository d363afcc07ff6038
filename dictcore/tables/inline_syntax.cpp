// split_qnameval() for inline: tables (see inline_syntax.h).
#include "dictcore/tables/inline_syntax.h"

#include "dictcore/util/text.h"

namespace proxyd::dict {

std::optional<std::string> split_name_value(std::string_view text, std::string_view& key,
                                            std::string_view& value) {
  std::size_t pos = 0;
  while (pos < text.size() && c_space(text[pos])) ++pos;
  if (pos == text.size())
    return std::string("no key found; expected format: key = value");
  std::size_t key_start = pos;
  bool in_quotes = false;
  for (; pos < text.size(); ++pos) {
    char c = text[pos];
    if (c == '\\') {
      if (++pos >= text.size()) break;
    } else if (c_space(c) || c == '=') {
      if (!in_quotes) break;
    } else if (c == '"') {
      in_quotes = !in_quotes;
    }
  }
  if (pos > text.size()) pos = text.size();
  if (in_quotes) return std::string("unbalanced '\"'");
  std::size_t key_end = pos;
  while (pos < text.size() && c_space(text[pos])) ++pos;
  if (pos == text.size() || text[pos] != '=') {
    return std::string("missing '=' after attribute name");
  }
  ++pos;
  key = text.substr(key_start, key_end - key_start);
  value = trim(text.substr(pos));
  return std::nullopt;
}

}  // namespace proxyd::dict
