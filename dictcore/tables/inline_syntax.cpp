// inline: / static: syntax helpers (see inline_syntax.h).
#include "dictcore/tables/inline_syntax.h"

#include <fmt/format.h>

#include "dictcore/util/braces.h"
#include "dictcore/util/text.h"

namespace proxyd::dict {

std::string_view trim(std::string_view text) {
  while (!text.empty() && c_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && c_space(text.back())) text.remove_suffix(1);
  return text;
}

std::optional<std::string> brace_contents(std::string_view token,
                                          std::string_view& inner) {
  std::size_t len = balanced_length(token);
  if (len == 0) return fmt::format("missing '}}' in \"{}\"", token);
  if (len != token.size()) return fmt::format("syntax error after '}}' in \"{}\"", token);
  inner = trim(token.substr(1, len - 2));
  return std::nullopt;
}

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
