// Command-line parsing from a single option table (see options.h).
#include "proxyd/options.h"

#include <fmt/format.h>
#include <unistd.h>

#include <string_view>

#include "proxyd/getopt_scan.h"
#include "proxyd/settings.h"

namespace proxyd::daemon {
namespace {

struct OptionSpec {
  char letter;
  const char* arg;  // nullptr for flags
  const char* help;
};

constexpr OptionSpec kOptions[] = {
    {'c', "config_dir",
     "read main.cf and proxyd.cf from config_dir (default /etc/postfix)"},
    {'f', nullptr, "stay in the foreground and log to stderr"},
    {'o', "name=value", "override a main.cf parameter (repeatable)"},
    {'v', nullptr, "verbose logging"},
    {'h', nullptr, "print this help and exit"},
};

struct CommandSpec {
  const char* name;
  const char* help;
};

constexpr CommandSpec kCommands[] = {
    {"serve", "serve proxymap and proxywrite requests (the default)"},
    {"stats", "print the running daemon's counters per table, pool and cache"},
    {"stats --json", "the same counters as JSON (an array, one object per daemon)"},
    {"stats --prometheus", "the same as the metrics endpoint (for a textfile collector)"},
    {"reload", "make the running daemon re-read main.cf, proxyd.cf and every table"},
    {"check", "check tables, files, database hosts and chroot; exit 1 on problems"},
};

// getopt(3)'s option string for kOptions: "+" stops at the first
// non-option (the command), ":" lets us word the errors ourselves.
std::string option_letters() {
  std::string letters = "+:";
  for (const auto& spec : kOptions) {
    letters += spec.letter;
    if (spec.arg != nullptr) letters += ':';
  }
  return letters;
}

// The optional command word after the options; nothing may follow it.
std::optional<Options> finish_command(int argc, char** argv, int i, Options& opts,
                                      std::string& error) {
  if (i < argc) {
    std::string_view cmd = argv[i++];
    bool known = false;
    for (const auto& spec : kCommands) known = known || cmd == spec.name;
    if (!known) {
      error = fmt::format("unknown command \"{}\"", cmd);
      return std::nullopt;
    }
    opts.command = cmd == "serve" ? "" : std::string(cmd);
  }
  if (i < argc && opts.command == "stats") {
    std::string_view format = argv[i];
    if (format == "--json" || format == "--prometheus") {
      opts.stats_format = std::string(format.substr(2));
      ++i;
    }
  }
  if (i < argc) {
    error = fmt::format("unexpected command-line argument: \"{}\"", argv[i]);
    return std::nullopt;
  }
  return std::move(opts);
}

}  // namespace

std::string usage_text() {
  std::string text =
      "usage: proxyd [-fhv] [-c config_dir] [-o name=value] [command]\n\noptions:\n";
  for (const auto& spec : kOptions) {
    std::string left = spec.arg ? fmt::format("-{} {}", spec.letter, spec.arg)
                                : fmt::format("-{}", spec.letter);
    text += fmt::format("  {:<16} {}\n", left, spec.help);
  }
  text += "\ncommands:\n";
  for (const auto& cmd : kCommands) {
    text += fmt::format("  {:<16} {}\n", cmd.name, cmd.help);
  }
  // proxyd.cf settings, from the setting table (man/proxyd.cf.5 documents each).
  text += "\nproxyd.cf settings (name = default):\n";
  for (const auto& s : setting_table()) {
    text += fmt::format("  {:<28} {}\n", fmt::format("{} = {}", s.name, s.def), s.help);
  }
  return text;
}

std::optional<Options> parse_options(int argc, char** argv, std::string& error) {
  Options opts;
  GetoptScan scan(argc, argv, option_letters());
  for (int c; (c = scan.next(error)) != -1;) {
    if (c == '?') return std::nullopt;
    switch (c) {
      case 'f':
        opts.foreground = true;
        break;
      case 'v':
        opts.verbose = true;
        break;
      case 'h':
        opts.help = true;
        break;
      case 'c':
        if (*optarg == '\0') {
          error = "option -c requires a non-empty directory name";
          return std::nullopt;
        }
        opts.config_dir = optarg;
        break;
      case 'o':
        if (!add_override(optarg, opts.overrides)) {
          error = fmt::format("bad -o argument \"{}\": expected name=value", optarg);
          return std::nullopt;
        }
        break;
      default:
        break;
    }
  }
  return finish_command(argc, argv, scan.index(), opts, error);
}

}  // namespace proxyd::daemon
