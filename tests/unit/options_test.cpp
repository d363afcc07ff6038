// Tests for proxyd's command-line parsing and its help text.
#include "proxyd/options.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proxyd/master_proto.h"

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
  EXPECT_EQ(o->overrides[0],
            (std::pair<std::string, std::string>{"queue_directory", "/q"}));
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

namespace proxyd::daemon {
namespace {

std::optional<MasterArgs> parse_master(std::vector<std::string> args,
                                       std::string& error) {
  static std::vector<std::string> storage;
  storage = std::move(args);
  std::vector<char*> argv;
  for (auto& a : storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  return parse_master_args(static_cast<int>(storage.size()), argv.data(), error);
}

// master(8) starts proxymap as "proxymap -t unix -u -c [-o name=value] [-v]".
TEST(MasterArgs, MultiServerCommandLine) {
  std::string error;
  auto a = parse_master({"/usr/lib/postfix/sbin/proxyd", "-n", "proxywrite", "-t", "unix",
                         "-uc", "-oa=b", "-z", "-v"},
                        error);
  ASSERT_TRUE(a) << error;
  EXPECT_EQ(a->service, "proxywrite");
  EXPECT_TRUE(a->unprivileged);
  EXPECT_TRUE(a->chroot);
  EXPECT_TRUE(a->verbose);
  ASSERT_EQ(a->overrides.size(), 1u);
  EXPECT_EQ(a->overrides[0], (std::pair<std::string, std::string>{"a", "b"}));
}

TEST(MasterArgs, ServiceFromProgramName) {
  std::string error;
  auto a = parse_master({"/usr/lib/postfix/sbin/proxymap", "-t", "unix"}, error);
  ASSERT_TRUE(a) << error;
  EXPECT_EQ(a->service, "proxymap");
  EXPECT_FALSE(a->chroot);
}

TEST(MasterArgs, Errors) {
  const BadCase cases[] = {
      {{"proxymap", "-x"}, "invalid option -- 'x'"},
      {{"proxymap", "-n"}, "option -n requires an argument"},
      {{"proxymap", "-o", "novalue"}, "bad -o argument \"novalue\""},
      {{"proxymap", "-t", "unix", "extra"}, "unexpected command-line argument: extra"},
  };
  // Any service name parses: its role comes from main.cf's
  // proxymap_service_name / proxywrite_service_name (ForwardLayout.RoleFromServiceNames).
  for (const auto& c : cases) {
    std::string error;
    EXPECT_FALSE(parse_master(c.args, error)) << c.message;
    EXPECT_NE(error.find(c.message), std::string::npos) << error;
  }
}

// getopt(3) keeps its place in globals: a second parse starts afresh, and
// options after the command word are not options (no GNU permutation).
TEST(Options, RepeatedParseAndCommandEndsOptions) {
  std::string error;
  ASSERT_TRUE(parse({"-f", "-c", "/a"}, error)) << error;
  auto o = parse({"-v", "stats"}, error);
  ASSERT_TRUE(o) << error;
  EXPECT_TRUE(o->verbose);
  EXPECT_FALSE(o->foreground);
  EXPECT_EQ(o->command, "stats");
  EXPECT_FALSE(parse({"stats", "-v"}, error));
  EXPECT_NE(error.find("unexpected command-line argument: \"-v\""), std::string::npos)
      << error;
  EXPECT_FALSE(parse({"-x"}, error));
  EXPECT_NE(error.find("invalid option -- 'x'"), std::string::npos) << error;
  EXPECT_FALSE(parse({"-c"}, error));
  EXPECT_NE(error.find("option -c requires an argument"), std::string::npos) << error;
}

}  // namespace
}  // namespace proxyd::daemon
