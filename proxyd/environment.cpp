// Environment import filter (see environment.h), after Postfix's
// clean_env(): list parsing as mail_parm_split does it (separators, {}
// groups through extpar), name=value split with white space trimmed.
#include "proxyd/environment.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "dictcore/util/braces.h"
#include "dictcore/util/text.h"
#include "dictcore/util/tokens.h"

extern char** environ;  // NOLINT: POSIX declares it nowhere else

namespace proxyd::daemon {
namespace {

void put(std::vector<EnvVar>& out, std::string_view name, std::string_view value) {
  for (EnvVar& v : out) {
    if (v.first == name) {
      v.second = value;
      return;
    }
  }
  out.emplace_back(name, value);
}

}  // namespace

std::vector<EnvVar> imported_environment(std::string_view import_environment,
                                         const std::vector<std::string>& current) {
  std::vector<EnvVar> out;
  std::string_view rest = import_environment;
  while (auto token = dict::next_grouped_token(rest)) {
    std::string_view entry = *token;
    if (entry.front() == '{') {
      // mail_parm_split: a bad group is fatal, as in Postfix.
      if (auto err = dict::extpar(*token, entry, dict::Extpar::Strip)) {
        throw std::runtime_error(fmt::format("import_environment: {}", *err));
      }
    }
    if (std::size_t eq = entry.find('='); eq != std::string_view::npos) {
      std::string_view name = dict::trim(entry.substr(0, eq));
      if (!name.empty()) put(out, name, dict::trim(entry.substr(eq + 1)));
      continue;
    }
    for (const std::string& var : current) {
      if (var.size() > entry.size() && var.compare(0, entry.size(), entry) == 0 &&
          var[entry.size()] == '=') {
        put(out, entry, std::string_view(var).substr(entry.size() + 1));
        break;
      }
    }
  }
  return out;
}

void clean_environment(std::string_view import_environment) {
  std::vector<std::string> current;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) current.emplace_back(*e);
  std::vector<EnvVar> keep = imported_environment(import_environment, current);
  if (clearenv() != 0) throw std::runtime_error("cannot clear the environment");
  for (const auto& [name, value] : keep) {
    if (setenv(name.c_str(), value.c_str(), 1) != 0) {
      throw std::runtime_error(fmt::format("import_environment: cannot set {}: {}", name,
                                           std::strerror(errno)));
    }
  }
}

}  // namespace proxyd::daemon
