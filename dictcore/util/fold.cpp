// Implementation of the ASCII and Unicode folding and UTF-8 validation
// helpers. Unicode folding uses ICU, as Postfix does (util/casefold.c), so
// that proxyd folds exactly the characters the installed Postfix folds.
#include "dictcore/util/fold.h"

#include <unicode/bytestream.h>
#include <unicode/casemap.h>
#include <unicode/uchar.h>

#include <cstdint>
#include <limits>

#include "dictcore/util/text.h"

namespace proxyd::dict {

void ascii_lowercase(std::string& text) {
  for (char& c : text) c = ascii_lower(c);
}

std::string ascii_lowercased(std::string_view text) {
  std::string out(text);
  ascii_lowercase(out);
  return out;
}

std::string casefold(std::string_view text, bool utf8) {
  text = text.substr(0, text.find('\0'));
  if (!utf8 || is_ascii(text) || text.size() > std::numeric_limits<int32_t>::max()) {
    return ascii_lowercased(text);
  }
  std::string out;
  out.reserve(text.size());
  icu::StringByteSink<std::string> sink(&out);
  UErrorCode error = U_ZERO_ERROR;
  icu::CaseMap::utf8Fold(U_FOLD_CASE_DEFAULT,
                         icu::StringPiece(text.data(), static_cast<int32_t>(text.size())),
                         sink, nullptr, error);
  // Folding valid or malformed UTF-8 cannot fail short of memory; then keep
  // Postfix's ASCII result rather than an empty key.
  if (U_FAILURE(error)) return ascii_lowercased(text);
  return out;
}

bool is_ascii(std::string_view text) {
  for (unsigned char c : text) {
    if (c >= 0x80) return false;
  }
  return true;
}

bool valid_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int len = 0;
    uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;  // continuation byte, overlong lead (C0/C1) or > F4
    }
    if (end - p < len) return false;
    for (int i = 1; i < len; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    p += len;
  }
  return true;
}

}  // namespace proxyd::dict
