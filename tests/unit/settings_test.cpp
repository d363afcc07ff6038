// Tests for proxyd.cf parsing: defaults, bounds, unknown names, syntax.
#include "proxyd/settings.h"

#include <gtest/gtest.h>

#include "dictcore/config_error.h"
#include "tests/fakes/capture_logger.h"

namespace proxyd::daemon {
namespace {

using dict::testing::CaptureLogger;

TEST(Settings, DefaultsMatchTable) {
  CaptureLogger log;
  Settings s = parse_settings("", "proxyd.cf", log);
  EXPECT_EQ(s.max_sessions, 4);
  for (const auto& info : setting_table()) {
    EXPECT_GE(info.def, info.min) << info.name;
    EXPECT_LE(info.def, info.max) << info.name;
  }
  Settings defaults;
  EXPECT_EQ(defaults.max_sessions, setting_table()[0].def);
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
  EXPECT_NE(log.lines()[0].find("unknown parameter \"no_such_thing\""), std::string::npos);
}

TEST(Settings, BadValuesAreConfigErrors) {
  CaptureLogger log;
  for (const char* text : {"max_sessions = many\n", "max_sessions = 0\n",
                           "max_sessions = 99999\n", "max_sessions = 4x\n", "max_sessions\n"}) {
    EXPECT_THROW(parse_settings(text, "proxyd.cf", log), dict::ConfigError) << text;
  }
}

}  // namespace
}  // namespace proxyd::daemon
