// Tests for choosing the Postfix release whose semantics apply
// (proxyd/postfix_release.h): no installed Postfix means the newest, and
// main.cf's NUL-byte warning appears only for a release that has it.
#include "proxyd/postfix_release.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/fakes/capture_logger.h"

namespace proxyd::daemon {
namespace {

using dict::testing::CaptureLogger;
using namespace std::string_literals;

TEST(PostfixRelease, NoInstalledPostfixMeansTheNewest) {
  CaptureLogger log;
  auto cf = dict::MainCf::from_string("command_directory = /nonexistent/proxyd\n", log);
  EXPECT_FALSE(installed_postfix_version(cf, "/nonexistent/etc").has_value());
  EXPECT_EQ(resolve_postfix_version("auto", cf, "/nonexistent/etc", log),
            dict::PostfixVersion::newest());
  EXPECT_TRUE(log.contains("no installed Postfix answered"));
  EXPECT_TRUE(log.contains("table semantics of Postfix 3.11.6"));
  // Its semantics, e.g. the 3.11 proxy_read_maps default.
  EXPECT_EQ(follow_postfix_release("auto", cf, "/nonexistent/etc", log),
            dict::PostfixVersion::newest());
  EXPECT_NE(cf.raw("proxy_read_maps").value_or("").find("$authorized_submit_users"),
            std::string::npos);
}

TEST(PostfixRelease, MainCfNulBytesWarnedOnlyFrom39) {
  for (const char* release : {"3.7.11", "3.8.7", "3.9.0", "3.11.6"}) {
    CaptureLogger log;
    auto cf = dict::MainCf::from_string("x = 1\0junk\n"s, log, "/c");
    follow_postfix_release(release, cf, "/c", log);
    EXPECT_EQ(cf.release(), dict::PostfixVersion::parse(release));
    EXPECT_EQ(log.contains("/c/main.cf, line 1: text after null byte may be ignored"),
              cf.release().readllines_warns_null())
        << release;
  }
}

}  // namespace
}  // namespace proxyd::daemon
