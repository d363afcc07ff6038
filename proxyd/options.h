// Command-line options of proxyd: one table is the source of the parser,
// `proxyd -h` and the SYNOPSIS/OPTIONS in man/proxyd.8 (a test keeps the
// man page in step).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace proxyd::daemon {

// What the command line asked for.
struct Options {
  std::string config_dir = "/etc/postfix";                     // -c
  bool foreground = false;                                     // -f
  bool verbose = false;                                        // -v
  bool help = false;                                           // -h
  std::vector<std::pair<std::string, std::string>> overrides;  // -o name=value
  std::string command;       // "" (serve) or a sub-command word
  std::string stats_format;  // stats: "" (text), "json" or "prometheus"
};

// Parse argv; on error returns nullopt and sets error to a one-line message.
std::optional<Options> parse_options(int argc, char** argv, std::string& error);

// The usage text printed by -h (and on usage errors).
std::string usage_text();

}  // namespace proxyd::daemon
