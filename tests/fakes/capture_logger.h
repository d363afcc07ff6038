// Test logger that keeps every message it is given, so tests can assert on
// the exact warnings dictcore and proxyd code emit (the texts Postfix's
// msg_warn() would log). Thread-safe: SQL pool workers log through it too.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "dictcore/util/logger.h"

namespace proxyd::dict::testing {

// Logger that records each message (severity dropped) in order; any thread.
class CaptureLogger final : public Logger {
 public:
  void log(Severity, std::string_view message) override {
    std::lock_guard lock(mu_);
    lines_.emplace_back(message);
  }

  // A copy of the messages so far, oldest first.
  std::vector<std::string> lines() const {
    std::lock_guard lock(mu_);
    return lines_;
  }

  // True when some message contains needle.
  bool contains(std::string_view needle) const {
    std::lock_guard lock(mu_);
    for (const auto& line : lines_) {
      if (line.find(needle) != std::string::npos) return true;
    }
    return false;
  }

  // Forget the messages so far.
  void clear() {
    std::lock_guard lock(mu_);
    lines_.clear();
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

}  // namespace proxyd::dict::testing
