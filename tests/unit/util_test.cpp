// Unit tests for the one home of each shared helper in dictcore/util:
// c_space and ASCII case-insensitive comparison (text.h), the brace matcher
// (braces.h), and the bounded file reader with its fd owner (files.h).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "dictcore/util/braces.h"
#include "dictcore/util/config_error.h"
#include "dictcore/util/files.h"
#include "dictcore/util/text.h"

namespace proxyd::dict {
namespace {

TEST(Text, CSpaceIsPostfixIsspace) {
  for (char c : std::string(" \t\n\v\f\r")) EXPECT_TRUE(c_space(c)) << int(c);
  for (char c : std::string("a0_\x1f\x7f")) EXPECT_FALSE(c_space(c)) << int(c);
  EXPECT_FALSE(c_space(static_cast<char>(0xa0)));  // no locale: bytes >= 0x80 never match
}

TEST(Text, AsciiCaseInsensitive) {
  EXPECT_TRUE(ascii_iequal("LocalHost", "localhost"));
  EXPECT_FALSE(ascii_iequal("localhost", "localhost."));
  EXPECT_FALSE(ascii_iequal("\xc3\x84", "\xc3\xa4"));  // only ASCII letters fold
  EXPECT_TRUE(ascii_istarts_with("SELECT 1", "select"));
  EXPECT_FALSE(ascii_istarts_with("SEL", "select"));
}

TEST(Braces, BalancedLength) {
  EXPECT_EQ(balanced_length("{a}"), 3u);
  EXPECT_EQ(balanced_length("{a{b}c} rest"), 7u);
  EXPECT_EQ(balanced_length("{a{b}"), 0u);  // never closes
  EXPECT_EQ(balanced_length("a}"), 0u);     // does not start with '{'
  EXPECT_EQ(balanced_length(""), 0u);
}

TEST(Braces, ExtparErrorsAndStrip) {
  std::string_view inner = "unchanged";
  EXPECT_FALSE(extpar("{ a {b} }", inner, Extpar::Plain).has_value());
  EXPECT_EQ(inner, " a {b} ");
  EXPECT_FALSE(extpar("{ \va {b}\f }", inner, Extpar::Strip).has_value());
  EXPECT_EQ(inner, "a {b}");  // ISSPACE trimmed at both ends
  inner = "unchanged";
  EXPECT_EQ(extpar("a}", inner, Extpar::Plain), "no '{' at start of text in \"a}\"");
  EXPECT_EQ(extpar("{a", inner, Extpar::Strip), "missing '}' in \"{a\"");
  EXPECT_EQ(extpar("{a}b", inner, Extpar::Strip), "syntax error after '}' in \"{a}b\"");
  EXPECT_EQ(inner, "unchanged");
}

TEST(Text, CharacterClassesAndTrim) {
  EXPECT_TRUE(ascii_digit('0') && ascii_digit('9') && !ascii_digit('a'));
  EXPECT_TRUE(ascii_alpha('z') && ascii_alpha('A') && !ascii_alpha('1'));
  EXPECT_FALSE(ascii_alpha(static_cast<char>(0xe9)));  // no locale
  EXPECT_TRUE(ascii_alnum('q') && ascii_alnum('7') && !ascii_alnum('_'));
  EXPECT_EQ(trim(" \t\v x y \f\r\n"), "x y");
  EXPECT_EQ(trim(" \t "), "");
}

class Files : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/util_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(Files, ReadFileHonoursTheCapGivenAtTheCallSite) {
  const std::string path = write("ten", "0123456789");
  EXPECT_EQ(read_file(path, 10), "0123456789");
  try {
    read_file(path, 9);
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "read " + path + ": file is larger than 9 bytes");
  }
  EXPECT_THROW(read_file(dir_.string(), 100), ConfigUnavailable);
  EXPECT_THROW(read_file((dir_ / "missing").string(), 100), ConfigUnavailable);
}

TEST_F(Files, UniqueFdClosesOnceAndMoves) {
  const std::string path = write("f", "x");
  int raw = -1;
  {
    UniqueFd fd = open_read_only(path);
    ASSERT_TRUE(fd.valid());
    raw = fd.get();
    UniqueFd moved = std::move(fd);
    EXPECT_FALSE(fd.valid());  // NOLINT(bugprone-use-after-move): the point of the test
    EXPECT_EQ(moved.get(), raw);
    std::string out;
    EXPECT_EQ(read_all(moved.get(), out, 1), ReadAll::Ok);
    EXPECT_EQ(out, "x");
  }
  EXPECT_EQ(::fcntl(raw, F_GETFD), -1);  // closed
}

}  // namespace
}  // namespace proxyd::dict
