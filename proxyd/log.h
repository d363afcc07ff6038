// Log sinks for the daemon, Postfix style: "proxyd[pid]: warning: text".
// Foreground mode writes to stderr, background mode to syslog (facility
// mail), or, when main.cf sets maillog_file, to Postfix's postlogd(8)
// through the public/postlog datagram socket, as Postfix 3.4+ daemons do.
// Thread-safe: worker threads log through the same sink.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "dictcore/util/logger.h"
#include "proxyd/rate_limiter.h"

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

  // Limited warnings (dict::Logger::warn_limited): at most 10 lines of one
  // kind per 10 s, then one "N more like this in the last 10 s: KIND" line
  // when the window is over (from the next admit() or flush_limited()).
  bool admit(std::string_view kind) override;

  // Log the summaries of every kind whose window has ended (a timer calls it).
  void flush_limited();

  // Switch to syslog after daemonizing.
  void use_syslog(bool on);

  // Send lines to postlogd at socket_path ("" = stop), stamped with the
  // first label of hostname. Falls back to syslog while it is unreachable.
  void use_postlog(const std::string& socket_path, const std::string& hostname);

  // Where the postlog socket is after a chroot (reconnects use it).
  void set_postlog_path(const std::string& socket_path);

 private:
  void postlog_connect();  // caller holds mu_

  // Summaries of limiters whose window ended by now; caller holds limit_mu_.
  std::vector<std::string> take_summaries(RateLimiter::Clock::time_point now,
                                          std::string_view only = {});

  std::mutex limit_mu_;                                     // never held while logging
  std::map<std::string, RateLimiter, std::less<>> limits_;  // kinds are bounded
  std::mutex mu_;
  std::string tag_;
  bool syslog_ = false;
  bool verbose_ = false;
  std::string postlog_path_;  // "" = not used
  std::string hostname_;
  int postlog_fd_ = -1;
};

}  // namespace proxyd::daemon
