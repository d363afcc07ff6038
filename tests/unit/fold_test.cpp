// Tests for ASCII folding and Postfix's strict UTF-8 validation.
#include "dictcore/fold.h"

#include <gtest/gtest.h>

namespace proxyd::dict {
namespace {

TEST(Fold, AsciiOnly) {
  EXPECT_EQ(ascii_lowercased("Foo@Example.COM"), "foo@example.com");
  EXPECT_EQ(ascii_lowercased("\xC3\x89T\xC3\xA9"), "\xC3\x89t\xC3\xA9");  // ÉTé: only T folds
}

struct Utf8Case {
  const char* text;
  bool valid;
};

TEST(Fold, Utf8Validation) {
  const Utf8Case cases[] = {
      {"plain", true},
      {"caf\xC3\xA9", true},
      {"\xE2\x82\xAC", true},          // euro sign
      {"\xF0\x9F\x98\x80", true},      // emoji
      {"\xC0\xAF", false},             // overlong '/'
      {"\xE0\x80\xAF", false},         // overlong 3-byte
      {"\xED\xA0\x80", false},         // surrogate U+D800
      {"\xF4\x90\x80\x80", false},     // > U+10FFFF
      {"\x80", false},                 // lone continuation
      {"\xC3", false},                 // truncated
      {"\xFF", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(valid_utf8(c.text), c.valid) << c.text;
  }
  EXPECT_TRUE(is_ascii("abc"));
  EXPECT_FALSE(is_ascii("caf\xC3\xA9"));
}

}  // namespace
}  // namespace proxyd::dict
