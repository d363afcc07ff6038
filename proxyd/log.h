// Log sinks for the daemon, Postfix style: "proxyd[pid]: warning: text".
// Foreground mode writes to stderr, background mode to syslog (facility
// mail), or, when main.cf sets maillog_file, to Postfix's postlogd(8)
// through the public/postlog datagram socket, as Postfix 3.4+ daemons do.
// Thread-safe: worker threads log through the same sink.
#pragma once

#include <mutex>
#include <string>
#include <string_view>

#include "dictcore/logger.h"

namespace proxyd::daemon {

class DaemonLogger final : public dict::Logger {
 public:
  // tag is the program name in each line; use_syslog selects the sink.
  DaemonLogger(std::string tag, bool use_syslog, bool verbose);
  ~DaemonLogger() override;
  DaemonLogger(const DaemonLogger&) = delete;
  DaemonLogger& operator=(const DaemonLogger&) = delete;

  void log(dict::Severity severity, std::string_view message) override;
  bool verbose() const override { return verbose_; }

  // Switch to syslog after daemonizing.
  void use_syslog(bool on);

  // Send lines to postlogd at socket_path ("" = stop), stamped with the
  // first label of hostname. Falls back to syslog while it is unreachable.
  void use_postlog(const std::string& socket_path, const std::string& hostname);

  // Where the postlog socket is after a chroot (reconnects use it).
  void set_postlog_path(const std::string& socket_path);

 private:
  void postlog_connect();  // caller holds mu_

  std::mutex mu_;
  std::string tag_;
  bool syslog_ = false;
  bool verbose_ = false;
  std::string postlog_path_;  // "" = not used
  std::string hostname_;
  int postlog_fd_ = -1;
};

}  // namespace proxyd::daemon
