// Log sinks for the daemon, Postfix style: "proxyd[pid]: warning: text".
// Foreground mode writes to stderr, background mode to syslog (facility
// mail). Thread-safe: worker threads log through the same sink.
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

 private:
  std::mutex mu_;
  std::string tag_;
  bool syslog_ = false;
  bool verbose_ = false;
};

}  // namespace proxyd::daemon
