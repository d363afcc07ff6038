// Tests for proxyd's command-line parsing and its help text.
#include "proxyd/options.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace proxyd::daemon {
namespace {

std::optional<Options> parse(std::vector<std::string> args, std::string& error) {
  std::vector<char*> argv;
  static std::vector<std::string> storage;
  storage = std::move(args);
  storage.insert(storage.begin(), "proxyd");
  for (auto& a : storage) argv.push_back(a.data());
  return parse_options(static_cast<int>(argv.size()), argv.data(), error);
}

TEST(Options, Defaults) {
  std::string error;
  auto o = parse({}, error);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->config_dir, "/etc/postfix");
  EXPECT_FALSE(o->foreground);
  EXPECT_EQ(o->command, "");
}

TEST(Options, FlagsAndArguments) {
  std::string error;
  auto o = parse({"-fv", "-c", "/tmp/etc", "-o", "queue_directory=/q", "-oa=b"}, error);
  ASSERT_TRUE(o) << error;
  EXPECT_TRUE(o->foreground);
  EXPECT_TRUE(o->verbose);
  EXPECT_EQ(o->config_dir, "/tmp/etc");
  ASSERT_EQ(o->overrides.size(), 2u);
  EXPECT_EQ(o->overrides[0], (std::pair<std::string, std::string>{"queue_directory", "/q"}));
  EXPECT_EQ(o->overrides[1], (std::pair<std::string, std::string>{"a", "b"}));
}

TEST(Options, AttachedConfigDir) {
  std::string error;
  auto o = parse({"-c/etc/alt", "serve"}, error);
  ASSERT_TRUE(o) << error;
  EXPECT_EQ(o->config_dir, "/etc/alt");
  EXPECT_EQ(o->command, "");
}

struct BadCase {
  std::vector<std::string> args;
  std::string message;
};

TEST(Options, Errors) {
  const BadCase cases[] = {
      {{"-x"}, "invalid option"},
      {{"-c"}, "requires an argument"},
      {{"-o", "novalue"}, "expected name=value"},
      {{"-o", "=v"}, "expected name=value"},
      {{"frobnicate"}, "unknown command"},
      {{"serve", "extra"}, "unexpected command-line argument"},
  };
  for (const auto& c : cases) {
    std::string error;
    EXPECT_FALSE(parse(c.args, error));
    EXPECT_NE(error.find(c.message), std::string::npos) << error;
  }
}

TEST(Options, HelpListsEveryOption) {
  std::string help = usage_text();
  for (const char* opt : {"-c config_dir", "-f", "-o name=value", "-v", "-h", "serve"}) {
    EXPECT_NE(help.find(opt), std::string::npos) << opt;
  }
}

}  // namespace
}  // namespace proxyd::daemon
