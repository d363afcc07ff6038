// Configuration loading and live reload (see reload.h). Everything is read
// and opened before the new generation is installed, so requests never see
// a half-loaded configuration; the previous generation keeps answering the
// requests it accepted and goes away with the last of them.
#include "proxyd/reload.h"

#include <exception>
#include <map>

#include <fmt/format.h>

#include "dictcore/config_error.h"

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
    if (previous != nullptr && settings.chroot != previous->settings().chroot) {
      log.warn("proxyd.cf: a change of \"chroot\" takes effect at the next restart");
      settings.chroot = previous->settings().chroot;
    }
    gen = service.make_generation(std::move(cf), std::move(settings));
    gen->preopen();
  } catch (const std::exception& e) {
    out.error = e.what();
    return out;
  }
  if (previous != nullptr) {
    // What was already broken before may stay broken (an unsupported type
    // listed in proxy_write_maps, say); anything newly broken is refused.
    std::map<std::string, std::string> before;
    for (Role role : {Role::ReadOnly, Role::ReadWrite}) {
      for (const std::string& name : previous->allowlist(role).tables()) {
        before.emplace(name, "");
      }
    }
    for (const OpenProblem& p : previous->problems()) before[p.table] = p.reason;
    for (const OpenProblem& p : gen->problems()) {
      auto it = before.find(p.table);
      if (it == before.end() || it->second != p.reason) {
        out.error = fmt::format("table {}: {}", p.table, p.reason);
        return out;
      }
    }
  }
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
    return fmt::format("error: {}\n", line);
  }
  std::size_t tables = loaded.gen->allowlist(Role::ReadOnly).tables().size() +
                       loaded.gen->allowlist(Role::ReadWrite).tables().size();
  service.set_generation(std::move(loaded.gen));
  std::string line = fmt::format("reloaded configuration from {} (generation {}, {} tables)",
                                 source.config_dir, service.generation()->number(), tables);
  log.info("{}", line);
  return fmt::format("ok: {}\n", line);
}

}  // namespace proxyd::daemon
