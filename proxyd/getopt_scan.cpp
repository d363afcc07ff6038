// getopt(3) wrapper for proxyd's command lines (see getopt_scan.h).
#include "proxyd/getopt_scan.h"

#include <fmt/format.h>
#include <unistd.h>

namespace proxyd::daemon {

GetoptScan::GetoptScan(int argc, char** argv, std::string letters)
    : argc_(argc), argv_(argv), letters_(std::move(letters)) {
  optind = 0;  // glibc: full re-initialisation, so a second scan starts afresh
  opterr = 0;
}

int GetoptScan::next(std::string& error) {
  int c = getopt(argc_, argv_, letters_.c_str());
  if (c == '?') {
    error = fmt::format("invalid option -- '{}'", static_cast<char>(optopt));
  } else if (c == ':') {
    error = fmt::format("option -{} requires an argument", static_cast<char>(optopt));
    c = '?';
  }
  return c;
}

int GetoptScan::index() const { return optind < 1 ? 1 : optind; }

bool add_override(std::string_view arg,
                  std::vector<std::pair<std::string, std::string>>& overrides) {
  std::size_t eq = arg.find('=');
  if (eq == std::string_view::npos || eq == 0) return false;
  overrides.emplace_back(arg.substr(0, eq), arg.substr(eq + 1));
  return true;
}

}  // namespace proxyd::daemon
