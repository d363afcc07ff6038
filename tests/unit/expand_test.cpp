// Tests for db_common-style template expansion: every %-token in query and
// result_format, the suppression matrix, quoting only of substituted key
// parts, legacy query construction and result joining. Expectations follow
// Postfix 3.7.11 db_common.c and were spot-checked with postmap 3.7.11
// (sqlite "SELECT '...'" echo tables), e.g. joe@a..com with %2 -> "a".
#include "dictcore/sql/expand.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "dictcore/util/config_error.h"
#include "tests/fakes/fake_session.h"

namespace proxyd::dict {
namespace {

using testing::CaptureLogger;

struct QueryCase {
  const char* query;
  const char* key;
  std::optional<std::string> want;  // nullopt = suppressed
};

class QueryExpansion : public ::testing::TestWithParam<QueryCase> {};

TEST_P(QueryExpansion, ExpandsWithoutQuoter) {
  const QueryCase& c = GetParam();
  ExpandRules rules = ExpandRules::parse(c.query, "%s", "test.cf");
  std::string out;
  ExpandStatus st = rules.expand_query(c.key, nullptr, out);
  if (c.want) {
    ASSERT_EQ(st, ExpandStatus::Ok) << c.query << " / " << c.key;
    EXPECT_EQ(out, *c.want);
  } else {
    EXPECT_EQ(st, ExpandStatus::Suppressed) << c.query << " / " << c.key;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Tokens, QueryExpansion,
    ::testing::Values(
        QueryCase{"a%%b", "user@example.com", "a%b"},
        QueryCase{"%s", "user@example.com", "user@example.com"},
        QueryCase{"%u", "user@example.com", "user"},
        QueryCase{"%u", "user", "user"},  // no '@': whole key
        QueryCase{"%d", "user@example.com", "example.com"},
        QueryCase{"%S|%U|%D", "User@Example.COM", "User@Example.COM|User|Example.COM"},
        QueryCase{"%1.%2.%3", "x@a.b.example.com", "com.example.b"},
        QueryCase{"%u|%d", "u@v@example.com", "u@v|example.com"},  // last '@' splits
        QueryCase{"%2", "joe@a..com", "a"},  // empty labels are dropped (postmap 3.7.11)
        QueryCase{"%2", "joe@com", std::nullopt},
        QueryCase{"%2", "joe@.com", std::nullopt},  // only one non-empty label
        QueryCase{"%9", "a@1.2.3.4.5.6.7.8.9", "1"},
        QueryCase{"%d", "@example.com", "example.com"},  // %d does not need a local part
        QueryCase{"%s", "", std::nullopt},               // empty key
        QueryCase{"no tokens", "k", "no tokens"},
        QueryCase{"%s", "100%s", "100%s"}));  // key text is never re-expanded

struct SuppressCase {
  const char* query;
  const char* result_format;
  const char* key;
  bool usable;
};

class Suppression : public ::testing::TestWithParam<SuppressCase> {};

TEST_P(Suppression, Matrix) {
  const SuppressCase& c = GetParam();
  ExpandRules rules = ExpandRules::parse(c.query, c.result_format, "test.cf");
  EXPECT_EQ(rules.key_usable(c.key), c.usable)
      << "query=" << c.query << " result_format=" << c.result_format << " key=" << c.key;
}

// Each template pair against the keys user@example.com, user, @example.com,
// user@, joe@a..com and joe@com.
INSTANTIATE_TEST_SUITE_P(
    Keys, Suppression,
    ::testing::Values(SuppressCase{"%s", "%s", "user@example.com", true},
                      SuppressCase{"%s", "%s", "user", true},
                      SuppressCase{"%s", "%s", "@example.com", true},
                      SuppressCase{"%s", "%s", "user@", true},
                      // %u in the query: empty local part suppressed, no '@' is fine.
                      SuppressCase{"%u", "%s", "user@example.com", true},
                      SuppressCase{"%u", "%s", "user", true},
                      SuppressCase{"%u", "%s", "@example.com", false},
                      SuppressCase{"%u", "%s", "user@", true},
                      // %d in the query: needs '@' and a non-empty domain.
                      SuppressCase{"%d", "%s", "user@example.com", true},
                      SuppressCase{"%d", "%s", "user", false},
                      SuppressCase{"%d", "%s", "@example.com", true},
                      SuppressCase{"%d", "%s", "user@", false},
                      // %D / %U / %1 in result_format constrain the key too.
                      SuppressCase{"%s", "%D", "user", false},
                      SuppressCase{"%s", "%D", "user@", false},
                      SuppressCase{"%s", "%D", "user@example.com", true},
                      SuppressCase{"%s", "%U", "@example.com", false},
                      SuppressCase{"%s", "%U", "user", true},
                      SuppressCase{"%s", "%1", "user", false},
                      SuppressCase{"%s", "%1", "user@example.com", true},
                      // %u / %d in result_format refer to the value, not the key.
                      SuppressCase{"%s", "%u", "@example.com", true},
                      SuppressCase{"%s", "%d", "user", true},
                      // %U in the query behaves like %u.
                      SuppressCase{"%U", "%s", "@example.com", false},
                      // %N: enough non-empty labels.
                      SuppressCase{"%2", "%s", "joe@a..com", true},
                      SuppressCase{"%2", "%s", "joe@com", false},
                      SuppressCase{"%2", "%s", "user@example.com", true},
                      SuppressCase{"%2", "%s", "@example.com", true},
                      SuppressCase{"%2", "%s", "user", false},
                      SuppressCase{"%3", "%s", "user@example.com", false},
                      SuppressCase{"%s", "%s", "", false}));

struct ResultCase {
  const char* format;
  const char* value;
  const char* key;
  std::optional<std::string> want;  // nullopt = value skipped
};

class ResultExpansion : public ::testing::TestWithParam<ResultCase> {};

TEST_P(ResultExpansion, ExpandsOneValue) {
  const ResultCase& c = GetParam();
  ExpandRules rules = ExpandRules::parse("%s", c.format, "test.cf");
  std::string out;
  bool added = rules.append_result(c.value, c.key, out) == AppendStatus::Added;
  if (c.want) {
    ASSERT_TRUE(added) << c.format << " / " << c.value;
    EXPECT_EQ(out, *c.want);
  } else {
    EXPECT_FALSE(added) << c.format << " / " << c.value;
    EXPECT_EQ(out, "");
  }
}

INSTANTIATE_TEST_SUITE_P(
    Tokens, ResultExpansion,
    ::testing::Values(
        ResultCase{"%s", "alice@dest.org", "k@x.org", "alice@dest.org"},
        ResultCase{"%u", "alice@dest.org", "k@x.org", "alice"},
        ResultCase{"%u", "plainvalue", "k@x.org", "plainvalue"},
        ResultCase{"%u", "@nolocal.org", "k@x.org", std::nullopt},
        ResultCase{"%d", "alice@dest.org", "k@x.org", "dest.org"},
        ResultCase{"%d", "plainvalue", "k@x.org", std::nullopt},
        ResultCase{"%d", "alice@", "k@x.org", std::nullopt},
        ResultCase{"%S", "v", "User@X.org", "User@X.org"},
        ResultCase{"%U", "v", "user@x.org", "user"},
        ResultCase{"%U", "v", "user", "user"},
        ResultCase{"%D", "v", "user@x.org", "x.org"},
        ResultCase{"%1/%2", "v", "user@mail.x.org", "org/x"},
        ResultCase{"%%%s%%", "v", "k", "%v%"},
        // Verified with postmap 3.7.11 (rf.cf): "%u at %d for %U/%D/%S/%1".
        ResultCase{"%u at %d for %U/%D/%S/%1", "alice@dest.org", "user@example.com",
                   "alice at dest.org for user/example.com/user@example.com/com"}));

TEST(ExpandRules, QuotesOnlySubstitutedKeyParts) {
  ExpandRules rules = ExpandRules::parse(
      "SELECT 'x' FROM t WHERE a='%s' AND b='%u' AND c='%d' AND p='%%'", "%s", "test.cf");
  int calls = 0;
  Quoter quoter = [&calls](std::string_view text, std::string& out) {
    ++calls;
    out += "[" + std::string(text) + "]";
    return true;
  };
  std::string out;
  ASSERT_EQ(rules.expand_query("o'ne@ex.com", &quoter, out), ExpandStatus::Ok);
  EXPECT_EQ(out,
            "SELECT 'x' FROM t WHERE a='[o'ne@ex.com]' AND b='[o'ne]' AND c='[ex.com]' "
            "AND p='%'");
  EXPECT_EQ(calls, 3);
}

TEST(ExpandRules, QuoterFailureIsReported) {
  ExpandRules rules = ExpandRules::parse("SELECT '%s'", "%s", "test.cf");
  Quoter quoter = [](std::string_view, std::string&) { return false; };
  std::string out;
  EXPECT_EQ(rules.expand_query("k", &quoter, out), ExpandStatus::QuoteFailed);
}

// A template of 100,000 %s with a 200 KB key would ask for 20 GB: the
// expansion stops at the bound instead, with nothing kept.
TEST(ExpandRules, QueryExpansionIsBounded) {
  std::string tmpl;
  for (int i = 0; i < 100000; ++i) tmpl += "%s";
  ExpandRules rules = ExpandRules::parse(tmpl, "%s", "test.cf");
  const std::string key(200 * 1024, 'k');
  std::string out;
  EXPECT_EQ(rules.expand_query(key, nullptr, out), ExpandStatus::TooLong);
  EXPECT_EQ(out, "");
  EXPECT_EQ(out.capacity(), std::string().capacity());  // the buffer was released too
  // Quoted pieces count with their escaped length.
  Quoter doubling = [](std::string_view text, std::string& o) {
    o.append(text);
    o.append(text);
    return true;
  };
  ExpandRules one = ExpandRules::parse("x%sy", "%s", "test.cf");
  EXPECT_EQ(one.expand_query("abcd", nullptr, out, 6), ExpandStatus::Ok);
  EXPECT_EQ(out, "xabcdy");
  EXPECT_EQ(one.expand_query("abcd", nullptr, out, 5), ExpandStatus::TooLong);
  EXPECT_EQ(one.expand_query("abcd", &doubling, out, 10), ExpandStatus::Ok);
  EXPECT_EQ(out, "xabcdabcdy");
  EXPECT_EQ(one.expand_query("abcd", &doubling, out, 9), ExpandStatus::TooLong);
  ExpandRules pct = ExpandRules::parse("%%%%", "%s", "test.cf");
  EXPECT_EQ(pct.expand_query("k", &doubling, out, 2), ExpandStatus::Ok);
  EXPECT_EQ(out, "%%");  // %% is template text: never quoted
  EXPECT_EQ(pct.expand_query("k", nullptr, out, 1), ExpandStatus::TooLong);
  // The default bound admits a query with the largest key escaped twice over.
  ExpandRules big = ExpandRules::parse("SELECT '%s'", "%s", "test.cf");
  EXPECT_EQ(big.expand_query(std::string(1 << 20, 'k'), &doubling, out),
            ExpandStatus::Ok);
  EXPECT_EQ(out.size(), (2u << 20) + 9);
}

TEST(ExpandRules, ResultFormatExpansionIsBounded) {
  std::string fmt_text;
  for (int i = 0; i < 1000; ++i) fmt_text += "%s";
  ExpandRules rules = ExpandRules::parse("%s", fmt_text, "test.cf");
  std::string out = "kept";
  EXPECT_EQ(rules.append_result(std::string(1000, 'v'), "k", out, 100000),
            AppendStatus::TooLong);
  EXPECT_EQ(out, "kept");  // unchanged
  EXPECT_EQ(rules.append_result("v", "k", out, 100000), AppendStatus::Added);
  EXPECT_EQ(out.size(), 4u + 1 + 1000);
  // Through the builder: a failed lookup with a warning, never a truncated answer.
  CaptureLogger log;
  ResultContext ctx{"mysql:/t.cf", "/t.cf", "dict_mysql_lookup", &log};
  ResultBuilder builder(rules, "k", 0, ctx);
  const std::string value(ResultBuilder::kMaxResultBytes / 1000 + 1, 'v');
  EXPECT_FALSE(builder.add(value));
  EXPECT_EQ(builder.finish().status, ProxyStatus::Retry);
  EXPECT_TRUE(log.contains("dict_mysql_lookup: /t.cf: result for key 'k' exceeds"));
}

TEST(ExpandRules, ResultFormatIsNeverQuoted) {
  ExpandRules rules = ExpandRules::parse("%s", "'%s'", "test.cf");
  std::string out;
  ASSERT_EQ(rules.append_result("o'ne", "k", out), AppendStatus::Added);
  EXPECT_EQ(out, "'o'ne'");
  ASSERT_EQ(rules.append_result("two", "k", out), AppendStatus::Added);
  EXPECT_EQ(out, "'o'ne','two'");
}

TEST(ExpandRules, InvalidTemplatesAreConfigErrors) {
  struct Bad {
    const char* query;
    const char* result_format;
    const char* what;
  };
  for (const Bad& b : {Bad{"SELECT '%x'", "%s", "invalid query template"},
                       Bad{"SELECT '%s' %", "%s", "invalid query template"},
                       Bad{"SELECT '%0'", "%s", "invalid query template"},
                       Bad{"%s", "%q", "invalid result_format template"},
                       Bad{"%s", "abc%", "invalid result_format template"}}) {
    try {
      (void)ExpandRules::parse(b.query, b.result_format, "/etc/postfix/t.cf");
      ADD_FAILURE() << "accepted " << b.query << " / " << b.result_format;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(b.what), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("/etc/postfix/t.cf"), std::string::npos);
    }
  }
}

TEST(LegacyQuery, BuildsPostfixShape) {
  LegacyQueryParts p{"users", "v", "k", "ORDER BY v DESC"};
  EXPECT_EQ(build_legacy_query(p, "t.cf"),
            "SELECT v FROM users WHERE k='%s' ORDER BY v DESC");
  p.additional_conditions.clear();
  EXPECT_EQ(build_legacy_query(p, "t.cf"), "SELECT v FROM users WHERE k='%s' ");
}

TEST(LegacyQuery, MissingPartsAreConfigErrors) {
  LegacyQueryParts full{"users", "v", "k", ""};
  for (int missing = 0; missing < 3; ++missing) {
    LegacyQueryParts p = full;
    const char* name = nullptr;
    if (missing == 0) p.table.reset(), name = "'table'";
    if (missing == 1) p.select_field.reset(), name = "'select_field'";
    if (missing == 2) p.where_field = "", name = "'where_field'";
    try {
      (void)build_legacy_query(p, "t.cf");
      ADD_FAILURE() << "accepted missing " << name;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
}

struct BuildCase {
  const char* name;
  const char* result_format;
  int limit;
  std::vector<std::optional<std::string>> fields;
  LookupResult want;
  const char* warning;  // expected log fragment, or nullptr for none
};

TEST(ResultBuilder, JoinsSkipsAndLimits) {
  const std::vector<BuildCase> cases = {
      {"nulls and empties",
       "%s",
       0,
       {"a", std::nullopt, "", "b", "c"},
       {ProxyStatus::Ok, "a,b,c"},
       "empty lookup result for: \"key@x.org\" -- ignored"},
      {"only null", "%s", 0, {std::nullopt}, {ProxyStatus::NoKey, ""}, nullptr},
      {"only empty", "%s", 0, {""}, {ProxyStatus::NoKey, ""}, "empty lookup result"},
      {"nothing", "%s", 0, {}, {ProxyStatus::NoKey, ""}, nullptr},
      {"limit reached exactly", "%s", 2, {"a", "b"}, {ProxyStatus::Ok, "a,b"}, nullptr},
      {"limit exceeded",
       "%s",
       2,
       {"a", "b", "c"},
       {ProxyStatus::Retry, ""},
       "dict_sqlite_lookup: /t.cf: Expansion limit exceeded for key 'key@x.org'"},
      {"nulls and empties do not count",
       "%s",
       2,
       {"a", std::nullopt, "", "b"},
       {ProxyStatus::Ok, "a,b"},
       "empty lookup result"},
      {"skipped values do not count",
       "%d",
       2,
       {"a@x", "plain", "b@y"},
       {ProxyStatus::Ok, "x,y"},
       nullptr},
      {"negative limit is unlimited",
       "%s",
       -1,
       {"a", "b", "c"},
       {ProxyStatus::Ok, "a,b,c"},
       nullptr},
      {"commas inside values kept",
       "%s",
       0,
       {"a,b", "c"},
       {ProxyStatus::Ok, "a,b,c"},
       nullptr},
  };
  for (const BuildCase& c : cases) {
    CaptureLogger log;
    ExpandRules rules = ExpandRules::parse("%s", c.result_format, "/t.cf");
    ResultContext ctx{"sqlite:/t.cf", "/t.cf", "dict_sqlite_lookup", &log};
    ResultBuilder b(rules, "key@x.org", c.limit, ctx);
    for (const auto& f : c.fields) {
      if (!b.add(f)) break;
    }
    LookupResult got = b.finish();
    EXPECT_EQ(got.status, c.want.status) << c.name;
    EXPECT_EQ(got.value, c.want.value) << c.name;
    if (c.warning != nullptr) {
      EXPECT_TRUE(log.contains(c.warning)) << c.name;
    } else {
      EXPECT_TRUE(log.lines().empty()) << c.name;
    }
  }
}

TEST(ResultBuilder, EmptyValueWarningNamesTable) {
  CaptureLogger log;
  ExpandRules rules = ExpandRules::parse("%s", "%s", "/t.cf");
  ResultContext ctx{"sqlite:/tmp/sqlo/basic.cf", "/tmp/sqlo/basic.cf",
                    "dict_sqlite_lookup", &log};
  ResultBuilder b(rules, "multi", 0, ctx);
  EXPECT_TRUE(b.add(std::string()));
  // Text as printed by postmap 3.7.11 (after its "postmap: warning: " prefix).
  ASSERT_EQ(log.lines().size(), 1u);
  EXPECT_EQ(log.lines()[0],
            "table \"sqlite:/tmp/sqlo/basic.cf\": empty lookup result for: \"multi\" -- "
            "ignored");
}

}  // namespace
}  // namespace proxyd::dict
