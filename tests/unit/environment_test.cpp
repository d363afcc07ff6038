// Tests for proxyd/environment.h: the import_environment filter as
// Postfix's clean_env() applies it (Postfix 3.7's default list, bare names
// keep their value, name=value sets it, { } groups), and the process
// environment after clean_environment.
#include "proxyd/environment.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "dictcore/config/main_cf.h"
#include "tests/fakes/capture_logger.h"

extern char** environ;  // NOLINT: POSIX declares it nowhere else

namespace proxyd::daemon {
namespace {

using dict::testing::CaptureLogger;

TEST(Environment, DefaultKeepsOnlyPostfixVariables) {
  CaptureLogger log;
  dict::MainCf cf = dict::MainCf::from_string("", log);
  std::vector<std::string> current = {
      "HOME=/root",       "PGSSLMODE=disable",        "PGHOST=/tmp",
      "PGSERVICEFILE=/x", "MYSQL_HOST=evil",          "MYSQL_PWD=x",
      "TZ=Europe/Paris",  "MAIL_CONFIG=/etc/postfix", "LANG=de_DE.UTF-8",
      "PATH=/usr/bin",    "LD_PRELOAD=/x.so"};
  std::vector<EnvVar> want = {
      {"MAIL_CONFIG", "/etc/postfix"}, {"TZ", "Europe/Paris"}, {"LANG", "C"}};
  EXPECT_EQ(imported_environment(cf.get("import_environment"), current), want);
}

TEST(Environment, NameValueFormsAndGroups) {
  std::vector<std::string> current = {"A=1", "AB=2", "C=x=y"};
  EXPECT_EQ(imported_environment("A, B C { D = two words } E= AB=3", current),
            (std::vector<EnvVar>{
                {"A", "1"}, {"C", "x=y"}, {"D", "two words"}, {"E", ""}, {"AB", "3"}}));
  EXPECT_EQ(imported_environment("", current), std::vector<EnvVar>{});
}

// A "{...}" entry goes through extpar, as mail_parm_split reads the list:
// bad syntax is a start-up error, as it is fatal in Postfix.
TEST(Environment, BadGroupSyntaxIsAnError) {
  const std::vector<std::string> current = {"A=1"};
  for (const char* value : {"{A=1", "{A=1}{B=2}", "{A=1}x"}) {
    try {
      (void)imported_environment(value, current);
      ADD_FAILURE() << value << ": accepted";
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string(e.what()).rfind("import_environment: ", 0), 0u) << e.what();
    }
  }
  EXPECT_EQ(imported_environment("{\vA\f} {B=\v2\f}", current),
            (std::vector<EnvVar>{{"A", "1"}, {"B", "2"}}));
}

// The test process's environment, put back after a test replaced it.
class SavedEnvironment {
 public:
  SavedEnvironment() {
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) saved_.emplace_back(*e);
  }
  ~SavedEnvironment() {
    clearenv();
    for (const std::string& var : saved_) {
      std::size_t eq = var.find('=');
      setenv(var.substr(0, eq).c_str(), var.substr(eq + 1).c_str(), 1);
    }
  }

 private:
  std::vector<std::string> saved_;
};

TEST(Environment, CleanEnvironmentReplacesTheProcessEnvironment) {
  SavedEnvironment restore;
  ASSERT_EQ(setenv("PGSSLMODE", "disable", 1), 0);
  ASSERT_EQ(setenv("HOME", "/root", 1), 0);
  ASSERT_EQ(setenv("PXD_KEEP", "kept", 1), 0);
  clean_environment("PXD_KEEP PXD_SET=set");
  EXPECT_EQ(std::getenv("PGSSLMODE"), nullptr);
  EXPECT_EQ(std::getenv("HOME"), nullptr);
  ASSERT_NE(std::getenv("PXD_KEEP"), nullptr);
  EXPECT_STREQ(std::getenv("PXD_KEEP"), "kept");
  ASSERT_NE(std::getenv("PXD_SET"), nullptr);
  EXPECT_STREQ(std::getenv("PXD_SET"), "set");
}

}  // namespace
}  // namespace proxyd::daemon
