// The process environment, cleaned at start-up the way Postfix's master(8)
// cleans its own: only the variables named in main.cf's
// import_environment survive (with the invoking environment's value), and
// its name=value entries are set as given. Nothing else of whoever starts
// proxyd (HOME, PG*, MYSQL_*, ...) reaches the database client libraries.
// Start-up only, before any thread exists (setenv is not thread-safe).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace proxyd::daemon {

// One variable of the new environment.
using EnvVar = std::pair<std::string, std::string>;

// The environment an import_environment value asks for, given the current
// one as "NAME=value" strings: a bare NAME keeps its current value (absent
// stays absent), NAME=value (or { NAME = value }) sets value, white space
// around name and value trimmed. Later entries win. Throws
// std::runtime_error for a "{...}" entry with bad syntax ("import_environment:
// missing '}' in ...", Postfix's fatal error).
std::vector<EnvVar> imported_environment(std::string_view import_environment,
                                         const std::vector<std::string>& current);

// Replace the process environment with imported_environment(value, environ).
// Throws std::runtime_error when it cannot be set.
void clean_environment(std::string_view import_environment);

}  // namespace proxyd::daemon
