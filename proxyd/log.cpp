// Postfix-style log lines on stderr or syslog (see log.h).
#include "proxyd/log.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "dictcore/util/redact.h"
#include "protocol/unix_address.h"

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
  if (postlog_fd_ >= 0) close(postlog_fd_);
}

void DaemonLogger::use_postlog(const std::string& socket_path,
                               const std::string& hostname) {
  std::lock_guard lock(mu_);
  postlog_path_ = socket_path;
  hostname_ = hostname.substr(0, hostname.find('.'));
  postlog_connect();
}

void DaemonLogger::set_postlog_path(const std::string& socket_path) {
  std::lock_guard lock(mu_);
  if (!postlog_path_.empty()) postlog_path_ = socket_path;
}

void DaemonLogger::postlog_connect() {
  if (postlog_fd_ >= 0) {
    close(postlog_fd_);
    postlog_fd_ = -1;
  }
  std::optional<sockaddr_un> addr = protocol::unix_address(postlog_path_);
  if (!addr) return;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0) {
    close(fd);
    return;
  }
  postlog_fd_ = fd;
}

void DaemonLogger::use_syslog(bool on) {
  std::lock_guard lock(mu_);
  if (on && !syslog_) openlog(tag_.c_str(), LOG_PID | LOG_NDELAY, LOG_MAIL);
  if (!on && syslog_) closelog();
  syslog_ = on;
}

void DaemonLogger::log(dict::Severity severity, std::string_view message) {
  std::string text = sanitize(dict::redact_secrets(message));  // never a password
  std::lock_guard lock(mu_);
  if (!postlog_path_.empty()) {
    // The record postlogd expects: "Mon dd hh:mm:ss host tag[pid]: text".
    char stamp[32];
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    std::size_t n = std::strftime(stamp, sizeof stamp, "%b %d %H:%M:%S", &tm);
    std::string record =
        fmt::format("{} {} {}[{}]: {}{}", std::string_view(stamp, n), hostname_, tag_,
                    static_cast<long>(getpid()), prefix(severity), text);
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (postlog_fd_ < 0) postlog_connect();
      if (postlog_fd_ >= 0 && send(postlog_fd_, record.data(), record.size(),
                                   MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) {
        return;
      }
      // postlogd restarted (or is not there yet): reconnect once.
      if (postlog_fd_ >= 0) {
        close(postlog_fd_);
        postlog_fd_ = -1;
      }
    }
    if (!syslog_) openlog(tag_.c_str(), LOG_PID | LOG_NDELAY, LOG_MAIL);
    syslog_ = true;
  }
  if (syslog_) {
    syslog(syslog_priority(severity), "%s%s", std::string(prefix(severity)).c_str(),
           text.c_str());
  } else {
    std::string line = fmt::format("{}[{}]: {}{}\n", tag_, static_cast<long>(getpid()),
                                   prefix(severity), text);
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
  }
}

namespace {

constexpr uint32_t kLimitedBurst = 10;
constexpr auto kLimitedWindow = std::chrono::seconds(10);

}  // namespace

std::vector<std::string> DaemonLogger::take_summaries(RateLimiter::Clock::time_point now,
                                                      std::string_view only) {
  std::vector<std::string> out;
  for (auto& [kind, limiter] : limits_) {
    if (!only.empty() && kind != only) continue;
    if (uint64_t n = limiter.take_suppressed(now); n > 0) {
      out.push_back(fmt::format("{} more like this in the last {} s: {}", n,
                                kLimitedWindow.count(), kind));
    }
  }
  return out;
}

bool DaemonLogger::admit(std::string_view kind) {
  const auto now = RateLimiter::Clock::now();
  std::vector<std::string> summaries;
  bool allowed = false;
  {
    std::lock_guard lock(limit_mu_);
    auto it = limits_.find(kind);
    if (it == limits_.end()) {
      it = limits_.emplace(std::string(kind), RateLimiter(kLimitedBurst, kLimitedWindow))
               .first;
    }
    summaries = take_summaries(now, kind);
    allowed = it->second.allow(now);
  }
  for (const std::string& line : summaries) log(dict::Severity::Warning, line);
  return allowed;
}

void DaemonLogger::flush_limited() {
  std::vector<std::string> summaries;
  {
    std::lock_guard lock(limit_mu_);
    summaries = take_summaries(RateLimiter::Clock::now());
  }
  for (const std::string& line : summaries) log(dict::Severity::Warning, line);
}

}  // namespace proxyd::daemon
