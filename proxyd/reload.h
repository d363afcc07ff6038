// Building a configuration generation from the files on disk: main.cf (with
// -o overrides), proxyd.cf, and every allowlisted table opened at once. Used
// at start-up (before chroot and privilege drop) and by reload (SIGHUP or
// `proxyd reload`), which takes exactly what a start takes: a configuration
// that does not load (a start would exit) is refused and the running one
// keeps serving; a table that does not open (a start serves its surrogate)
// is no reason to refuse.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dictcore/config/main_cf.h"
#include "dictcore/util/logger.h"
#include "proxyd/service.h"
#include "proxyd/settings.h"

namespace proxyd::daemon {

// Where the configuration comes from.
struct ConfigSource {
  std::string config_dir;
  std::vector<std::pair<std::string, std::string>> overrides;  // -o name=value
};

// Load main.cf and apply -o overrides. Throws dict::ConfigError.
dict::MainCf load_main_cf(const ConfigSource& source, dict::Logger& log);

// Outcome of loading a new generation.
struct LoadOutcome {
  std::shared_ptr<Generation> gen;  // null when refused
  std::string error;                // why it was refused
};

// Load and open everything; refuse when loading fails. With a previous
// generation, settings that only a restart can change keep its values.
LoadOutcome load_generation(Service& service, const ConfigSource& source,
                            const Generation* previous, dict::Logger& log);

// Reload: load_generation against the running one, install it on success.
// Returns the one-line result ("ok: ..." or "error: ...") and logs it.
std::string reload(Service& service, const ConfigSource& source, dict::Logger& log);

}  // namespace proxyd::daemon
