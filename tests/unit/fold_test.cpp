// Tests for ASCII folding, Postfix's casefold() (ICU with smtputf8 on) and
// Postfix's strict UTF-8 validation.
#include "dictcore/util/fold.h"

#include <gtest/gtest.h>

namespace proxyd::dict {
namespace {

TEST(Fold, AsciiOnly) {
  EXPECT_EQ(ascii_lowercased("Foo@Example.COM"), "foo@example.com");
  EXPECT_EQ(ascii_lowercased("\xC3\x89T\xC3\xA9"),
            "\xC3\x89t\xC3\xA9");  // ÉTé: only T folds
}

// casefold() as Postfix 3.7.11 folds with smtputf8 on (postmap -q against
// inline: tables, see simple_tables_test.cpp) and off.
TEST(Fold, CasefoldUnicodeOnlyWithSmtputf8) {
  EXPECT_EQ(
      casefold("J\xC3\x9CRGEN@EX\xC3\x84MPLE.ORG", true),
      "j\xC3\xBCrgen@ex\xC3\xA4mple.org");  // JÜRGEN@EXÄMPLE.ORG -> jürgen@exämple.org
  EXPECT_EQ(casefold("j\xC3\x9Crgen@ex\xC3\x84mple.org", true),
            "j\xC3\xBCrgen@ex\xC3\xA4mple.org");
  EXPECT_EQ(casefold("Stra\xC3\x9F"
                     "e",
                     true),
            "strasse");  // full folding: ß -> ss
  EXPECT_EQ(casefold("\xCE\x91\xCE\xB8\xCE\xAE\xCE\xBD\xCE\xB1", true),
            "\xCE\xB1\xCE\xB8\xCE\xAE\xCE\xBD\xCE\xB1");  // Αθήνα -> αθήνα
  // smtputf8 off: ASCII only, whatever the bytes.
  EXPECT_EQ(casefold("J\xC3\x9CRGEN@EX\xC3\x84MPLE.ORG", false),
            "j\xC3\x9Crgen@ex\xC3\x84mple.org");
  EXPECT_EQ(casefold("Stra\xC3\x9F"
                     "e",
                     false),
            "stra\xC3\x9F"
            "e");
  // All-ASCII text takes the ASCII path either way.
  EXPECT_EQ(casefold("Foo@Example.COM", true), "foo@example.com");
}

TEST(Fold, CasefoldKeepsMalformedBytesAndStopsAtNul) {
  // ICU copies ill-formed UTF-8 unchanged and folds the rest (Postfix relies on it).
  EXPECT_EQ(casefold("A\xFF\xC3\x84Z", true), "a\xFF\xC3\xA4z");
  // Postfix folds C strings: nothing after a NUL survives.
  EXPECT_EQ(casefold(std::string_view("AB\0CD", 5), true), "ab");
  EXPECT_EQ(casefold(std::string_view("\xC3\x84\0X", 4), true), "\xC3\xA4");
}

struct Utf8Case {
  const char* text;
  bool valid;
};

TEST(Fold, Utf8Validation) {
  const Utf8Case cases[] = {
      {"plain", true},
      {"caf\xC3\xA9", true},
      {"\xE2\x82\xAC", true},       // euro sign
      {"\xF0\x9F\x98\x80", true},   // emoji
      {"\xC0\xAF", false},          // overlong '/'
      {"\xE0\x80\xAF", false},      // overlong 3-byte
      {"\xED\xA0\x80", false},      // surrogate U+D800
      {"\xF4\x90\x80\x80", false},  // > U+10FFFF
      {"\x80", false},              // lone continuation
      {"\xC3", false},              // truncated
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
