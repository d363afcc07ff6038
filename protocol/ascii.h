// ASCII character classes with Postfix's meaning, whatever the locale: the
// one home of ISSPACE, ISDIGIT, ISALPHA, ISALNUM and tolower for every
// layer (the attribute codec's number parser here, dictcore and proxyd
// through dictcore/util/text.h). A byte >= 0x80 is never space, letter or
// digit.
#pragma once

namespace proxyd::protocol {

// Postfix's ISSPACE (C isspace in the "C" locale): ' ', \t, \n, \v, \f, \r.
constexpr bool c_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// ASCII decimal digit (Postfix's ISDIGIT).
constexpr bool ascii_digit(char c) { return c >= '0' && c <= '9'; }

// ASCII letter (Postfix's ISALPHA in the C locale).
constexpr bool ascii_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// ASCII letter or digit (Postfix's ISALNUM in the C locale).
constexpr bool ascii_alnum(char c) { return ascii_digit(c) || ascii_alpha(c); }

// ASCII tolower; other bytes unchanged.
constexpr char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace proxyd::protocol
