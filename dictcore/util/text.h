// ASCII text helpers with Postfix's meaning, in one place: ISSPACE (white
// space that never matches a byte >= 0x80, whatever the locale), ISALNUM
// in the C locale, and case-insensitive comparison of ASCII letters
// (strcasecmp in the C locale).
#pragma once

#include <cstddef>
#include <string_view>

namespace proxyd::dict {

// Postfix's ISSPACE: ' ', \t, \n, \v, \f, \r.
constexpr bool c_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// ASCII letter or digit (Postfix's ISALNUM in the C locale).
constexpr bool ascii_alnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// ASCII tolower; other bytes unchanged.
constexpr char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
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
