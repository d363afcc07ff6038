// chroot + setgid/initgroups/setuid in Postfix's order (see privs.h).
#include "proxyd/privs.h"

#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace proxyd::daemon {
namespace {

[[noreturn]] void fail(std::string_view step) {
  throw std::runtime_error(fmt::format("{}: {}", step, std::strerror(errno)));
}

}  // namespace

void drop_privileges(const std::string& user, const std::string& jail) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found) != 0 ||
      found == nullptr) {
    throw std::runtime_error(
        fmt::format("unknown mail_owner user \"{}\": set mail_owner in main.cf", user));
  }
  if (pw.pw_uid == 0) {
    throw std::runtime_error(fmt::format(
        "mail_owner \"{}\" has uid 0: proxyd refuses to serve as root", user));
  }
  if (setgid(pw.pw_gid) != 0) fail(fmt::format("setgid({})", pw.pw_gid));
  if (initgroups(user.c_str(), pw.pw_gid) != 0) fail(fmt::format("initgroups({})", user));
  if (!jail.empty()) {
    if (chroot(jail.c_str()) != 0) fail(fmt::format("chroot({})", jail));
    if (chdir("/") != 0) fail("chdir(/)");
  }
  if (setuid(pw.pw_uid) != 0) fail(fmt::format("setuid({})", pw.pw_uid));
  if (setuid(0) == 0 || geteuid() == 0) {
    throw std::runtime_error(
        "privileges could not be dropped: still able to become root");
  }
}

}  // namespace proxyd::daemon
