// Privilege separation as Postfix daemons do it: optionally chroot into the
// queue directory, then drop to mail_owner (setgid, initgroups, setuid),
// and verify root cannot be regained. Called once, before serving.
#pragma once

#include <string>

namespace proxyd::daemon {

// Drop to user (and chroot into jail when non-empty). Throws
// std::runtime_error naming the failing step; refuses a user with uid 0.
void drop_privileges(const std::string& user, const std::string& jail);

}  // namespace proxyd::daemon
