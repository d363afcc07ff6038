// Forwarding layout helpers (see forward_layout.h).
#include "proxyd/forward_layout.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "dictcore/config/allowlist.h"
#include "proxyd/check.h"
#include "proxyd/service.h"

namespace proxyd::daemon {

namespace fs = std::filesystem;

std::string forward_socket_path(std::string_view setting, const std::string& queue_dir,
                                const std::string& jail,
                                const std::vector<std::string>& own) {
  if (setting.empty()) return {};
  fs::path p(setting);
  if (p.is_relative()) p = fs::path(queue_dir) / p;
  std::string abs = p.lexically_normal().string();
  for (const std::string& mine : own) {
    if (fs::path(mine).lexically_normal().string() == abs) return {};  // ourselves
  }
  if (!jail.empty()) {
    std::string root = fs::path(jail).lexically_normal().string();
    if (!root.empty() && root.back() == '/') root.pop_back();
    if (abs.starts_with(root + "/")) return abs.substr(root.size());
  }
  return abs;
}

ForwardLimits forward_limits(const Settings& settings, std::string path) {
  ForwardLimits limits;
  limits.path = std::move(path);
  limits.max_connections = static_cast<std::size_t>(settings.forward_connections);
  limits.max_queue = static_cast<std::size_t>(settings.forward_max_queue);
  limits.timeout = std::chrono::seconds(settings.lookup_timeout);
  return limits;
}

std::vector<std::string> unserved_tables(const dict::MainCf& cf, dict::Logger& log) {
  std::vector<std::string> out;
  for (bool read : {true, false}) {
    const dict::Allowlist list = dict::Allowlist::build(cf, read, log);
    for (const std::string& t : list.tables()) {
      if (!served_natively(t) && std::find(out.begin(), out.end(), t) == out.end()) {
        out.push_back(t);
      }
    }
  }
  return out;
}

std::string forwarding_layout_lines(bool chroot) {
  const char c = chroot ? 'y' : 'n';
  return fmt::format(
      "  master.cf (Postfix's own proxymap lines stay as shipped):\n"
      "    proxymap     unix  -       -       n       -       -       proxymap\n"
      "    proxywrite   unix  -       -       n       -       1       proxymap\n"
      "    proxyd       unix  -       -       {0}       -       -       proxyd\n"
      "    proxyd-write unix  -       -       {0}       -       1       proxyd\n"
      "  main.cf:\n"
      "    proxymap_service_name = proxyd\n"
      "    proxywrite_service_name = proxyd-write\n",
      c);
}

bool forwarding_layout_configured(const dict::MainCf& cf,
                                  std::string_view master_cf_text) {
  const std::string reader = cf.get("proxymap_service_name");
  if (reader.empty() || reader == "proxymap") return false;
  bool stock = false, front = false;
  for (const MasterService& s : parse_master_cf(master_cf_text, false)) {
    if (s.type != "unix") continue;
    if (s.name == "proxymap") stock = true;
    if (s.name == reader) front = true;
  }
  return stock && front;
}

}  // namespace proxyd::daemon
