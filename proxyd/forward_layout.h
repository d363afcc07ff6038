// The forwarding layout: proxyd in front of Postfix's stock proxymap. Where
// the stock service's socket is (proxyd.cf forward_*_socket, resolved
// against queue_directory and the chroot jail), when forwarding is off
// (the socket is proxyd's own: the drop-in layout), and the exact
// master.cf/main.cf lines that set the layout up, for the start-up log and
// `proxyd check`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dictcore/config/main_cf.h"
#include "dictcore/util/logger.h"
#include "proxyd/forward_pool.h"
#include "proxyd/settings.h"

namespace proxyd::daemon {

// The socket proxyd connects to for forwarded requests: setting (relative
// to queue_directory unless absolute) as seen from inside jail ("" = no
// chroot). "" when setting is empty or names one of own (the sockets this
// process serves, absolute, before any chroot).
std::string forward_socket_path(std::string_view setting, const std::string& queue_dir,
                                const std::string& jail,
                                const std::vector<std::string>& own);

// Pool limits for the stock service at path, from proxyd.cf.
ForwardLimits forward_limits(const Settings& settings, std::string path);

// The allowlisted tables (both lists) whose type proxyd does not serve.
std::vector<std::string> unserved_tables(const dict::MainCf& cf, dict::Logger& log);

// The master.cf and main.cf lines of the forwarding layout, indented by
// two spaces, chrooted as chroot says.
std::string forwarding_layout_lines(bool chroot);

// True when main.cf and master.cf text set up the forwarding layout: the
// proxymap_service_name is not Postfix's "proxymap" and master.cf runs
// Postfix's proxymap under its own name.
bool forwarding_layout_configured(const dict::MainCf& cf,
                                  std::string_view master_cf_text);

}  // namespace proxyd::daemon
