// ASCII text helpers with Postfix's meaning, in one place for dictcore and
// proxyd: the character classes (ISSPACE, ISDIGIT, ISALPHA, ISALNUM,
// tolower; they live in protocol/ascii.h, the lowest layer that needs
// them), trimming, and case-insensitive comparison of ASCII letters
// (strcasecmp in the C locale).
#pragma once

#include <cstddef>
#include <string_view>

#include "protocol/ascii.h"

namespace proxyd::dict {

using protocol::ascii_alnum;
using protocol::ascii_alpha;
using protocol::ascii_digit;
using protocol::ascii_lower;
using protocol::c_space;

// text without ISSPACE white space at either end (Postfix's trimblanks()
// and the leading skip that goes with it).
constexpr std::string_view trim(std::string_view text) {
  while (!text.empty() && c_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && c_space(text.back())) text.remove_suffix(1);
  return text;
}

// a == b ignoring the case of ASCII letters.
constexpr bool ascii_iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

// text starts with prefix, ignoring the case of ASCII letters.
constexpr bool ascii_istarts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         ascii_iequal(text.substr(0, prefix.size()), prefix);
}

}  // namespace proxyd::dict
