// Tests for the Postfix logical-line reader (readllines) and name = value
// parsing (split_nameval, dict_load_fp). Expectations follow the test table
// in Postfix's util/readlline.c and were checked against postconf 3.7.11.
#include "dictcore/util/config_lines.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "dictcore/util/config_error.h"
#include "dictcore/util/files.h"
#include "tests/fakes/capture_logger.h"

namespace proxyd::dict {
namespace {

using testing::CaptureLogger;

struct LineCase {
  const char* name;
  std::string input;
  std::vector<std::string> texts;  // logical lines
  std::vector<int> first_lines;    // their starting line numbers
  int warnings;
};

TEST(LogicalLines, PostfixReadllinesCases) {
  using namespace std::string_literals;
  const LineCase cases[] = {
      {"leading space before non-comment", " abcde\nfghij\n", {"fghij"}, {2}, 1},
      {"leading space before leading comment", " #abcde\nfghij\n", {"fghij"}, {2}, 0},
      {"leading comment", "#abc\ndef", {"def"}, {2}, 0},
      {"empty line before text", "\nabc\n", {"abc"}, {2}, 0},
      {"white-space line before text", " \nabc\n", {"abc"}, {2}, 0},
      {"no newline at end", "abc def", {"abc def"}, {1}, 0},
      {"comment without newline", "#abc def", {}, {}, 0},
      {"continuation", "abc\n def\n", {"abc def"}, {1}, 0},
      {"indented comment inside continuation", "abc\n #def\n ghi", {"abc ghi"}, {1}, 0},
      {"flush-left comment inside continuation", "abc\n#def\n ghi", {"abc ghi"}, {1}, 0},
      {"white-space line inside continuation", "abc\n \n ghi", {"abc ghi"}, {1}, 0},
      {"empty line inside continuation", "abc\n\n ghi", {"abc ghi"}, {1}, 0},
      {"trailing indented comment", "abc\n #def\n", {"abc"}, {1}, 0},
      {"trailing flush-left comment", "abc\n#def\n", {"abc"}, {1}, 0},
      {"only an empty line", "\n", {}, {}, 0},
      {"white space at end of file", "abc\n ", {"abc"}, {1}, 0},
      {"two logical lines", "a = 1\n  x\nb = 2\n", {"a = 1  x", "b = 2"}, {1, 3}, 0},
      {"comment between lines", "a\n# c\nb\n", {"a", "b"}, {1, 3}, 0},
      {"continued leading white space skipped whole", " x\n y\nz\n", {"z"}, {3}, 1},
      {"tab continuation keeps the tab", "a\n\tb", {"a\tb"}, {1}, 0},
      {"CRLF line ends", "a = b\r\n c\r\n", {"a = b\r c\r"}, {1}, 0},
      {"embedded null", "abc\0def\n"s, {"abc"}, {1}, 1},
      {"null in continuation", "abc\0\n def"s, {"abc"}, {1}, 1},
  };
  for (const auto& c : cases) {
    CaptureLogger log;
    const auto lines = logical_lines(c.input, "test.cf", log);
    std::vector<std::string> texts;
    std::vector<int> firsts;
    for (const auto& l : lines) {
      texts.push_back(l.text);
      firsts.push_back(l.line_no);
    }
    EXPECT_EQ(texts, c.texts) << c.name;
    EXPECT_EQ(firsts, c.first_lines) << c.name;
    EXPECT_EQ(static_cast<int>(log.lines().size()), c.warnings) << c.name;
  }
}

TEST(LogicalLines, WarningTexts) {
  CaptureLogger log;
  logical_lines(" leading text that is longer than thirty chars\nok\n", "/etc/x.cf", log);
  ASSERT_EQ(log.lines().size(), 1u);
  EXPECT_EQ(log.lines()[0],
            "/etc/x.cf: logical line must not start with whitespace: "
            "\" leading text that is longer t...\"");
  CaptureLogger nul;
  using namespace std::string_literals;
  logical_lines("a\0b\n c\n"s, "f", nul);
  ASSERT_EQ(nul.lines().size(), 1u);
  EXPECT_EQ(nul.lines()[0], "f, line 1-2: text after null byte may be ignored");
}

TEST(LogicalLines, NulWarningOnlyFrom39) {
  // readllines() has the warning from 3.9.0 on; the text is cut at the NUL
  // either way (its readers see C strings).
  using namespace std::string_literals;
  for (PostfixVersion v : {PostfixVersion{3, 7, 11}, PostfixVersion{3, 8, 7},
                           PostfixVersion{3, 9, 0}, PostfixVersion::newest()}) {
    CaptureLogger log;
    NullByteWarnings kept;
    const auto nvs = parse_name_values("a = b\0c\nd = e\n"s, "t.cf", log, &kept);
    ASSERT_EQ(nvs.size(), 2u);
    EXPECT_EQ(nvs[0].value, "b");
    EXPECT_TRUE(log.lines().empty());
    log_null_byte_warnings(kept, v, log);
    EXPECT_EQ(log.lines(),
              v.readllines_warns_null()
                  ? std::vector<std::string>{"t.cf, line 1: text after null byte may be "
                                             "ignored"}
                  : std::vector<std::string>{})
        << v.text();
  }
}

struct NameValueCase {
  const char* input;
  const char* name;
  const char* value;
};

TEST(ParseNameValues, Trimming) {
  const NameValueCase cases[] = {
      {"a=b", "a", "b"},
      {"a = b", "a", "b"},
      {"a  =   b c  ", "a", "b c"},
      {"a =", "a", ""},
      {"a=  ", "a", ""},
      {"a = b = c", "a", "b = c"},
      {"a\t=\tb\t", "a", "b"},
      {"a = x\r", "a", "x"},
      {"hosts = h1\n h2\n\th3", "hosts", "h1 h2\th3"},
      {"query = SELECT x\n  # comment\n  FROM t", "query", "SELECT x  FROM t"},
      {"a = $b ${c}", "a", "$b ${c}"},  // no expansion at this level
  };
  for (const auto& c : cases) {
    CaptureLogger log;
    const auto nvs = parse_name_values(c.input, "t.cf", log);
    ASSERT_FALSE(nvs.empty()) << c.input;
    EXPECT_EQ(nvs.back().name, c.name) << c.input;
    EXPECT_EQ(nvs.back().value, c.value) << c.input;
  }
}

TEST(ParseNameValues, Errors) {
  struct ErrorCase {
    const char* input;
    const char* message;
  };
  const ErrorCase cases[] = {
      {"a = 1\nbogus\n", "t.cf, line 2: missing '=' after attribute name: \"bogus\""},
      {"= value\n", "t.cf, line 1: missing attribute name: \"= value\""},
      {"a b = c\n", "t.cf, line 1: missing '=' after attribute name: \"a b = c\""},
      {"#c\n\nx = 1\n y\nfoo bar\n",
       "t.cf, line 5: missing '=' after attribute name: \"foo bar\""},
  };
  for (const auto& c : cases) {
    NullLogger log;
    try {
      parse_name_values(c.input, "t.cf", log);
      ADD_FAILURE() << "no error for " << c.input;
    } catch (const ConfigUnavailable&) {
      ADD_FAILURE() << "wrong exception type for " << c.input;
    } catch (const ConfigError& e) {
      EXPECT_EQ(std::string(e.what()), c.message);
    }
  }
}

TEST(ParseNameValues, DuplicatesLaterWinsAndWarn) {
  CaptureLogger log;
  const auto nvs = parse_name_values(
      "password = one\nuser = u\npassword = two\nuser = u\n", "t.cf", log);
  ASSERT_EQ(nvs.size(), 4u);
  EXPECT_EQ(nvs[2].name, "password");
  EXPECT_EQ(nvs[2].value, "two");
  EXPECT_EQ(nvs[2].line_no, 3);
  // Only the differing duplicate is reported, and without the old secret.
  ASSERT_EQ(log.lines().size(), 1u);
  EXPECT_EQ(log.lines()[0], "t.cf, line 3: overriding earlier entry: password");
  EXPECT_EQ(log.lines()[0].find("one"), std::string::npos);
}

TEST(ReadFile, MissingAndDirectory) {
  EXPECT_THROW(read_file("data/conf/does-not-exist.cf", kMaxConfigFileSize),
               ConfigUnavailable);
  EXPECT_THROW(read_file("data/conf", kMaxConfigFileSize), ConfigUnavailable);
  try {
    read_file("data/conf/does-not-exist.cf", kMaxConfigFileSize);
  } catch (const ConfigUnavailable& e) {
    EXPECT_EQ(std::string(e.what()),
              "open data/conf/does-not-exist.cf: No such file or directory");
  }
  EXPECT_NE(read_file("data/conf/mysql-valid.cf", kMaxConfigFileSize).find("dbname"),
            std::string::npos);
}

// mail_conf_bool.c and cfg_parser.c compare with strcasecmp() against
// "yes" and "no"; nothing else (no "true", no trimming) is accepted.
TEST(ParseYesNo, CaseInsensitiveYesOrNoOnly) {
  EXPECT_EQ(parse_yes_no("yes"), std::optional<bool>(true));
  EXPECT_EQ(parse_yes_no("YeS"), std::optional<bool>(true));
  EXPECT_EQ(parse_yes_no("no"), std::optional<bool>(false));
  EXPECT_EQ(parse_yes_no("NO"), std::optional<bool>(false));
  for (std::string_view bad : {"", "y", "true", "1", " yes", "yes ", "nope"}) {
    EXPECT_FALSE(parse_yes_no(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace proxyd::dict
