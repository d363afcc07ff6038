// extpar() (see braces.h).
#include "dictcore/util/braces.h"

#include <fmt/format.h>

#include "dictcore/util/text.h"

namespace proxyd::dict {

std::optional<std::string> extpar(std::string_view text, std::string_view& inner,
                                  Extpar flags) {
  if (text.empty() || text.front() != '{') {
    return fmt::format("no '{{' at start of text in \"{}\"", text);
  }
  const std::size_t length = balanced_length(text);
  if (length == 0) return fmt::format("missing '}}' in \"{}\"", text);
  if (length != text.size())
    return fmt::format("syntax error after '}}' in \"{}\"", text);
  inner = text.substr(1, length - 2);
  if (flags == Extpar::Strip) inner = trim(inner);
  return std::nullopt;
}

}  // namespace proxyd::dict
