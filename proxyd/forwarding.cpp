// The forwarding pools of one process (see forwarding.h).
#include "proxyd/forwarding.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "proxyd/forward_layout.h"
#include "proxyd/service.h"

namespace proxyd::daemon {

Forwarding::Forwarding(EventLoop& loop, dict::Logger& log, const Settings& settings,
                       std::string queue_dir, std::string jail, std::vector<Role> roles,
                       std::vector<std::string> own_sockets)
    : log_(log),
      queue_dir_(std::move(queue_dir)),
      jail_(std::move(jail)),
      roles_(std::move(roles)),
      own_sockets_(std::move(own_sockets)),
      read_(loop.base(), log, "read", limits(settings, Role::ReadOnly)),
      write_(loop.base(), log, "write", limits(settings, Role::ReadWrite)) {}

void Forwarding::reconfigure(const std::filesystem::path& config_dir) {
  try {
    Settings s = load_settings(config_dir, log_);
    read_.configure(limits(s, Role::ReadOnly));
    write_.configure(limits(s, Role::ReadWrite));
  } catch (const std::exception&) {
    // reload() reports the broken proxyd.cf and keeps the old configuration.
  }
}

void Forwarding::expire(ForwardPool::Clock::time_point now) {
  read_.expire(now);
  write_.expire(now);
}

void Forwarding::log_layout(const Generation& gen) {
  std::vector<std::string> unserved;
  for (Role role : {Role::ReadOnly, Role::ReadWrite}) {
    if (!serves(role)) continue;
    ForwardPool* p = pool(role);
    if (p->enabled()) {
      log_.info("forwarding {} requests for table types proxyd does not serve to {}",
                role == Role::ReadOnly ? "read-only" : "read-write", p->limits().path);
      continue;
    }
    for (const std::string& t : gen.allowlist(role).tables()) {
      if (!served_natively(t) &&
          std::find(unserved.begin(), unserved.end(), t) == unserved.end()) {
        unserved.push_back(t);
      }
    }
  }
  if (unserved.empty()) return;
  for (const std::string& t : unserved) {
    log_.warn(
        "table {} is allowlisted but proxyd cannot serve its type; it answers RETRY "
        "until Postfix's proxymap serves it behind proxyd",
        t);
  }
  std::string lines = forwarding_layout_lines(!jail_.empty());
  log_.warn(
      "to serve every table type, use the forwarding layout (then \"postfix reload\"):");
  std::size_t pos = 0;
  while (pos < lines.size()) {
    std::size_t end = lines.find('\n', pos);
    log_.warn("{}", lines.substr(pos, end - pos));
    pos = end == std::string::npos ? lines.size() : end + 1;
  }
}

bool Forwarding::serves(Role role) const {
  return std::find(roles_.begin(), roles_.end(), role) != roles_.end();
}

ForwardLimits Forwarding::limits(const Settings& s, Role role) const {
  if (!serves(role)) return forward_limits(s, "");
  const std::string& setting =
      role == Role::ReadOnly ? s.forward_read_socket : s.forward_write_socket;
  return forward_limits(s, forward_socket_path(setting, queue_dir_, jail_, own_sockets_));
}

}  // namespace proxyd::daemon
