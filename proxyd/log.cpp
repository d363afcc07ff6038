// Postfix-style log lines on stderr or syslog (see log.h).
#include "proxyd/log.h"

#include <syslog.h>
#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace proxyd::daemon {
namespace {

std::string_view prefix(dict::Severity severity) {
  switch (severity) {
    case dict::Severity::Info:
      return "";
    case dict::Severity::Warning:
      return "warning: ";
    case dict::Severity::Error:
      return "error: ";
    case dict::Severity::Fatal:
      return "fatal: ";
  }
  return "";
}

int syslog_priority(dict::Severity severity) {
  switch (severity) {
    case dict::Severity::Info:
      return LOG_INFO;
    case dict::Severity::Warning:
      return LOG_WARNING;
    case dict::Severity::Error:
      return LOG_ERR;
    case dict::Severity::Fatal:
      return LOG_CRIT;
  }
  return LOG_INFO;
}

// Replace control characters so a hostile key cannot forge log lines.
std::string sanitize(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) {
      out += '?';
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace

DaemonLogger::DaemonLogger(std::string tag, bool use_syslog_sink, bool verbose)
    : tag_(std::move(tag)), verbose_(verbose) {
  use_syslog(use_syslog_sink);
}

DaemonLogger::~DaemonLogger() {
  if (syslog_) closelog();
}

void DaemonLogger::use_syslog(bool on) {
  std::lock_guard lock(mu_);
  if (on && !syslog_) openlog(tag_.c_str(), LOG_PID | LOG_NDELAY, LOG_MAIL);
  if (!on && syslog_) closelog();
  syslog_ = on;
}

void DaemonLogger::log(dict::Severity severity, std::string_view message) {
  std::string text = sanitize(message);
  std::lock_guard lock(mu_);
  if (syslog_) {
    syslog(syslog_priority(severity), "%s%s", std::string(prefix(severity)).c_str(),
           text.c_str());
  } else {
    std::string line =
        fmt::format("{}[{}]: {}{}\n", tag_, static_cast<long>(getpid()), prefix(severity), text);
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
  }
}

}  // namespace proxyd::daemon
