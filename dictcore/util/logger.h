// Logging seam for the library layers: dictcore code reports warnings
// through this interface; proxyd supplies the syslog/stderr sink and tests a
// capturing one. Implementations must be safe to call from any thread.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace proxyd::dict {

// Postfix-style severities (msg_info, msg_warn, msg_error, msg_fatal).
enum class Severity { Info, Warning, Error, Fatal };

class Logger {
 public:
  virtual ~Logger() = default;

  // Emit one line; the sink adds program name, pid and "warning: " etc.
  virtual void log(Severity severity, std::string_view message) = 0;

  // True when -v was given (extra diagnostics).
  virtual bool verbose() const { return false; }

  // True when a warning of this kind may be logged now. Warnings that a
  // client, a key or a database outage can repeat on every lookup go
  // through warn_limited, so a flood of them becomes a few lines and one
  // "N more like this" summary; the daemon's sink limits them, others
  // (tests) let everything through. kind: a short name from a bounded set,
  // such as a table's label.
  virtual bool admit(std::string_view /*kind*/) { return true; }

  template <typename... Args>
  void info(fmt::format_string<Args...> f, Args&&... args) {
    log(Severity::Info, fmt::format(f, std::forward<Args>(args)...));
  }
  template <typename... Args>
  void warn(fmt::format_string<Args...> f, Args&&... args) {
    log(Severity::Warning, fmt::format(f, std::forward<Args>(args)...));
  }
  template <typename... Args>
  void warn_limited(std::string_view kind, fmt::format_string<Args...> f,
                    Args&&... args) {
    if (admit(kind)) log(Severity::Warning, fmt::format(f, std::forward<Args>(args)...));
  }
};

// A logger that drops everything (default for tests that do not care).
class NullLogger final : public Logger {
 public:
  void log(Severity, std::string_view) override {}
};

}  // namespace proxyd::dict
