// Key text helpers with Postfix's exact semantics: ASCII-only lowercase
// (util/lowercase.c, used by table drivers on FOLD_FIX), casefold() (the
// Unicode case folding Postfix applies with ICU when smtputf8 is on), and
// strict UTF-8 validation (valid_utf8_string: no overlongs, no surrogates,
// <= U+10FFFF).
#pragma once

#include <string>
#include <string_view>

namespace proxyd::dict {

// Lowercase A-Z in place; every other byte is left alone.
void ascii_lowercase(std::string& text);

// Copy of text with A-Z lowercased.
std::string ascii_lowercased(std::string_view text);

// Postfix's casefold(): with utf8 on and any byte >= 0x80, ICU's default
// full case folding (ß -> ss, Ä -> ä), which copies malformed UTF-8 bytes
// unchanged; otherwise ASCII lowercase. utf8 is smtputf8_enable (Postfix's
// util_utf8_enable). Like Postfix's C strings, the text ends at a NUL byte.
std::string casefold(std::string_view text, bool utf8);

// True when text is all ASCII (no byte >= 0x80).
bool is_ascii(std::string_view text);

// True when text is well-formed UTF-8 as Postfix defines it.
bool valid_utf8(std::string_view text);

}  // namespace proxyd::dict
