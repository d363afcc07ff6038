// The forwarding pools of the roles one process serves (issue 12): built
// from proxyd.cf at start-up, kept across reloads, and the start-up log that
// says where forwarded requests go or, in the drop-in layout, which
// allowlisted tables proxyd cannot serve. Loop thread only.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "dictcore/util/logger.h"
#include "proxyd/event_loop.h"
#include "proxyd/forward_pool.h"
#include "proxyd/server.h"
#include "proxyd/settings.h"

namespace proxyd::daemon {

class Generation;

class Forwarding {
 public:
  // roles: the roles this process serves; jail: its chroot ("" none);
  // own_sockets: the sockets it serves (never forwarded to).
  Forwarding(EventLoop& loop, dict::Logger& log, const Settings& settings,
             std::string queue_dir, std::string jail, std::vector<Role> roles,
             std::vector<std::string> own_sockets);
  Forwarding(const Forwarding&) = delete;
  Forwarding& operator=(const Forwarding&) = delete;

  ForwardPool* pool(Role role) { return role == Role::ReadOnly ? &read_ : &write_; }

  // proxyd.cf changed (reload): new sockets and limits.
  void reconfigure(const std::filesystem::path& config_dir);

  void expire(ForwardPool::Clock::time_point now);

  // Where forwarded requests go or, without forwarding (the drop-in
  // layout), which allowlisted tables proxyd cannot serve and the lines of
  // the forwarding layout.
  void log_layout(const Generation& gen);

 private:
  bool serves(Role role) const;
  ForwardLimits limits(const Settings& s, Role role) const;

  dict::Logger& log_;
  const std::string queue_dir_;
  const std::string jail_;
  const std::vector<Role> roles_;
  const std::vector<std::string> own_sockets_;
  ForwardPool read_;
  ForwardPool write_;
};

}  // namespace proxyd::daemon
