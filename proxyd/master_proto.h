// Running under Postfix's master(8) as the proxymap/proxywrite service:
// recognise the hand-over (GENERATION, inherited status and listening
// descriptors), parse multi_server's command line, and watch the status
// channel so proxyd exits when master goes away (postfix stop/reload).
// proxyd never reports itself busy, so master keeps one process and sends
// every client to it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dictcore/config/main_cf.h"
#include "dictcore/util/logger.h"
#include "proxyd/event_loop.h"
#include "proxyd/service.h"

namespace proxyd::daemon {

inline constexpr int kMasterStatusFd = 5;  // MASTER_STATUS_FD
inline constexpr int kMasterListenFd = 6;  // MASTER_LISTEN_FD

// What master(8) passed on the command line (multi_server options).
struct MasterArgs {
  std::string service;        // -n, else basename of argv[0]
  bool chroot = false;        // -c: chroot column is y
  bool unprivileged = false;  // -u: unpriv column is y/-
  bool verbose = false;       // -v
  std::vector<std::pair<std::string, std::string>> overrides;  // -o name=value
  uint32_t generation = 0;                                     // $GENERATION (octal)
  std::string config_dir;  // $MAIL_CONFIG, else /etc/postfix
};

// True when the process looks started by master(8): GENERATION in the
// environment and a socket on the status descriptor.
bool started_by_master();

// Parse master's argv; nullopt with error set on a bad option. Without -n
// the service name is the program name, as master(8) runs a service named
// like its command.
std::optional<MasterArgs> parse_master_args(int argc, char** argv, std::string& error);

// The role of the master.cf service named service: the writer when it is
// main.cf's proxywrite_service_name, read-only when proxymap_service_name;
// nullopt with error set otherwise.
std::optional<Role> role_for_service(std::string_view service, const dict::MainCf& cf,
                                     std::string& error);

// The status channel to master(8).
class MasterLink {
 public:
  // Watch the status descriptor; on_gone runs once when master closes it,
  // with master_alive true when master(8) is still our parent: it closed
  // the channel on "postfix reload" rather than exiting. An exception from
  // on_gone is logged through log.
  MasterLink(EventLoop& loop, dict::Logger& log,
             std::function<void(bool master_alive)> on_gone);
  MasterLink(const MasterLink&) = delete;
  MasterLink& operator=(const MasterLink&) = delete;

 private:
  static void on_readable(evutil_socket_t fd, short, void* arg) noexcept;
  pid_t master_pid_;
  std::function<void(bool)> on_gone_;
  dict::Logger& log_;
  EventPtr ev_;
  bool gone_ = false;
};

}  // namespace proxyd::daemon
