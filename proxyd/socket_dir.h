// The directory that holds proxyd's sockets, $queue_directory/private, set
// up the way Postfix's own layout has it (postfix-files: owned by
// mail_owner, mode 0700) and refused when someone other than root and
// mail_owner could replace a socket in it. Start-up only, before any
// thread exists (the umask is process-wide).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <filesystem>
#include <string>

namespace proxyd::daemon {

// Why dir (already stat-ed as st) is unsafe for sockets: not a directory,
// writable by group or others, or owned by a uid other than root,
// owner_uid (mail_owner) and self_uid (this process). "" when it is safe.
std::string socket_dir_problem(const std::string& dir, const struct stat& st,
                               const std::string& owner_name, uid_t owner_uid,
                               uid_t self_uid);

// $queue_directory/private: created (mode 0700, owned by mail_owner when
// running as root) when missing, then checked with socket_dir_problem.
// Throws std::runtime_error with a message naming the fix. warning is set
// when mail_owner will not be able to reach the sockets (a root-owned 0700
// directory), which is allowed but worth a log line.
std::filesystem::path prepare_socket_dir(const std::string& queue_directory,
                                         const std::string& mail_owner,
                                         std::string& warning);

// RAII umask: sockets get their mode at bind(), never by a chmod of a path
// that someone could have swapped in the meantime.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask);
  ~ScopedUmask();
  ScopedUmask(const ScopedUmask&) = delete;
  ScopedUmask& operator=(const ScopedUmask&) = delete;

 private:
  mode_t saved_;
};

}  // namespace proxyd::daemon
