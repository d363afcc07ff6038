// Configuration loading and live reload (see reload.h). Everything is read
// and opened before the new generation is installed, so requests never see
// a half-loaded configuration; the previous generation keeps answering the
// requests it accepted and goes away with the last of them.
#include "proxyd/reload.h"

#include <fmt/format.h>

#include <exception>

#include "dictcore/util/config_error.h"
#include "proxyd/postfix_release.h"

namespace proxyd::daemon {

dict::MainCf load_main_cf(const ConfigSource& source, dict::Logger& log) {
  dict::MainCf cf = dict::MainCf::load(source.config_dir, log);
  for (const auto& [name, value] : source.overrides) cf.set_override(name, value);
  return cf;
}

LoadOutcome load_generation(Service& service, const ConfigSource& source,
                            const Generation* previous, dict::Logger& log) {
  LoadOutcome out;
  std::shared_ptr<Generation> gen;
  try {
    dict::MainCf cf = load_main_cf(source, log);
    Settings settings = load_settings(source.config_dir, log);
    settings.postfix_semantics =
        follow_postfix_release(settings.postfix_version, cf, source.config_dir, log);
    if (previous != nullptr && settings.chroot != previous->settings().chroot) {
      log.warn("proxyd.cf: a change of \"chroot\" takes effect at the next restart");
      settings.chroot = previous->settings().chroot;
    }
    if (previous != nullptr &&
        (settings.metrics_listen != previous->settings().metrics_listen ||
         settings.metrics_allow_remote != previous->settings().metrics_allow_remote)) {
      log.warn(
          "proxyd.cf: a change of \"metrics_listen\" takes effect at the next restart");
      settings.metrics_listen = previous->settings().metrics_listen;
      settings.metrics_allow_remote = previous->settings().metrics_allow_remote;
    }
    gen = service.make_generation(std::move(cf), std::move(settings));
    gen->preopen();
  } catch (const std::exception& e) {
    out.error = e.what();
    return out;
  }
  // Reload takes exactly what a fresh start takes: a table that does not
  // open (new, already broken, or serving until now) is logged by the open
  // and answers as it would after a restart, from its surrogate.
  out.gen = std::move(gen);
  return out;
}

std::string reload(Service& service, const ConfigSource& source, dict::Logger& log) {
  const std::shared_ptr<Generation>& current = service.generation();
  LoadOutcome loaded = load_generation(service, source, current.get(), log);
  if (!loaded.gen) {
    std::string line = fmt::format(
        "reload refused: {}; still serving the previous configuration", loaded.error);
    log.warn("{}", line);
    service.note_reload_failed();
    return fmt::format("error: {}\n", line);
  }
  std::size_t tables = loaded.gen->allowlist(Role::ReadOnly).tables().size() +
                       loaded.gen->allowlist(Role::ReadWrite).tables().size();
  service.set_generation(std::move(loaded.gen));
  std::string line =
      fmt::format("reloaded configuration from {} (generation {}, {} tables)",
                  source.config_dir, service.generation()->number(), tables);
  log.info("{}", line);
  return fmt::format("ok: {}\n", line);
}

}  // namespace proxyd::daemon
