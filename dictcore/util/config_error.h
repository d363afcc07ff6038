// Exceptions used while loading configuration (main.cf, table .cf files).
// Thrown only on the control path (start-up, table open); never across the
// event loop. ConfigUnavailable marks files that are missing or unreadable,
// which Postfix turns into a surrogate table rather than a fatal error.
#pragma once

#include <stdexcept>

namespace proxyd::dict {

// A configuration problem the administrator must fix (bad syntax, bad value).
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A configuration file that cannot be opened or read.
class ConfigUnavailable : public ConfigError {
 public:
  using ConfigError::ConfigError;
};

}  // namespace proxyd::dict
