// Tests for proxyd/socket_dir.h and the socket modes of make_unix_listener:
// $queue_directory/private created as Postfix lays it out (mail_owner,
// 0700), directories others could write to or owned by a stranger refused
// with the fix named, and sockets that get their mode at bind.
#include "proxyd/socket_dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "proxyd/preflight.h"
#include "proxyd/server.h"

namespace proxyd::daemon {
namespace {

namespace fs = std::filesystem;

class SocketDir : public ::testing::Test {
 protected:
  SocketDir() {
    std::string tmpl = "/tmp/pxdsdXXXXXX";
    root_ = mkdtemp(tmpl.data());
    fs::permissions(root_, fs::perms(0755));
  }
  ~SocketDir() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  struct stat stat_of(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(stat(p.c_str(), &st), 0);
    return st;
  }
  fs::path root_;
};

TEST_F(SocketDir, ProblemNamesEachUnsafeLayout) {
  struct stat st {};
  st.st_mode = S_IFDIR | 0700;
  st.st_uid = 0;
  EXPECT_EQ(socket_dir_problem("/q/private", st, "postfix", 101, 0), "");
  st.st_uid = 101;
  EXPECT_EQ(socket_dir_problem("/q/private", st, "postfix", 101, 0), "");
  st.st_mode = S_IFDIR | 0770;
  EXPECT_NE(socket_dir_problem("/q/private", st, "postfix", 101, 0)
                .find("writable by group or others (mode 0770)"),
            std::string::npos);
  st.st_mode = S_IFDIR | 01777;
  EXPECT_NE(socket_dir_problem("/q/private", st, "postfix", 101, 0).find("chmod go-w"),
            std::string::npos);
  st.st_mode = S_IFDIR | 0700;
  st.st_uid = 4242;
  std::string stranger = socket_dir_problem("/q/private", st, "postfix", 101, 0);
  EXPECT_NE(stranger.find("owned by uid 4242, neither root nor mail_owner postfix"),
            std::string::npos)
      << stranger;
  EXPECT_NE(stranger.find("chown postfix /q/private"), std::string::npos) << stranger;
  EXPECT_EQ(socket_dir_problem("/q/private", st, "postfix", 101, 4242), "");  // ours
  st.st_mode = S_IFREG | 0600;
  st.st_uid = 0;
  EXPECT_NE(
      socket_dir_problem("/q/private", st, "postfix", 101, 0).find("not a directory"),
      std::string::npos);
}

TEST_F(SocketDir, CreatesPrivateOwnedByMailOwnerMode0700) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to create a directory for mail_owner";
  std::optional<Credentials> postfix = credentials_for_user("postfix");
  ASSERT_TRUE(postfix) << "the postfix package creates user postfix";
  std::string warning = "stale";
  fs::path dir = prepare_socket_dir(root_.string(), "postfix", warning);
  EXPECT_EQ(dir, root_ / "private");
  struct stat st = stat_of(dir);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(st.st_uid, postfix->uid);
  EXPECT_EQ(warning, "");
  // mail_owner's clients can reach a socket in it.
  EXPECT_TRUE(can_access(dir.string(), *postfix, X_OK));
  // A second start accepts what the first one made.
  EXPECT_NO_THROW(prepare_socket_dir(root_.string(), "postfix", warning));
}

TEST_F(SocketDir, RefusesADirectoryOthersCanWrite) {
  fs::create_directory(root_ / "private");
  fs::permissions(root_ / "private", fs::perms(0777));
  std::string warning;
  try {
    prepare_socket_dir(root_.string(), "postfix", warning);
    FAIL() << "a world-writable socket directory was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find((root_ / "private").string() +
                                         " is writable by group or others (mode 0777)"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(SocketDir, RefusesADirectoryOfAStranger) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to give a directory away";
  fs::create_directory(root_ / "private");
  fs::permissions(root_ / "private", fs::perms(0700));
  ASSERT_EQ(chown((root_ / "private").c_str(), 54321, 54321), 0);
  std::string warning;
  EXPECT_THROW(prepare_socket_dir(root_.string(), "postfix", warning),
               std::runtime_error);
}

TEST_F(SocketDir, WarnsWhenMailOwnerCannotReachTheSockets) {
  if (geteuid() != 0)
    GTEST_SKIP() << "needs root: the warning is about dropping to mail_owner";
  fs::create_directory(root_ / "private");
  fs::permissions(root_ / "private", fs::perms(0700));  // root's, as proxyd once made it
  std::string warning;
  prepare_socket_dir(root_.string(), "postfix", warning);
  EXPECT_NE(warning.find("mail_owner postfix cannot reach the sockets"),
            std::string::npos)
      << warning;
  EXPECT_NE(warning.find("chown postfix"), std::string::npos) << warning;
}

TEST_F(SocketDir, ListenerModeIsSetAtBindWhateverTheUmask) {
  ScopedUmask strict(0077);  // would make a plain bind 0700
  int fd = make_unix_listener((root_ / "s1").string(), 4);
  EXPECT_EQ(stat_of(root_ / "s1").st_mode & 0777, 0666u);
  int control = make_unix_listener((root_ / "s2").string(), 4, 0600);
  EXPECT_EQ(stat_of(root_ / "s2").st_mode & 0777, 0600u);
  // The caller's umask is back.
  mode_t now = umask(0077);
  EXPECT_EQ(now, 0077u);
  close(fd);
  close(control);
}

}  // namespace
}  // namespace proxyd::daemon
