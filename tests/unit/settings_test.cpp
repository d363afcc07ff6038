// Tests for proxyd.cf parsing: defaults, bounds, unknown names, syntax.
#include "proxyd/settings.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "dictcore/util/config_error.h"
#include "tests/fakes/capture_logger.h"

namespace proxyd::daemon {
namespace {

using dict::testing::CaptureLogger;

TEST(Settings, DefaultsMatchTable) {
  CaptureLogger log;
  Settings s = parse_settings("", "proxyd.cf", log);
  EXPECT_EQ(s, Settings{});
  EXPECT_EQ(s.max_sessions, 4);
  // Writing each documented default explicitly changes nothing.
  for (const auto& info : setting_table()) {
    std::string line = fmt::format("{} = {}\n", info.name, info.def);
    EXPECT_EQ(parse_settings(line, "proxyd.cf", log), Settings{}) << line;
  }
  EXPECT_TRUE(log.lines().empty());
}

TEST(Settings, CacheTtlLists) {
  CaptureLogger log;
  Settings s = parse_settings(
      "cache_ttl = 60, proxy:mysql:/etc/postfix/a.cf=300 sqlite:/x.cf=0\n"
      "cache_negative_ttl = mysql:/etc/postfix/a.cf=5\n",
      "proxyd.cf", log);
  EXPECT_EQ(s.cache_ttl.for_table("mysql:/etc/postfix/a.cf"), std::chrono::seconds(300));
  EXPECT_EQ(s.cache_ttl.for_table("sqlite:/x.cf"), std::chrono::seconds(0));
  EXPECT_EQ(s.cache_ttl.for_table("pgsql:/other.cf"), std::chrono::seconds(60));
  EXPECT_EQ(s.cache_negative_ttl.for_table("mysql:/etc/postfix/a.cf"),
            std::chrono::seconds(5));
  EXPECT_EQ(s.cache_negative_ttl.for_table("pgsql:/other.cf"), std::chrono::seconds(0));
  for (const char* bad :
       {"cache_ttl = x\n", "cache_ttl = nocolon=5\n", "cache_ttl = mysql:/a.cf=-1\n",
        "cache_ttl = mysql:/a.cf=\n", "cache_ttl = 90000\n"}) {
    EXPECT_THROW(parse_settings(bad, "proxyd.cf", log), dict::ConfigError) << bad;
  }
}

TEST(Settings, ProbeIntervalZeroKeepsPostfixRetryInterval) {
  CaptureLogger log;
  EXPECT_EQ(Settings{}.probe_interval, 1);
  EXPECT_EQ(parse_settings("probe_interval = 0\n", "proxyd.cf", log).probe_interval, 0);
  EXPECT_EQ(parse_settings("probe_interval = 5\n", "proxyd.cf", log).probe_interval, 5);
  EXPECT_THROW(parse_settings("probe_interval = -1\n", "proxyd.cf", log),
               dict::ConfigError);
  EXPECT_THROW(parse_settings("probe_interval = 3601\n", "proxyd.cf", log),
               dict::ConfigError);
}

TEST(Settings, BooleansAreYesOrNo) {
  CaptureLogger log;
  EXPECT_TRUE(parse_settings("chroot = yes\n", "proxyd.cf", log).chroot);
  EXPECT_FALSE(parse_settings("chroot = no\n", "proxyd.cf", log).chroot);
  EXPECT_THROW(parse_settings("chroot = maybe\n", "proxyd.cf", log), dict::ConfigError);
}

TEST(Settings, ParsesValuesWithPostfixSyntax) {
  CaptureLogger log;
  Settings s = parse_settings("# comment\nmax_sessions = 8\nrequest_timeout=\n  30\n",
                              "proxyd.cf", log);
  EXPECT_EQ(s.max_sessions, 8);
  EXPECT_EQ(s.request_timeout, 30);
}

TEST(Settings, UnknownNameWarns) {
  CaptureLogger log;
  Settings s = parse_settings("no_such_thing = 1\n", "proxyd.cf", log);
  EXPECT_EQ(s.max_sessions, 4);
  ASSERT_EQ(log.lines().size(), 1u);
  EXPECT_NE(log.lines()[0].find("unknown parameter \"no_such_thing\""),
            std::string::npos);
}

TEST(Settings, PostfixVersionIsAutoOrARelease) {
  CaptureLogger log;
  EXPECT_EQ(parse_settings("", "proxyd.cf", log).postfix_version, "auto");
  EXPECT_EQ(
      parse_settings("postfix_version = 3.7.11\n", "proxyd.cf", log).postfix_version,
      "3.7.11");
  for (const char* bad :
       {"postfix_version = newest\n", "postfix_version = 3\n", "postfix_version =\n"}) {
    EXPECT_THROW(parse_settings(bad, "proxyd.cf", log), dict::ConfigError) << bad;
  }
}

TEST(Settings, BadValuesAreConfigErrors) {
  CaptureLogger log;
  for (const char* text :
       {"max_sessions = many\n", "max_sessions = 0\n", "max_sessions = 99999\n",
        "max_sessions = 4x\n", "max_sessions\n"}) {
    EXPECT_THROW(parse_settings(text, "proxyd.cf", log), dict::ConfigError) << text;
  }
}

}  // namespace
}  // namespace proxyd::daemon
