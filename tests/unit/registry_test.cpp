// Tests for the table registry (dispatch by type, surrogates for tables that
// cannot be opened, error-to-status mapping, one instance per name and mode)
// and for surrogate tables. Postfix behaviour noted in comments was checked
// with real Postfix 3.7.11 (postmap -q) or read in its source where postmap
// cannot show it (proxymap opens). Runs with tests/ as working directory.
#include "dictcore/front/registry.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "dictcore/config/main_cf.h"
#include "dictcore/sql/sql_table.h"
#include "dictcore/tables/surrogate.h"
#include "dictcore/util/config_error.h"
#include "dictcore/util/logger.h"
#include "protocol/status.h"
#include "tests/fakes/capture_logger.h"

namespace proxyd::dict {

namespace {

namespace pflags = protocol::flags;

using testing::CaptureLogger;

LookupResult lookup(Table& table, const std::string& key, uint32_t flags = 0) {
  std::optional<LookupResult> result;
  table.lookup(key, flags, [&](LookupResult r) { result = std::move(r); });
  EXPECT_TRUE(result.has_value());
  return result.value_or(LookupResult{ProxyStatus::Bad, {}});
}

const SurrogateTable* as_surrogate(const TablePtr& table) {
  return dynamic_cast<const SurrogateTable*>(table.get());
}

// --- surrogates ------------------------------------------------------------

TEST(Surrogate, EveryOperationAnswersItsStatus) {
  for (ProxyStatus status : {ProxyStatus::Retry, ProxyStatus::Config}) {
    auto table = make_surrogate("mysql:/x.cf", status, "why");
    // dict_surrogate reports PATTERN (verified in SPEC 5.1: open of a missing
    // cf answers flags 32).
    EXPECT_EQ(table->impl_flags(), pflags::kPattern);
    EXPECT_EQ(table->name(), "mysql:/x.cf");
    EXPECT_EQ(lookup(*table, "k", pflags::kFoldFix), (LookupResult{status, {}}));
    std::vector<ProxyStatus> seen;
    table->update("k", "v", 0, [&](LookupResult r) { seen.push_back(r.status); });
    table->remove("k", 0, [&](LookupResult r) { seen.push_back(r.status); });
    table->sequence(0, 0, [&](SeqResult r) { seen.push_back(r.status); });
    table->sequence(1, 0, [&](SeqResult r) { seen.push_back(r.status); });
    EXPECT_EQ(seen, std::vector<ProxyStatus>(4, status));
    ASSERT_NE(as_surrogate(table), nullptr);
    EXPECT_EQ(as_surrogate(table)->reason(), "why");
  }
}

// --- open_table dispatch ----------------------------------------------------

TEST(OpenTable, DispatchesServerlessTypes) {
  TableEnv env;
  struct Case {
    std::string name;
    std::string key;
    std::string value;
  };
  const std::vector<Case> cases{
      {"static:bar", "x", "bar"},
      {"static:{ a b }", "x", "a b"},
      {"inline:{ Foo=bar }", "foo", "bar"},
      {"texthash:data/tables/basic.txt", "foo", "bar baz"},
  };
  for (const auto& c : cases) {
    auto table = open_table(c.name, OpenMode::ReadOnly, env);
    EXPECT_EQ(as_surrogate(table), nullptr) << c.name;
    EXPECT_EQ(table->impl_flags(), pflags::kFixed) << c.name;
    EXPECT_EQ(table->name(), c.name);
    EXPECT_EQ(lookup(*table, c.key, pflags::kFoldFix),
              (LookupResult{ProxyStatus::Ok, c.value}))
        << c.name;
  }
  auto unix_table = open_table("unix:passwd.byname", OpenMode::ReadOnly, env);
  EXPECT_EQ(as_surrogate(unix_table), nullptr);
  EXPECT_EQ(lookup(*unix_table, "root").status, ProxyStatus::Ok);
}

// Each served type names what it reads, so preflight and check need no type
// names; a type proxyd does not serve has no sources.
TEST(TableSourcesTest, EveryServedTypeReportsItsSources) {
  EXPECT_EQ(table_sources("static"), TableSources::None);
  EXPECT_EQ(table_sources("inline"), TableSources::None);
  EXPECT_EQ(table_sources("texthash"), TableSources::NamedFile);
  EXPECT_EQ(table_sources("unix"), TableSources::UserDatabase);
  for (const char* sql : {"sqlite", "mysql", "pgsql"}) {
    EXPECT_EQ(table_sources(sql), TableSources::SqlConfig) << sql;
    EXPECT_TRUE(sql_kind_from_type(sql).has_value()) << sql;
  }
  for (const char* other : {"hash", "lmdb", "cidr", "proxy", ""}) {
    EXPECT_FALSE(table_sources(other).has_value()) << other;
    EXPECT_FALSE(is_supported_type(other)) << other;
  }
}

TEST(OpenTable, StaticWorksReadWrite) {
  // dict_static has no O_RDONLY check, unlike inline/texthash/unix/SQL.
  TableEnv env;
  auto table = open_table("static:x", OpenMode::ReadWrite, env);
  EXPECT_EQ(as_surrogate(table), nullptr);
  EXPECT_EQ(lookup(*table, "k"), (LookupResult{ProxyStatus::Ok, "x"}));
}

struct FailCase {
  std::string name;
  OpenMode mode;
  ProxyStatus status;
  std::string reason;  // empty: not checked (depends on another package)
};

std::ostream& operator<<(std::ostream& os, const FailCase& c) { return os << c.name; }

class OpenTableFailure : public ::testing::TestWithParam<FailCase> {};

TEST_P(OpenTableFailure, BecomesSurrogateAndLogsAsPostfix) {
  const auto& c = GetParam();
  CaptureLogger log;
  NullLogger quiet;
  MainCf main_cf = MainCf::from_string("", quiet);
  TableEnv env;
  env.log = &log;
  env.main_cf = &main_cf;
  auto table = open_table(c.name, c.mode, env);
  const SurrogateTable* surrogate = as_surrogate(table);
  ASSERT_NE(surrogate, nullptr);
  EXPECT_EQ(table->name(), c.name);
  EXPECT_EQ(table->impl_flags(), pflags::kPattern);
  EXPECT_EQ(surrogate->status(), c.status);
  if (!c.reason.empty()) {
    EXPECT_EQ(surrogate->reason(), c.reason);
  }
  // At open, proxymap's dict_surrogate logs the reason (an error) ...
  ASSERT_EQ(log.lines().size(), 2u);
  EXPECT_EQ(log.lines()[0], surrogate->reason());
  EXPECT_NE(log.lines()[1].find(c.name), std::string::npos) << log.lines()[1];
  // ... and on each access "TYPE:NAME is unavailable. REASON".
  EXPECT_EQ(lookup(*table, "key").status, c.status);
  ASSERT_EQ(log.lines().size(), 3u);
  EXPECT_EQ(log.lines()[2], c.name + " is unavailable. " + surrogate->reason());
}

// A logger that admits the first warning of each kind only, as the daemon's
// rate limit does within its interval.
class FirstOfEachKind final : public Logger {
 public:
  void log(Severity, std::string_view message) override { lines.emplace_back(message); }
  bool admit(std::string_view kind) override { return kinds.emplace(kind).second; }
  std::vector<std::string> lines;
  std::set<std::string, std::less<>> kinds;
};

TEST(Surrogate, WarnsOnEachAccessThroughTheRateLimit) {
  // Postfix's surrogate warns on every access; proxyd keeps the words but
  // lets its rate limit (kind: the table name) thin a flood.
  FirstOfEachKind log;
  auto a = make_surrogate("mysql:/a.cf", ProxyStatus::Retry, "open /a.cf: gone", &log);
  auto b = make_surrogate("pgsql:/b.cf", ProxyStatus::Retry, "open /b.cf: gone", &log);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(lookup(*a, "k").status, ProxyStatus::Retry);
    EXPECT_EQ(lookup(*b, "k").status, ProxyStatus::Retry);
  }
  EXPECT_EQ(log.lines,
            (std::vector<std::string>{"mysql:/a.cf is unavailable. open /a.cf: gone",
                                      "pgsql:/b.cf is unavailable. open /b.cf: gone"}));
}

constexpr auto RO = OpenMode::ReadOnly;
constexpr auto RW = OpenMode::ReadWrite;
constexpr auto kRetry = ProxyStatus::Retry;
constexpr auto kConfig = ProxyStatus::Config;

INSTANTIATE_TEST_SUITE_P(
    Postfix, OpenTableFailure,
    ::testing::Values(
        // postmap: fatal: unsupported dictionary type: bogus (Postfix daemons
        // get a surrogate: temporary failure).
        FailCase{"bogus:foo", RO, kRetry, "unsupported dictionary type: bogus"},
        FailCase{"hash:/etc/aliases", RO, kRetry, "unsupported dictionary type: hash"},
        // Types are case-sensitive in dict_open.
        FailCase{"STATIC:x", RO, kRetry, "unsupported dictionary type: STATIC"},
        // postmap: fatal: open database /nonexistent: No such file or directory
        FailCase{"texthash:/nonexistent/x", RO, kRetry,
                 "open database /nonexistent/x: No such file or directory"},
        // postmap: fatal: open dictionary: expecting "type:name" form instead
        // of "static:" (the real daemon dies; proxyd answers CONFIG).
        FailCase{"static:", RO, kConfig,
                 "open dictionary: expecting \"type:name\" form instead of \"static:\""},
        FailCase{":x", RO, kConfig,
                 "open dictionary: expecting \"type:name\" form instead of \":x\""},
        // Malformed inline/static/unix names: postmap's fatal text.
        FailCase{"inline:{ foo }", RO, kConfig,
                 "missing '=' after attribute name: \"inline:{ foo }\"; need "
                 "\"inline:{name=value...}\""},
        FailCase{"static:{ a", RO, kConfig,
                 "bad static:name syntax: missing '}' in \"{ a\""},
        FailCase{"unix:foo", RO, kConfig, "unknown table: unix:foo"},
        // Source: dict_inline, dict_thash, dict_unix and the SQL drivers
        // require O_RDONLY; proxywrite opens O_RDWR|O_CREAT (SPEC 4.3,
        // verified for mysql: status 2).
        FailCase{"inline:{a=b}", RW, kRetry,
                 "inline:{a=b} map requires O_RDONLY access mode"},
        FailCase{"texthash:data/tables/basic.txt", RW, kRetry,
                 "texthash:data/tables/basic.txt map requires O_RDONLY access mode"},
        FailCase{"unix:passwd.byname", RW, kRetry,
                 "unix:passwd.byname map requires O_RDONLY access mode"},
        FailCase{"sqlite:/etc/postfix/x.cf", RW, kRetry,
                 "sqlite:/etc/postfix/x.cf map requires O_RDONLY access mode"},
        FailCase{"mysql:/etc/postfix/x.cf", RW, kRetry,
                 "mysql:/etc/postfix/x.cf map requires O_RDONLY access mode"},
        FailCase{"pgsql:/etc/postfix/x.cf", RW, kRetry,
                 "pgsql:/etc/postfix/x.cf map requires O_RDONLY access mode"},
        // A missing .cf: surrogate with RETRY (SPEC 5.1, verified).
        FailCase{"sqlite:/nonexistent/proxyd-test.cf", RO, kRetry, ""}));

TEST(OpenTable, NameWithoutColonIsConfig) {
  TableEnv env;
  auto table = open_table("nocolon", OpenMode::ReadOnly, env);
  ASSERT_NE(as_surrogate(table), nullptr);
  EXPECT_EQ(as_surrogate(table)->status(), ProxyStatus::Config);
}

TEST(OpenTable, AnswerForAnyKeyTooLongToKeep) {
  // A key over max_request_bytes is read and dropped: the answer is what the
  // direct lookup gives every such key, where that does not depend on it.
  TableEnv env;
  constexpr std::size_t kLong = 4u << 20;
  auto fixed = open_table("static:fixed", RO, env);
  EXPECT_EQ(fixed->answer_any_key(kLong, 0), (LookupResult{ProxyStatus::Ok, "fixed"}));
  auto in = open_table("inline:{a=b, ccc=d}", RO, env);
  EXPECT_EQ(in->answer_any_key(kLong, pflags::kFoldFix),
            (LookupResult{ProxyStatus::NoKey, {}}));
  // A stored key that folding could make as long as the dropped one: unknown.
  EXPECT_EQ(in->answer_any_key(9, 0).status, ProxyStatus::Retry);
  auto passwd = open_table("unix:passwd.byname", RO, env);
  EXPECT_EQ(passwd->answer_any_key(kLong, 0).status, ProxyStatus::NoKey);
  auto gone = make_surrogate("mysql:/x.cf", ProxyStatus::Config, "why");
  EXPECT_EQ(gone->answer_any_key(kLong, 0).status, ProxyStatus::Config);
}

TEST(OpenTable, SplitsAtFirstColon) {
  // dict_open splits "type:name" at the first ':'; the rest may hold more.
  TableEnv env;
  auto table = open_table("static:a:b", OpenMode::ReadOnly, env);
  EXPECT_EQ(lookup(*table, "k"), (LookupResult{ProxyStatus::Ok, "a:b"}));
}

// --- Registry caching ------------------------------------------------------

TEST(Registry, OneInstancePerNameAndMode) {
  CaptureLogger log;
  TableEnv env;
  env.log = &log;
  Registry registry(env);
  auto a = registry.open("inline:{ a=1 }", OpenMode::ReadOnly);
  auto b = registry.open("inline:{ a=1 }", OpenMode::ReadOnly);
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(registry.size(), 1u);
  auto rw = registry.open("inline:{ a=1 }", OpenMode::ReadWrite);
  EXPECT_NE(rw.get(), a.get());
  EXPECT_EQ(registry.size(), 2u);
  // Names are exact strings: extra white space is another table.
  auto c = registry.open("inline:{ a=1  }", OpenMode::ReadOnly);
  EXPECT_NE(c.get(), a.get());
  EXPECT_EQ(registry.size(), 3u);
  // Only the read-write inline failed to open, and it was logged once (the
  // reason, and what it answers).
  EXPECT_EQ(log.lines().size(), 2u);
}

TEST(Registry, OneInstancePerInstanceFlagsThatMatter) {
  // proxymap keeps one instance per name and instance flags; flags that do
  // not change how a type is built share one instance.
  TableEnv env;  // no main.cf: smtputf8 on
  Registry registry(env);
  const std::string name = "inline:{ MixedCase=1 }";
  auto daemon = registry.open(name, OpenMode::ReadOnly, kDaemonInstanceFlags);
  auto same = registry.open(
      name, OpenMode::ReadOnly,
      kDaemonInstanceFlags | pflags::kLock | pflags::kDupWarn | pflags::kTry1Null);
  EXPECT_EQ(daemon.get(), same.get());
  auto raw = registry.open(name, OpenMode::ReadOnly, pflags::kUtf8Request);  // postmap -f
  EXPECT_NE(raw.get(), daemon.get());
  EXPECT_EQ(lookup(*daemon, "mixedcase").status, ProxyStatus::Ok);
  EXPECT_EQ(lookup(*daemon, "MixedCase").status, ProxyStatus::NoKey);
  EXPECT_EQ(lookup(*raw, "MixedCase").status, ProxyStatus::Ok);
  EXPECT_EQ(lookup(*raw, "mixedcase").status, ProxyStatus::NoKey);
  EXPECT_EQ(registry.size(), 2u);
  // static: only SRC_RHS_IS_FILE matters; unix: and SQL tables: nothing.
  EXPECT_EQ(instance_key_flags("static:x", ~0u, true), pflags::kSrcRhsIsFile);
  EXPECT_EQ(instance_key_flags("sqlite:/x.cf", ~0u, true), 0u);
  EXPECT_EQ(instance_key_flags("unix:passwd.byname", ~0u, true), 0u);
  EXPECT_EQ(instance_key_flags("texthash:/x", ~0u, true),
            pflags::kFoldFix | pflags::kUtf8Request | pflags::kSrcRhsIsFile);
  // Without smtputf8 there is no UTF-8 layer: UTF8_REQUEST changes nothing.
  EXPECT_EQ(instance_key_flags("texthash:/x", ~0u, false),
            pflags::kFoldFix | pflags::kSrcRhsIsFile);
}

TEST(Registry, SurrogatesAreCachedAndLoggedOnce) {
  CaptureLogger log;
  TableEnv env;
  env.log = &log;
  Registry registry(env);
  auto a = registry.open("texthash:/nonexistent/x", OpenMode::ReadOnly);
  auto b = registry.open("texthash:/nonexistent/x", OpenMode::ReadOnly);
  EXPECT_EQ(a.get(), b.get());
  // Opened once (the reason, and what it answers), one access warning.
  EXPECT_EQ(log.lines().size(), 2u);
  EXPECT_EQ(lookup(*a, "k").status, ProxyStatus::Retry);
  EXPECT_EQ(log.lines().size(), 3u);
}

TEST(Registry, SharedInstanceKeepsState) {
  // Postfix proxymap shares one dictionary among all clients: a sequence
  // cursor or an update is visible through every handle.
  TableEnv env;
  Registry registry(env);
  auto a = registry.open("inline:{ a=1, b=2 }", OpenMode::ReadOnly);
  auto b = registry.open("inline:{ a=1, b=2 }", OpenMode::ReadOnly);
  std::string first;
  std::string second;
  a->sequence(0, 0, [&](SeqResult r) { first = r.key; });
  b->sequence(1, 0, [&](SeqResult r) { second = r.key; });
  EXPECT_EQ(first, "a");
  EXPECT_EQ(second, "b");
}

}  // namespace
}  // namespace proxyd::dict
