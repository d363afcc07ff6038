// Socket directory set-up and checks (see socket_dir.h), after Postfix's
// postfix-files entry for $queue_directory/private (mail_owner, 0700).
#include "proxyd/socket_dir.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <stdexcept>

#include "proxyd/preflight.h"

namespace proxyd::daemon {

std::string socket_dir_problem(const std::string& dir, const struct stat& st,
                               const std::string& owner_name, uid_t owner_uid,
                               uid_t self_uid) {
  if (!S_ISDIR(st.st_mode)) {
    return fmt::format("socket directory {} is not a directory", dir);
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return fmt::format(
        "socket directory {} is writable by group or others (mode {:04o}), so others "
        "could replace proxyd's sockets: run \"chmod go-w {}\" (Postfix's layout: owner "
        "{}, mode 0700)",
        dir, st.st_mode & 07777, dir, owner_name);
  }
  if (st.st_uid != 0 && st.st_uid != owner_uid && st.st_uid != self_uid) {
    return fmt::format(
        "socket directory {} is owned by uid {}, neither root nor mail_owner {}: run "
        "\"chown {} {}\" (Postfix's layout: owner {}, mode 0700)",
        dir, st.st_uid, owner_name, owner_name, dir, owner_name);
  }
  return {};
}

std::filesystem::path prepare_socket_dir(const std::string& queue_directory,
                                         const std::string& mail_owner,
                                         std::string& warning) {
  std::filesystem::path dir = std::filesystem::path(queue_directory) / "private";
  const std::string name = dir.string();
  std::optional<Credentials> owner = credentials_for_user(mail_owner);
  const uid_t self = geteuid();
  if (mkdir(name.c_str(), 0700) == 0) {
    if (self == 0 && owner) {
      // Through a descriptor of the directory just made: no path to swap.
      int fd = open(name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      int err = fd < 0 ? errno : 0;
      if (fd >= 0 && fchown(fd, owner->uid, static_cast<gid_t>(-1)) != 0) err = errno;
      if (fd >= 0) close(fd);
      if (err != 0) {
        throw std::runtime_error(
            fmt::format("chown {} {}: {}", mail_owner, name, std::strerror(err)));
      }
    }
  } else if (errno != EEXIST) {
    throw std::runtime_error(fmt::format("mkdir {}: {}", name, std::strerror(errno)));
  }
  struct stat st {};
  if (stat(name.c_str(), &st) != 0) {
    throw std::runtime_error(fmt::format("stat {}: {}", name, std::strerror(errno)));
  }
  // Without a mail_owner account no uid but root's and ours is trusted.
  std::string problem =
      socket_dir_problem(name, st, mail_owner, owner ? owner->uid : 0, self);
  if (!problem.empty()) throw std::runtime_error(problem);
  warning.clear();
  if (self == 0 && owner && !can_access(name, *owner, X_OK)) {
    warning = fmt::format(
        "mail_owner {} cannot reach the sockets in {} (owner uid {}, mode {:04o}): "
        "Postfix "
        "programs running as {} get \"Permission denied\"; run \"chown {} {}\"",
        mail_owner, name, st.st_uid, st.st_mode & 07777, mail_owner, mail_owner, name);
  }
  return dir;
}

ScopedUmask::ScopedUmask(mode_t mask) : saved_(umask(mask)) {}

ScopedUmask::~ScopedUmask() { umask(saved_); }

}  // namespace proxyd::daemon
