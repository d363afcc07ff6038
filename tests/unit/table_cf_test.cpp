// Tests for SQL table parameters (cfg_parser): .cf files without $
// expansion, main.cf "<name>_<param>" parameters with expansion, and the
// typed getters' checks. Messages marked [postmap] are the text of the
// fatal error `postmap -c DIR -q k sqlite:…` (3.7.11) printed for the same
// input; Postfix dies there, proxyd gets a ConfigError instead.
#include "dictcore/config/table_cf.h"

#include <gtest/gtest.h>

#include <climits>
#include <functional>
#include <string>
#include <vector>

#include "dictcore/util/config_error.h"
#include "tests/fakes/capture_logger.h"

namespace proxyd::dict {
namespace {

using testing::CaptureLogger;

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(TableConfig, FileHasContinuationsDuplicatesAndNoExpansion) {
  CaptureLogger log;
  NullLogger quiet;
  const auto main_cf = MainCf::from_string("word = expanded\n", quiet);
  const auto cfg = TableConfig::load("mysql", "./data/conf/mysql-valid.cf", main_cf, log);
  EXPECT_EQ(cfg.origin(), "file ./data/conf/mysql-valid.cf");
  EXPECT_EQ(cfg.get_str("hosts", "localhost"),
            "db1.example.com    unix:/run/mysqld/mysqld.sock");
  // [postmap] "$mail_owner" in a .cf file reaches the parser unexpanded.
  EXPECT_EQ(cfg.get_str("password", ""), "secret$word");
  EXPECT_EQ(cfg.get_str("query", ""),
            "SELECT goto FROM alias    WHERE address = '%s' AND active = '1'");
  EXPECT_EQ(cfg.get_int("retry_interval", 60, 1, 0), 45);
  EXPECT_FALSE(cfg.get_bool("require_result_set", true));
  EXPECT_TRUE(cfg.has("dbname"));
  EXPECT_FALSE(cfg.has("charset"));
  EXPECT_EQ(cfg.get_str("charset", "utf8mb4"), "utf8mb4");
  ASSERT_EQ(log.lines().size(), 1u);
  EXPECT_EQ(log.lines()[0],
            "./data/conf/mysql-valid.cf, line 13: overriding earlier entry: "
            "retry_interval");
}

TEST(TableConfig, OnlySlashOrDotNamesAreFiles) {
  NullLogger log;
  const auto main_cf = MainCf::from_string("", log);
  const auto cfg = TableConfig::load("mysql", "./data/conf/mysql-valid.cf", main_cf, log);
  EXPECT_EQ(cfg.get_str("dbname", "", 1), "mail");
  // cfg_parser tests only the first character: without '/' or '.', even a
  // name with slashes selects main.cf parameters (none here).
  const auto prefix =
      TableConfig::load("mysql", "data/conf/mysql-valid.cf", main_cf, log);
  EXPECT_EQ(prefix.origin(), "main.cf prefix data/conf/mysql-valid.cf_");
  EXPECT_FALSE(prefix.has("dbname"));
}

TEST(TableConfig, MissingFileIsUnavailable) {
  NullLogger log;
  const auto main_cf = MainCf::from_string("", log);
  try {
    TableConfig::load("pgsql", "./data/conf/missing.cf", main_cf, log);
    ADD_FAILURE() << "no exception";
  } catch (const ConfigUnavailable& e) {
    // [postmap] "open /tmp/nope.cf: No such file or directory"
    EXPECT_EQ(std::string(e.what()),
              "open ./data/conf/missing.cf: No such file or directory");
  }
  EXPECT_THROW(TableConfig::load("pgsql", "/nonexistent/x.cf", main_cf, log),
               ConfigUnavailable);
  EXPECT_THROW(TableConfig::load("pgsql", "./data/conf", main_cf, log),
               ConfigUnavailable);
}

TEST(TableConfig, SyntaxErrorIsConfigErrorNotUnavailable) {
  NullLogger log;
  const auto main_cf = MainCf::from_string("", log);
  const std::string msg = error_of(
      [&] { TableConfig::load("sqlite", "./data/conf/bad-syntax.cf", main_cf, log); });
  EXPECT_EQ(msg,
            "./data/conf/bad-syntax.cf, line 4: missing '=' after attribute name: "
            "\"this is not an assignment\"");
  try {
    TableConfig::load("sqlite", "./data/conf/bad-syntax.cf", main_cf, log);
  } catch (const ConfigUnavailable&) {
    ADD_FAILURE() << "syntax error must not look like a missing file";
  } catch (const ConfigError&) {
  }
}

TEST(TableConfig, MainCfPrefixFormExpands) {
  NullLogger log;
  const auto main_cf = MainCf::from_string(
      "compatibility_level = 3.6\n"
      "sqname = zz\n"
      "sq_dbpath = /var/db/$sqname.db\n"
      "sq_query = SELECT v FROM t WHERE k='%s' ${{$sqname} == {zz}?{AND 1}}\n"
      "sq_expansion_limit = $$5\n"
      "sqx_dbpath = other\n",
      log);
  const auto cfg = TableConfig::load("sqlite", "sq", main_cf, log);
  EXPECT_EQ(cfg.origin(), "main.cf prefix sq_");
  EXPECT_EQ(cfg.get_str("dbpath", "", 1), "/var/db/zz.db");
  EXPECT_EQ(cfg.get_str("query", ""), "SELECT v FROM t WHERE k='%s' AND 1");
  EXPECT_TRUE(cfg.has("expansion_limit"));
  EXPECT_FALSE(cfg.has("x_dbpath"));  // "sqx_dbpath" belongs to table "sqx"
  EXPECT_EQ(cfg.get_str("result_format", "%s"), "%s");
  // [postmap] "bad numerical configuration: sq_expansion_limit = x1" style
  EXPECT_EQ(error_of([&] { cfg.get_int("expansion_limit", 0, 0, 0); }),
            "bad numerical configuration: sq_expansion_limit = $5");
  const auto empty =
      TableConfig::load("sqlite", "sq", MainCf::from_string("sq_dbpath =\n", log), log);
  // [postmap] "bad string length 0 < 1: sq_dbpath = "
  EXPECT_EQ(error_of([&] { empty.get_str("dbpath", "", 1); }),
            "bad string length 0 < 1: sq_dbpath = ");
  // -o overrides count too.
  auto overridden = MainCf::from_string("sq_dbpath = /a\n", log);
  overridden.set_override("sq_dbpath", "/b");
  EXPECT_EQ(TableConfig::load("sqlite", "sq", overridden, log).get_str("dbpath", ""),
            "/b");
}

struct IntCase {
  const char* value;
  int min;
  int max;
  int expected;  // when message is empty
  const char* message;
};

TEST(TableConfig, GetInt) {
  const IntCase cases[] = {
      {"45", 1, 0, 45, ""},
      {"+7", 0, 0, 7, ""},
      {"-3", 0, 0, -3, ""},  // [postmap] min 0 means "no lower bound"
      {"0", 0, 0, 0, ""},
      {"2147483647", 0, 0, INT_MAX, ""},
      {"2147483648", 0, 0, 0, "t.cf: bad numerical configuration: n = 2147483648"},
      {"5x", 0, 0, 0, "t.cf: bad numerical configuration: n = 5x"},
      {"x1", 0, 0, 0, "t.cf: bad numerical configuration: n = x1"},
      {"0x10", 0, 0, 0, "t.cf: bad numerical configuration: n = 0x10"},
      {"", 0, 0, 0, "t.cf: bad numerical configuration: n = "},
      {"0", 1, 0, 0, "t.cf: invalid n parameter value 0 < 1"},
      {"11", 1, 10, 0, "t.cf: invalid n parameter value 11 > 10"},
      {"10", 1, 10, 10, ""},
  };
  for (const auto& c : cases) {
    NullLogger log;
    const auto cfg =
        TableConfig::from_string(std::string("n = ") + c.value + "\n", "t.cf", log);
    if (*c.message == 0) {
      EXPECT_EQ(cfg.get_int("n", 99, c.min, c.max), c.expected) << c.value;
    } else {
      EXPECT_EQ(error_of([&] { cfg.get_int("n", 99, c.min, c.max); }), c.message)
          << c.value;
    }
  }
  NullLogger log;
  const auto none = TableConfig::from_string("", "t.cf", log);
  EXPECT_EQ(none.get_int("n", 60, 1, 0), 60);
  // The default is range-checked too, as in cfg_parser.
  EXPECT_EQ(error_of([&] { none.get_int("n", 0, 1, 0); }),
            "t.cf: invalid n parameter value 0 < 1");
}

TEST(TableConfig, GetBoolAndStr) {
  NullLogger log;
  const auto cfg = TableConfig::from_string(
      "a = YES\nb = no\nc = true\nd = 1\ndbname =\nshort = ab\n", "/etc/t.cf", log);
  EXPECT_TRUE(cfg.get_bool("a", false));
  EXPECT_FALSE(cfg.get_bool("b", true));
  EXPECT_TRUE(cfg.get_bool("missing", true));
  EXPECT_EQ(error_of([&] { cfg.get_bool("c", false); }),
            "/etc/t.cf: bad boolean configuration: c = true");
  EXPECT_THROW(cfg.get_bool("d", false), ConfigError);
  // [postmap] "/tmp/t2.cf: bad string length 0 < 1: dbpath = "
  EXPECT_EQ(error_of([&] { cfg.get_str("dbname", "", 1); }),
            "/etc/t.cf: bad string length 0 < 1: dbname = ");
  EXPECT_EQ(error_of([&] { cfg.get_str("absent", "", 1); }),
            "/etc/t.cf: bad string length 0 < 1: absent = ");
  EXPECT_EQ(cfg.get_str("short", "", 2), "ab");
  EXPECT_EQ(cfg.get_str("absent", "dflt", 1), "dflt");
}

TEST(TableConfig, NulByteWarningFollowsTheRelease) {
  using namespace std::string_literals;
  CaptureLogger old_log;
  auto old_cfg = TableConfig::from_string("dbpath = /x\0y\n"s, "t.cf", old_log,
                                          PostfixVersion{3, 7, 11});
  EXPECT_EQ(old_cfg.get_str("dbpath", ""), "/x");
  EXPECT_TRUE(old_log.lines().empty());
  CaptureLogger new_log;
  auto new_cfg = TableConfig::from_string("dbpath = /x\0y\n"s, "t.cf", new_log,
                                          PostfixVersion{3, 9, 0});
  EXPECT_EQ(new_cfg.get_str("dbpath", ""), "/x");
  EXPECT_EQ(new_log.lines(), std::vector<std::string>{
                                 "t.cf, line 1: text after null byte may be ignored"});
}

}  // namespace
}  // namespace proxyd::dict
