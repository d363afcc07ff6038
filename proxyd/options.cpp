// Command-line parsing from a single option table (see options.h).
#include "proxyd/options.h"

#include <string_view>

#include <fmt/format.h>

#include "proxyd/settings.h"

namespace proxyd::daemon {
namespace {

struct OptionSpec {
  char letter;
  const char* arg;  // nullptr for flags
  const char* help;
};

constexpr OptionSpec kOptions[] = {
    {'c', "config_dir", "read main.cf and proxyd.cf from config_dir (default /etc/postfix)"},
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

const OptionSpec* find_option(char letter) {
  for (const auto& spec : kOptions) {
    if (spec.letter == letter) return &spec;
  }
  return nullptr;
}

}  // namespace

std::string usage_text() {
  std::string text = "usage: proxyd [-fhv] [-c config_dir] [-o name=value] [command]\n\noptions:\n";
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
  int i = 1;
  for (; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') break;
    // Bundled flags (-fv) and attached arguments (-c/etc/postfix) are accepted.
    for (std::size_t j = 1; j < arg.size(); ++j) {
      const OptionSpec* spec = find_option(arg[j]);
      if (spec == nullptr) {
        error = fmt::format("invalid option -- '{}'", arg[j]);
        return std::nullopt;
      }
      if (spec->arg == nullptr) {
        switch (spec->letter) {
          case 'f':
            opts.foreground = true;
            break;
          case 'v':
            opts.verbose = true;
            break;
          case 'h':
            opts.help = true;
            break;
          default:
            break;
        }
        continue;
      }
      std::string value;
      if (j + 1 < arg.size()) {
        value = std::string(arg.substr(j + 1));
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        error = fmt::format("option -{} requires an argument", spec->letter);
        return std::nullopt;
      }
      if (spec->letter == 'c') {
        if (value.empty()) {
          error = "option -c requires a non-empty directory name";
          return std::nullopt;
        }
        opts.config_dir = value;
      } else if (spec->letter == 'o') {
        auto eq = value.find('=');
        if (eq == std::string::npos || eq == 0) {
          error = fmt::format("bad -o argument \"{}\": expected name=value", value);
          return std::nullopt;
        }
        opts.overrides.emplace_back(value.substr(0, eq), value.substr(eq + 1));
      }
      break;  // the rest of this argv word was the option argument
    }
  }
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
  return opts;
}

}  // namespace proxyd::daemon
