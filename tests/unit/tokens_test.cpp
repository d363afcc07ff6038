// Tests for next_grouped_token(): Postfix's mystrtokq() with CHARS_COMMA_SP
// separators and "{}" grouping. Expectations follow mystrtokq() in
// util/mystrtok.c of Postfix 3.7.11 (leading separators skipped, nesting
// counted, an unmatched '}' is plain text, one separator consumed).
#include "dictcore/util/tokens.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace proxyd::dict {
namespace {

std::vector<std::string> all_tokens(std::string_view text) {
  std::vector<std::string> out;
  while (auto token = next_grouped_token(text)) out.emplace_back(*token);
  EXPECT_TRUE(text.empty());
  return out;
}

struct TokenCase {
  const char* name;
  std::string_view input;
  std::vector<std::string> expected;
};

TEST(Tokens, SplitsLikeMystrtokq) {
  const std::vector<TokenCase> cases = {
      {"empty", "", {}},
      {"only separators", " ,\t\r\n, ", {}},
      {"plain words", "a b,c", {"a", "b", "c"}},
      {"runs of separators", ",, a ,\t\r\nb  ", {"a", "b"}},
      {"other white space is text", "a\vb\fc", {"a\vb\fc"}},
      {"group kept whole", "x {a, b} y", {"x", "{a, b}", "y"}},
      {"group inside a word", "unionmap:{a, b},c", {"unionmap:{a, b}", "c"}},
      {"nested groups", "{a {b, c} d} e", {"{a {b, c} d}", "e"}},
      {"unclosed group takes the rest", "a {b, c", {"a", "{b, c"}},
      {"unmatched close is text", "a} b", {"a}", "b"}},
      {"text after a group", "{a b}c d", {"{a b}c", "d"}},
      {"empty group", "{} x", {"{}", "x"}},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(all_tokens(c.input), c.expected) << c.name;
  }
}

// mystrtok(): no grouping; the separator set is the caller's.
TEST(Tokens, PlainTokensLikeMystrtok) {
  EXPECT_EQ(split_tokens(",, a ,\t\r\nb  {c, d}"),
            (std::vector<std::string_view>{"a", "b", "{c", "d}"}));
  EXPECT_EQ(split_tokens("x -o a=b,c\ty", kSpaceSeparators),
            (std::vector<std::string_view>{"x", "-o", "a=b,c", "y"}));
  EXPECT_TRUE(split_tokens(" , ").empty());
  std::string_view rest = "ab, cd";
  EXPECT_EQ(next_token(rest), "ab");
  EXPECT_EQ(rest, " cd");
}

TEST(Tokens, AdvancesPastOneSeparator) {
  std::string_view rest = "ab, cd";
  auto token = next_grouped_token(rest);
  ASSERT_TRUE(token.has_value());
  EXPECT_EQ(*token, "ab");
  EXPECT_EQ(rest, " cd");  // only the ',' that ended the token is consumed
  token = next_grouped_token(rest);
  ASSERT_TRUE(token.has_value());
  EXPECT_EQ(*token, "cd");
  EXPECT_TRUE(rest.empty());
  EXPECT_FALSE(next_grouped_token(rest).has_value());
}

}  // namespace
}  // namespace proxyd::dict
